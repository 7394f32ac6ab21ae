-- welcome-files.lua: put a README.txt into every new account's folder.
--
-- To use it, copy this file into the hooks folder itself (one level up);
-- files in examples/ are never loaded.

-- The text of the note. Edit freely; ev.name is the display name given at
-- creation (it may be empty), ev.handle the account's unique handle.
local function welcome_text(ev)
  local name = ev.name
  if name == nil or name == "" then name = ev.handle end
  return table.concat({
    "Welcome, " .. name .. "!",
    "",
    "This folder holds everything of your account on this server:",
    "your settings, characters, chats and extensions.",
    "",
    "Tips:",
    "  * Set a password in your profile if you have not yet.",
    "  * Download a backup of this folder from your profile now and then.",
    "",
    "Have fun!",
    "",
  }, "\n")
end

innkeeper.on("user_created", function(ev)
  if ev.user == nil then
    innkeeper.log("warn", "no folder for new account " .. tostring(ev.handle))
    return
  end
  -- Never overwrite a file the account already has (an imported folder).
  if ev.user:exists("README.txt") then
    return
  end
  local ok, err = ev.user:write_file("README.txt", welcome_text(ev))
  if ok then
    innkeeper.log("info", "wrote a welcome note for " .. ev.handle)
  else
    innkeeper.log("warn", "could not write the welcome note for " .. ev.handle .. ": " .. err)
  end
end)
