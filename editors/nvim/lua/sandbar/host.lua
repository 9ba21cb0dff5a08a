-- The editor host: one `sandbar serve` per Neovim, run by Neovim's own
-- LSP client, with every workspace folder of this Neovim. It is started
-- again when it dies. Everything else in the plugin reaches the host
-- through this module.
local config = require('sandbar.config')

local M = {}

local uv = vim.uv or vim.loop

-- The host's state. One table, so that status() can show all of it.
local S = {
  client_id = nil,
  -- initialized: the host answered initialize.
  ready = false,
  -- info is the host's capabilities.experimental.sandbar: backend,
  -- version, enforces, hostSocket.
  info = nil,
  server = nil,
  -- applied is the last sandbar/policyApplied.
  applied = nil,
  -- folders are the workspace folders, absolute paths in order; sent are
  -- those the running host knows.
  folders = {},
  sent = {},
  -- deaths are the times (ms) the host died unasked, for the restart
  -- limit; restarts counts the restarts.
  deaths = {},
  restarts = 0,
  stopping = false,
  start_after_stop = false,
  -- waiting are the callbacks that wait for the host to be ready.
  waiting = {},
  -- log keeps the host's last window/logMessage lines.
  log = {},
  last_error = nil,
}

local log_size = 200

local function now() return uv.now() end

-- call calls a method of a client: a plain function field before Neovim
-- 0.11, a method after.
local has_011 = vim.fn.has('nvim-0.11') == 1
local function call(c, name, ...)
  if has_011 then return c[name](c, ...) end
  return c[name](...)
end
M.call = call

-- denil turns JSON's null, which newer Neovims (0.12) pass on as
-- vim.NIL, into nil as 0.10 does: the plugin and its users test fields
-- for nil.
local function denil(v)
  if v == vim.NIL then return nil end
  if type(v) == 'table' then
    for k, x in pairs(v) do
      v[k] = denil(x)
    end
  end
  return v
end
M.denil = denil

local function notify(msg, level)
  vim.notify('sandbar: ' .. msg, level or vim.log.levels.INFO)
end

-- normalize makes dir absolute, without a trailing slash.
local function normalize(dir)
  dir = vim.fn.fnamemodify(vim.fs.normalize(dir), ':p')
  if #dir > 1 then dir = dir:gsub('/+$', '') end
  return dir
end

--- The project root of dir: the nearest directory upward that holds one
--- of config.root_markers, else dir itself.
function M.root_of(dir)
  dir = normalize(dir)
  local found = vim.fs.find(config.options.root_markers, { upward = true, path = dir, limit = 1 })[1]
  if found then return normalize(vim.fs.dirname(found)) end
  return dir
end

local function workspace_folder(dir)
  return { uri = vim.uri_from_fname(dir), name = dir }
end

--- The sandbar executable's path, or nil and why not.
function M.executable()
  local cmd = config.options.cmd
  if type(cmd) ~= 'string' or cmd == '' then return nil, 'the setting cmd must be the sandbar executable' end
  if cmd:find('/') then
    local path = vim.fn.fnamemodify(vim.fs.normalize(cmd), ':p')
    if vim.fn.executable(path) == 1 then return path end
    return nil, path .. ' is not an executable file'
  end
  local path = vim.fn.exepath(cmd)
  if path == '' then
    return nil, ('%s is not on $PATH; install sandbar, or set its path: require("sandbar").setup({ cmd = "/path/to/sandbar" })'):format(cmd)
  end
  return path
end

local function initial_folders()
  local folders = { M.root_of(vim.fn.getcwd()) }
  for _, f in ipairs(config.options.folders or {}) do
    f = normalize(f)
    if not vim.tbl_contains(folders, f) then table.insert(folders, f) end
  end
  return folders
end

local function client()
  if not S.client_id then return nil end
  local c = vim.lsp.get_client_by_id(S.client_id)
  if c == nil or call(c, 'is_stopped') then return nil end
  return c
end

--- The host's client when it is running and initialized, else nil.
function M.client()
  if not S.ready then return nil end
  return client()
end

local function flush_waiting(c, err)
  local waiting = S.waiting
  S.waiting = {}
  for _, cb in ipairs(waiting) do
    local ok, e = pcall(cb, c, err)
    if not ok then notify(tostring(e), vim.log.levels.ERROR) end
  end
end

-- sync_folders tells a running host about the folders added or removed
-- since it was told last.
local function sync_folders(c)
  local added, removed = {}, {}
  for _, f in ipairs(S.folders) do
    if not vim.tbl_contains(S.sent, f) then table.insert(added, workspace_folder(f)) end
  end
  for _, f in ipairs(S.sent) do
    if not vim.tbl_contains(S.folders, f) then table.insert(removed, workspace_folder(f)) end
  end
  if #added == 0 and #removed == 0 then return end
  call(c, 'notify', 'workspace/didChangeWorkspaceFolders', { event = { added = added, removed = removed } })
  S.sent = vim.deepcopy(S.folders)
  -- Neovim's own view of the client's folders (:lua =vim.lsp.buf.list_workspace_folders()).
  c.workspace_folders = vim.tbl_map(workspace_folder, S.folders)
end

local function on_policy_applied(p)
  S.applied = p
  -- A policy file the host wrote (an approval) is shown as it is now in
  -- the buffers that have it, unless they have changes of their own.
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(buf) and not vim.bo[buf].modified then
      local name = vim.api.nvim_buf_get_name(buf)
      if name:match('/%.sandbar/policy%.jsonc$') or name:match('/sandbar/policy%.jsonc$') then
        pcall(vim.cmd.checktime, buf)
      end
    end
  end
  vim.api.nvim_exec_autocmds('User', { pattern = 'SandbarPolicyApplied', modeline = false, data = p })
end

local function keep_log(p)
  table.insert(S.log, { type = p.type, message = p.message, time = os.time() })
  if #S.log > log_size then table.remove(S.log, 1) end
end

local handlers = {
  ['sandbar/output'] = function(_, p) require('sandbar.run')._output(p) end,
  ['sandbar/runStarted'] = function(_, p) require('sandbar.run')._started(denil(p)) end,
  ['sandbar/violation'] = function(_, p) require('sandbar.run')._violation(denil(p)) end,
  ['sandbar/policyApplied'] = function(_, p) on_policy_applied(denil(p)) end,
  ['window/logMessage'] = function(err, p, ctx, cfg)
    keep_log(p)
    return vim.lsp.handlers['window/logMessage'](err, p, ctx, cfg)
  end,
}

local function capabilities()
  local caps = vim.lsp.protocol.make_client_capabilities()
  caps.general = caps.general or {}
  -- Neovim counts columns in bytes; the host can too.
  caps.general.positionEncodings = { 'utf-8', 'utf-16' }
  return caps
end

local died

--- Starts the host if it is not running. Returns its client (maybe not
--- initialized yet), or nil and why not.
function M.start()
  local c = client()
  if c then return c end
  local exe, why = M.executable()
  if not exe then
    S.last_error = why
    return nil, why
  end
  if #S.folders == 0 then S.folders = initial_folders() end
  S.ready, S.info, S.server, S.applied = false, nil, nil, nil
  S.sent = vim.deepcopy(S.folders)
  local init_options = vim.empty_dict()
  if config.options.approval_timeout_ms then
    init_options = { approvalTimeoutMs = config.options.approval_timeout_ms }
  end
  local cfg = {
    name = 'sandbar',
    cmd = { exe, 'serve', '--stdio' },
    cmd_cwd = S.folders[1],
    root_dir = S.folders[1],
    workspace_folders = vim.tbl_map(workspace_folder, S.folders),
    capabilities = capabilities(),
    init_options = init_options,
    handlers = handlers,
    on_init = function(cl, result)
      if cl.id ~= S.client_id then return end
      result = denil(result) or {}
      S.info = vim.tbl_get(result, 'capabilities', 'experimental', 'sandbar') or {}
      S.server = result.serverInfo
      S.ready = true
      S.last_error = nil
      sync_folders(cl)
      vim.api.nvim_exec_autocmds('User', { pattern = 'SandbarReady', modeline = false, data = { client_id = cl.id } })
      flush_waiting(cl)
    end,
    on_exit = function(code, signal, id)
      vim.schedule(function() died(id, code, signal) end)
    end,
  }
  local ok, id, err
  if has_011 then
    ok, id = pcall(vim.lsp.start, cfg, { attach = false })
  else
    ok, id, err = pcall(vim.lsp.start_client, cfg)
  end
  if not ok or not id then
    S.last_error = 'starting ' .. exe .. ' serve: ' .. tostring(err or id)
    return nil, S.last_error
  end
  S.client_id = id
  return vim.lsp.get_client_by_id(id)
end

died = function(id, code, signal)
  if id ~= S.client_id then return end
  S.client_id, S.ready = nil, false
  require('sandbar.run')._host_exited(id)
  if S.stopping then
    S.stopping = false
    if S.start_after_stop then
      S.start_after_stop = false
      M.start()
    else
      flush_waiting(nil, 'the host was stopped')
    end
    return
  end
  if vim.v.exiting ~= vim.NIL then return end
  local why = ('exit code %d'):format(code or -1)
  if signal and signal ~= 0 then why = ('signal %d'):format(signal) end
  S.last_error = 'the host exited (' .. why .. ')'
  local t = now()
  table.insert(S.deaths, t)
  local limit = config.options.restart or {}
  local within, max = limit.within_ms or 60000, limit.max or 5
  local recent = {}
  for _, d in ipairs(S.deaths) do
    if t - d <= within then table.insert(recent, d) end
  end
  S.deaths = recent
  if #recent > max then
    notify(('the host exited (%s), %d times within %d s; not starting it again. :Sandbar restart starts it.'):format(why, #recent, within / 1000), vim.log.levels.ERROR)
    flush_waiting(nil, S.last_error)
    return
  end
  S.restarts = S.restarts + 1
  notify(('the host exited (%s); starting it again'):format(why), vim.log.levels.WARN)
  vim.defer_fn(function()
    if S.client_id or S.stopping then return end
    local _, err = M.start()
    if err then
      notify(err, vim.log.levels.ERROR)
      flush_waiting(nil, err)
    end
  end, 100 * #recent)
end

--- Calls cb(client) once the host is ready, starting it if need be; or
--- cb(nil, why) if it cannot start.
function M.ensure(cb)
  local c, err = M.start()
  if not c then
    cb(nil, err)
    return
  end
  if S.ready then
    cb(c)
  else
    table.insert(S.waiting, cb)
  end
end

--- Starts the host and waits up to timeout_ms for it to be ready.
--- Returns the client, or nil and why not.
function M.wait_ready(timeout_ms)
  local c, err = M.start()
  if not c then return nil, err end
  vim.wait(timeout_ms or 10000, function() return S.ready or S.client_id == nil end, 10)
  if not S.ready then return nil, S.last_error or 'the host did not answer initialize in time' end
  return M.client()
end

--- Sends a request once the host is ready; cb(err, result).
function M.request(method, params, cb)
  M.ensure(function(c, err)
    if not c then
      cb({ code = -32803, message = err or 'the host is not running' })
      return
    end
    local ok = call(c, 'request', method, params, function(e, result) cb(denil(e), denil(result)) end)
    if not ok then cb({ code = -32803, message = 'the host is not running' }) end
  end)
end

--- Stops the host. It does not start again until asked.
function M.stop()
  local c = client()
  if not c then return end
  S.stopping = true
  call(c, 'stop')
  local id = c.id
  vim.defer_fn(function()
    local still = vim.lsp.get_client_by_id(id)
    if still and not call(still, 'is_stopped') then call(still, 'stop', true) end
  end, 3000)
end

--- Stops the host and starts a new one.
function M.restart()
  S.deaths = {}
  if client() then
    S.start_after_stop = true
    M.stop()
    return
  end
  local _, err = M.start()
  if err then notify(err, vim.log.levels.ERROR) end
end

--- The workspace folders (absolute paths).
function M.folders()
  if #S.folders == 0 then return initial_folders() end
  return vim.deepcopy(S.folders)
end

--- Adds dir to the workspace: the sandbox may write it. Returns whether
--- it was new.
function M.add_folder(dir)
  dir = normalize(dir)
  if #S.folders == 0 then S.folders = initial_folders() end
  if vim.tbl_contains(S.folders, dir) then return false end
  table.insert(S.folders, dir)
  local c = M.client()
  if c then sync_folders(c) end
  return true
end

--- Removes dir from the workspace. Returns whether it was there.
function M.remove_folder(dir)
  dir = normalize(dir)
  for i, f in ipairs(S.folders) do
    if f == dir then
      table.remove(S.folders, i)
      local c = M.client()
      if c then sync_folders(c) end
      return true
    end
  end
  return false
end

function M.on_dir_changed()
  if not config.options.follow_cwd then return end
  -- Before the host's first start the folders are worked out then.
  if #S.folders == 0 then return end
  M.add_folder(M.root_of(vim.fn.getcwd()))
end

-- exit_wait_ms is how long Neovim, quitting, waits for the host to answer
-- shutdown and exit; then it is killed.
local exit_wait_ms = 2000

--- Neovim is quitting: the host is asked to shut down and exit, and
--- waited for, as LSP wants. (Neovim's own exit handler sends shutdown
--- and quits without waiting for the answer; the host then fails to
--- write it, and stays behind.)
function M.on_exit()
  S.stopping = true
  local c = client()
  if not c then return end
  local id = c.id
  call(c, 'stop')
  local gone = vim.wait(exit_wait_ms, function() return S.client_id ~= id end, 5)
  if not gone then
    local still = vim.lsp.get_client_by_id(id)
    if still then call(still, 'stop', true) end
  end
end

--- The host's pid: its terminal socket is named after it.
local function host_pid()
  local sock = S.info and S.info.hostSocket
  if type(sock) == 'string' then
    local pid = sock:match('host%-(%d+)%.sock$')
    if pid then return tonumber(pid) end
  end
end

--- What the plugin knows of the host.
function M.status()
  local c = client()
  return {
    running = c ~= nil,
    ready = S.ready and c ~= nil,
    client_id = c and c.id or nil,
    pid = c and host_pid() or nil,
    info = S.info,
    server = S.server,
    folders = M.folders(),
    applied = S.applied,
    restarts = S.restarts,
    last_error = S.last_error,
    log = S.log,
  }
end

return M
