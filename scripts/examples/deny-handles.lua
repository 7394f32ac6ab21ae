-- deny-handles.lua: refuse new accounts whose handle is on a deny list.
--
-- To use it, copy this file into the hooks folder itself (one level up);
-- files in examples/ are never loaded.

-- Handles refused outright.
local denied = {
  ["admin"] = true,
  ["administrator"] = true,
  ["root"] = true,
  ["support"] = true,
  ["moderator"] = true,
  ["system"] = true,
}

-- Handles refused when they contain one of these words anywhere, so
-- "admin2" or "the-real-support" are caught as well.
local denied_words = { "admin", "support", "moderator" }

innkeeper.on("before_user_create", function(ev)
  local handle = ev.handle or ""
  if denied[handle] then
    return {
      allow = false,
      reason = "The handle \"" .. handle .. "\" is reserved. Please choose another one.",
    }
  end
  for _, word in ipairs(denied_words) do
    -- plain find (4th argument true): the word is text, not a pattern
    if handle:find(word, 1, true) then
      return {
        allow = false,
        reason = "Handles containing \"" .. word .. "\" are reserved. Please choose another one.",
      }
    end
  end
  -- Returning nothing allows the account.
end)
