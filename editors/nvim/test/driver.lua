-- Answers the prompt of a Neovim under test as a person would: once the
-- prompt is on its screen, types keys into it with
-- `nvim --server SOCKET --remote-send KEYS`.
--
--   nvim -l driver.lua SOCKET MARKER KEYS
--
-- MARKER is a file the Neovim under test writes, with the question, as it
-- shows the prompt (Neovim's own vim.ui.select, which waits for typed
-- input). Keys typed before it reads them wait in its input queue.
local sock, marker, keys = arg[1], arg[2], arg[3]
local nvim = vim.env.SANDBAR_TEST_NVIM or vim.v.progpath
local uv = vim.uv or vim.loop

local function fail(msg)
  io.stderr:write('driver: ' .. msg .. '\n')
  os.exit(1)
end

if not vim.wait(60000, function() return uv.fs_stat(sock) ~= nil end, 20) then
  fail('no Neovim listens on ' .. sock)
end
if not vim.wait(90000, function() return uv.fs_stat(marker) ~= nil end, 20) then
  fail('the Neovim under test never showed a prompt')
end
local f = assert(io.open(marker))
local question = f:read('*a')
f:close()
io.stdout:write('driver: the prompt says: ' .. question .. '\n')

local out = vim.system({ nvim, '--server', sock, '--remote-send', keys }, { text = true }):wait(30000)
if out.code ~= 0 then fail(('--remote-send failed (%s): %s'):format(tostring(out.code), out.stderr or '')) end
io.stdout:write('driver: typed ' .. keys .. '\n')
os.exit(0)
