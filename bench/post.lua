-- wrk script: POST with the session cookie and CSRF token taken from the
-- environment (BENCH_COOKIE, BENCH_TOKEN); the body is BENCH_BODY_FILE's
-- content when set, `{}` otherwise.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Cookie"] = "innkeeper_sid=" .. (os.getenv("BENCH_COOKIE") or "")
wrk.headers["X-CSRF-Token"] = os.getenv("BENCH_TOKEN") or ""

local path = os.getenv("BENCH_BODY_FILE")
if path and path ~= "" then
  local f = assert(io.open(path, "rb"))
  wrk.body = f:read("*a")
  f:close()
else
  wrk.body = "{}"
end
