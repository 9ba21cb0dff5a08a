-- Answers the prompt of a Neovim under test as a person would: waits
-- until that Neovim waits for typed input, then types keys into it with
-- `nvim --server SOCKET --remote-send KEYS`.
--
--   nvim -l driver.lua SOCKET KEYS
local sock, keys = arg[1], arg[2]
local nvim = vim.env.SANDBAR_TEST_NVIM or vim.v.progpath

local function fail(msg)
  io.stderr:write('driver: ' .. msg .. '\n')
  os.exit(1)
end

local chan
if not vim.wait(60000, function()
  local ok, c = pcall(vim.fn.sockconnect, 'pipe', sock, { rpc = true })
  if ok and c > 0 then chan = c end
  return chan ~= nil
end, 50) then
  fail('no Neovim listens on ' .. sock)
end

-- nvim_get_mode is answered even while Neovim waits for input, and says
-- so: blocking.
if not vim.wait(90000, function()
  local ok, mode = pcall(vim.rpcrequest, chan, 'nvim_get_mode')
  return ok and mode.blocking
end, 50) then
  fail('the Neovim under test never waited for an answer')
end

local out = vim.system({ nvim, '--server', sock, '--remote-send', keys }, { text = true }):wait(30000)
if out.code ~= 0 then fail(('--remote-send failed (%s): %s'):format(tostring(out.code), out.stderr or '')) end
io.stdout:write('driver: typed ' .. keys .. '\n')
os.exit(0)
