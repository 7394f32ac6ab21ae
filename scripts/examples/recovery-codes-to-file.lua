-- recovery-codes-to-file.lua: keep a private record of password recovery
-- codes, for admins who do not watch the server console.
--
-- Each request appends one line to <hooks folder>/private/recovery-codes.txt:
--   2025-01-31T18:04:05Z  handle  code  ip
-- Scripts cannot open files themselves; innkeeper.admin_file_append creates
-- the private/ folder and the file readable by the server's account only
-- (0700 / 0600 on Unix). Anyone who can read that file can take over the
-- accounts listed in it: delete old lines when they are no longer needed.
--
-- To use it, copy this file into the hooks folder itself (one level up);
-- files in examples/ are never loaded.

-- Formats milliseconds since 1970 as an ISO 8601 UTC time. There is no
-- os.date in the sandbox, so this converts days to a civil date by hand
-- (the algorithm from Howard Hinnant's "chrono-compatible date algorithms").
local function utc_time(ms)
  local secs = ms // 1000
  local days, rem = secs // 86400, secs % 86400
  local z = days + 719468
  local era = z // 146097
  local doe = z - era * 146097
  local yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
  local doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
  local mp = (5 * doy + 2) // 153
  local day = doy - (153 * mp + 2) // 5 + 1
  local month = mp < 10 and mp + 3 or mp - 9
  local year = yoe + era * 400 + (month <= 2 and 1 or 0)
  return string.format("%04d-%02d-%02dT%02d:%02d:%02dZ",
    year, month, day, rem // 3600, rem % 3600 // 60, rem % 60)
end

innkeeper.on("recovery_requested", function(ev)
  local line = table.concat({
    utc_time(innkeeper.now()),
    ev.handle or "?",
    ev.code or "?",
    ev.ip or "-",
  }, "  ")
  local ok, err = innkeeper.admin_file_append("recovery-codes.txt", line)
  if not ok then
    -- Never log the code itself: server logs are often less private.
    innkeeper.log("error", "could not record a recovery code for " .. tostring(ev.handle) .. ": " .. err)
  end
end)
