local expired, max_subject, max_pattern = ...
local error, type, select, rawequal = error, type, select, rawequal
local tointeger, maxinteger = math.tointeger, math.maxinteger
local raw_pcall = pcall
local raw_setmetatable, raw_getmetatable, rawget, next =
  setmetatable, getmetatable, rawget, next

-- No value may ever have a __gc or __close metamethod:
-- * Lua runs finalizers (__gc) with debug hooks switched off, so a looping
--   finalizer could never be stopped.
-- * When the deadline hook raises its error, pending to-be-closed variables
--   of the interrupted function are closed from inside the hook, again with
--   hooks off; a looping __close could never be stopped either.
-- So setmetatable refuses both, and installs a private copy of the
-- metatable: adding one of them to the script's table afterwards changes
-- nothing. getmetatable hands back the script's own table, and only for
-- tables (the string and userdata metatables stay out of reach).
local originals = raw_setmetatable({}, {__mode = "k"})
setmetatable = function(t, mt)
  if type(t) ~= "table" then
    error("bad argument #1 to 'setmetatable' (table expected, got " .. type(t) .. ")", 2)
  end
  if mt == nil then
    return raw_setmetatable(t, nil)
  end
  if type(mt) ~= "table" then
    error("bad argument #2 to 'setmetatable' (nil or table expected)", 2)
  end
  if rawget(mt, "__gc") ~= nil or rawget(mt, "__close") ~= nil then
    error("setmetatable: __gc and __close metamethods are not allowed in hook scripts", 2)
  end
  local copy = {}
  for k, v in next, mt do copy[k] = v end
  originals[copy] = mt
  return raw_setmetatable(t, copy)
end
getmetatable = function(v)
  if type(v) ~= "table" then return nil end
  local mt = raw_getmetatable(v)
  if mt == nil then return nil end
  return originals[mt] or mt
end

-- Once the deadline has passed, a caught error is thrown on, so a script
-- cannot catch the stop signal and keep running.
local function pass(ok, ...)
  if not ok and expired() then
    error((...), 0)
  end
  return ok, ...
end
pcall = function(f, ...) return pass(raw_pcall(f, ...)) end

-- Lua calls a message handler at the point of the error, and when the error
-- comes from the deadline hook that is inside the hook, where hooks are off:
-- a looping handler could never be stopped. Without the debug library a
-- handler cannot look at the stack anyway, so calling it after unwinding
-- gives the same result.
local function xpass(handler, ok, ...)
  if ok then return true, ... end
  if expired() then error((...), 0) end
  local handled, result = raw_pcall(handler, (...))
  if not handled and expired() then error(result, 0) end
  return false, result
end
xpcall = function(f, handler, ...)
  if type(handler) ~= "function" then
    error("bad argument #2 to 'xpcall' (function expected, got " .. type(handler) .. ")", 2)
  end
  return xpass(handler, raw_pcall(f, ...))
end

local function guard(name, s, p)
  if type(s) == "string" and #s > max_subject then
    error(name .. ": subject is longer than " .. max_subject
      .. " bytes (limit for pattern functions in hook scripts)", 3)
  end
  if type(p) == "string" and #p > max_pattern then
    error(name .. ": pattern is longer than " .. max_pattern
      .. " bytes (limit in hook scripts)", 3)
  end
end
local find, match, gmatch, gsub = string.find, string.match, string.gmatch, string.gsub
string.find = function(s, p, ...) guard("string.find", s, p) return find(s, p, ...) end
string.match = function(s, p, ...) guard("string.match", s, p) return match(s, p, ...) end
string.gmatch = function(s, p, ...) guard("string.gmatch", s, p) return gmatch(s, p, ...) end
string.gsub = function(s, p, ...) guard("string.gsub", s, p) return gsub(s, p, ...) end

local function want_table(v, n, fname)
  if type(v) ~= "table" then
    error("bad argument #" .. n .. " to '" .. fname .. "' (table expected, got "
      .. type(v) .. ")", 3)
  end
end
local function want_int(v, n, fname)
  local i = tointeger(v)
  if i == nil then
    error("bad argument #" .. n .. " to '" .. fname .. "' (number has no integer representation)", 3)
  end
  return i
end
local function length(t)
  local n = tointeger(#t)
  if n == nil then error("object length is not an integer", 3) end
  return n
end

-- Same behaviour as the C versions, but the loops are Lua instructions the
-- deadline hook can stop.
table.insert = function(t, ...)
  want_table(t, 1, "insert")
  local e = length(t) + 1
  local nargs = select("#", ...)
  if nargs == 1 then
    t[e] = ...
  elseif nargs == 2 then
    local pos, value = ...
    pos = want_int(pos, 2, "insert")
    if pos < 1 or pos > e then
      error("bad argument #2 to 'insert' (position out of bounds)", 2)
    end
    for i = e, pos + 1, -1 do t[i] = t[i - 1] end
    t[pos] = value
  else
    error("wrong number of arguments to 'insert'", 2)
  end
end

table.remove = function(t, pos)
  want_table(t, 1, "remove")
  local size = length(t)
  if pos == nil then pos = size else pos = want_int(pos, 2, "remove") end
  if pos ~= size and (pos < 1 or pos > size + 1) then
    error("bad argument #2 to 'remove' (position out of bounds)", 2)
  end
  local value = t[pos]
  while pos < size do
    t[pos] = t[pos + 1]
    pos = pos + 1
  end
  t[pos] = nil
  return value
end

table.move = function(a1, f, e, t, a2)
  want_table(a1, 1, "move")
  if a2 == nil then a2 = a1 else want_table(a2, 5, "move") end
  f = want_int(f, 2, "move")
  e = want_int(e, 3, "move")
  t = want_int(t, 4, "move")
  if e >= f then
    if not (f > 0 or e < maxinteger + f) then
      error("bad argument #3 to 'move' (too many elements to move)", 2)
    end
    local n = e - f + 1
    if t > maxinteger - n + 1 then
      error("bad argument #4 to 'move' (destination wrap around)", 2)
    end
    if t > e or t <= f or not rawequal(a1, a2) then
      for i = 0, n - 1 do a2[t + i] = a1[f + i] end
    else
      for i = n - 1, 0, -1 do a2[t + i] = a1[f + i] end
    end
  end
  return a2
end
