-- sandbar for Neovim: commands run in sandbar's sandbox, the editor's
-- prompts for what the policy leaves undecided, a confined terminal, and
-- diagnostics on the policy file. :help sandbar
local config = require('sandbar.config')
local host = require('sandbar.host')

local M = {}

--- Sets the options (:help sandbar-setup). Optional: the defaults work.
function M.setup(opts)
  config.set(opts)
  return M
end

--- Runs a command in the sandbox (:help sandbar.run()).
---@param opts {argv: string[]|string, cwd?: string, env?: table<string,string>, stdin?: string|boolean, timeout_ms?: integer, pty?: {cols: integer, rows: integer}, unconfined?: boolean, on_start?: fun(info: table, run: sandbar.Run), on_stdout?: fun(data: string, run: sandbar.Run), on_stderr?: fun(data: string, run: sandbar.Run), on_violation?: fun(v: table, run: sandbar.Run), on_exit?: fun(result: table?, err: table?, run: sandbar.Run)}
---@return sandbar.Run
function M.run(opts)
  return require('sandbar.run').start(opts)
end

--- Runs a command and waits for it (:help sandbar.run_sync()).
function M.run_sync(opts, timeout_ms)
  local r = require('sandbar.run').start(opts)
  local result, err = r:wait(timeout_ms)
  local stdout, stderr = r:output()
  return result, err, stdout, stderr
end

--- A run told in words, for a person or a model: its output, how it
--- ended and what the sandbox refused (:help sandbar.describe()).
function M.describe(result, err, run)
  return require('sandbar.run').describe(result, err, run)
end

--- Starts the host if it is not running.
function M.start()
  local c, err = host.start()
  if not c and err then vim.notify('sandbar: ' .. err, vim.log.levels.ERROR) end
  return c, err
end

M.stop = host.stop
M.restart = host.restart
M.status = host.status
M.client = host.client
M.folders = host.folders
M.add_folder = host.add_folder
M.remove_folder = host.remove_folder
M.wait_ready = host.wait_ready

--- Sends a request to the host once it is ready; cb(err, result).
M.request = host.request

--- Calls cb(err, policy) with the sandbox in force (sandbar/policy).
function M.policy(cb, folder)
  host.request('sandbar/policy', folder and { folder = folder } or vim.empty_dict(), cb)
end

-- Called by plugin/sandbar.lua once Neovim has started.
function M._autostart()
  if not config.options.autostart then return end
  if not host.executable() then return end
  host.start()
end

return M
