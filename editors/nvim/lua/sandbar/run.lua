-- Commands run in the sandbox by the host (sandbar/run), for :Sandbar run
-- and for other plugins through require('sandbar').run.
--
-- Each run is named by an id the plugin makes, so that the host's
-- notifications about it (sandbar/runStarted, sandbar/output,
-- sandbar/violation), which come before the answer to sandbar/run, reach
-- its callbacks from the start. Neovim handles the host's messages in the
-- order they came, so the callbacks are called in that order too:
-- on_start, then output and violations as they happen, then on_exit last.
local host = require('sandbar.host')

local M = {}

-- The runs under way, by id.
local runs = {}
local seq = 0

-- How long a cancelled run may take to answer before it is taken as
-- ended: a request cancelled before its command started is answered with
-- RequestCancelled, an error Neovim does not pass on.
local cancel_grace_ms = 3000

---@class sandbar.Run
---@field id string
---@field argv string[]
---@field done boolean
---@field result table? the host's answer, once done
---@field err table? the error, when the run could not be done
---@field stdout string[] what the command wrote, chunk by chunk
---@field stderr string[]
---@field violations table[] refusals, as they happened
local Run = {}
Run.__index = Run

local function report(err)
  vim.notify('sandbar: a run callback failed: ' .. tostring(err), vim.log.levels.ERROR)
end

local function callback(fn, ...)
  if type(fn) ~= 'function' then return end
  local ok, err = pcall(fn, ...)
  if not ok then report(err) end
end

local function is_argv(v)
  if type(v) ~= 'table' or #v == 0 then return false end
  for _, a in ipairs(v) do
    if type(a) ~= 'string' then return false end
  end
  return true
end

local function absolute(dir)
  dir = vim.fn.fnamemodify(vim.fs.normalize(dir), ':p')
  if #dir > 1 then dir = dir:gsub('/+$', '') end
  return dir
end

--- Starts a run. See :help sandbar.run().
---@return sandbar.Run
function M.start(opts)
  if type(opts) ~= 'table' then error('sandbar.run: opts must be a table', 2) end
  local argv = opts.argv
  if type(argv) == 'string' then argv = { 'sh', '-c', argv } end
  if not is_argv(argv) then error('sandbar.run: argv must be a non-empty list of strings, or a shell command line', 2) end
  seq = seq + 1
  local self = setmetatable({
    id = ('nvim%d.%d'):format(vim.fn.getpid(), seq),
    argv = argv,
    opts = opts,
    done = false,
    starts = 0,
    stdout = {},
    stderr = {},
    violations = {},
  }, Run)
  runs[self.id] = self
  local env = opts.env
  if type(env) == 'table' and next(env) == nil then env = nil end
  local params = {
    runId = self.id,
    argv = argv,
    -- The directory the user is in, as for any command they would run.
    cwd = absolute(opts.cwd or vim.fn.getcwd()),
    env = env,
    timeoutMs = opts.timeout_ms,
    pty = opts.pty,
    unconfined = opts.unconfined or nil,
  }
  if type(opts.stdin) == 'string' then
    params.stdin = opts.stdin
  elseif opts.stdin == true then
    params.stdinOpen = true
  end
  host.ensure(function(c, err)
    if self.done then return end
    if not c then
      self:_finish(nil, { code = -32803, message = err or 'the sandbar host is not running' })
      return
    end
    self.client_id = c.id
    local ok, request_id = host.call(c, 'request', 'sandbar/run', params, function(e, result)
      self:_finish(host.denil(result), host.denil(e))
    end)
    if not ok then
      self:_finish(nil, { code = -32803, message = 'the sandbar host is not running' })
      return
    end
    self.request_id = request_id
    if self.cancelled then self:cancel() end
  end)
  return self
end

function Run:_finish(result, err)
  if self.done then return end
  self.done = true
  runs[self.id] = nil
  if self.timer then
    self.timer:stop()
    self.timer:close()
    self.timer = nil
  end
  if result then
    -- final is the run that counts: the re-run, when the user allowed
    -- what the first one was refused and it ran again.
    -- (A copy, not the table itself: results are passed on as data, to
    -- autocommands for one, and must not refer to themselves.)
    result.final = result.rerun or vim.tbl_extend('force', {}, result)
    self.result = result
  else
    if type(err) ~= 'table' then err = { message = tostring(err) } end
    self.err = err
  end
  callback(self.opts.on_exit, self.result, self.err, self)
end

local function host_client(self)
  if not self.client_id then return nil end
  local c = vim.lsp.get_client_by_id(self.client_id)
  if c and not host.call(c, 'is_stopped') then return c end
end

-- notify_host sends a notification about the run. Until the command has
-- started the host has nowhere to put input: it waits here until then.
local function notify_host(self, method, params)
  if self.done then return end
  if self.starts == 0 then
    self.pending = self.pending or {}
    table.insert(self.pending, { method, params })
    return
  end
  local c = host_client(self)
  if c then host.call(c, 'notify', method, params) end
end

--- Sends data to the command's input (runs started with stdin = true or
--- pty).
function Run:write(data)
  notify_host(self, 'sandbar/input', { runId = self.id, data = data })
end

--- Ends the command's input.
function Run:close_stdin()
  notify_host(self, 'sandbar/input', { runId = self.id, data = '', eof = true })
end

--- Resizes the command's terminal (runs started with pty).
function Run:resize(cols, rows)
  notify_host(self, 'sandbar/resize', { runId = self.id, cols = cols, rows = rows })
end

--- Cancels the run: the host kills everything the command started.
function Run:cancel()
  if self.done then return end
  self.cancelled = true
  local c = host_client(self)
  if not self.request_id or not c then
    if not self.client_id then
      -- Not sent yet: it never will be.
      self:_finish({ runId = self.id, exitCode = -1, violations = {}, cancelled = true, confined = true })
    end
    return
  end
  host.call(c, 'cancel_request', self.request_id)
  if not self.timer then
    self.timer = (vim.uv or vim.loop).new_timer()
    self.timer:start(cancel_grace_ms, 0, vim.schedule_wrap(function()
      self:_finish({ runId = self.id, exitCode = -1, violations = {}, cancelled = true, confined = true })
    end))
  end
end

--- Waits up to timeout_ms for the run to end; returns its result and
--- error. Not from a callback of Neovim's event loop (vim.wait).
function Run:wait(timeout_ms)
  vim.wait(timeout_ms or 60000, function() return self.done end, 10)
  if not self.done then return nil, { message = 'the run did not end within ' .. (timeout_ms or 60000) .. ' ms' } end
  return self.result, self.err
end

--- What the command wrote on stdout (all of it on a pty), and on stderr.
function Run:output()
  return table.concat(self.stdout), table.concat(self.stderr)
end

-- The host's notifications.

function M._started(p)
  local r = runs[p.runId]
  if not r then return end
  r.starts = r.starts + 1
  p.rerun = r.starts > 1
  callback(r.opts.on_start, p, r)
  local pending = r.pending or {}
  r.pending = nil
  for _, m in ipairs(pending) do
    notify_host(r, m[1], m[2])
  end
end

function M._output(p)
  local r = runs[p.runId]
  if not r then return end
  if p.stream == 'stderr' then
    table.insert(r.stderr, p.data)
    callback(r.opts.on_stderr, p.data, r)
  else
    table.insert(r.stdout, p.data)
    callback(r.opts.on_stdout, p.data, r)
  end
end

function M._violation(p)
  local r = runs[p.runId]
  if not r then return end
  table.insert(r.violations, p)
  callback(r.opts.on_violation, p, r)
end

-- The host with client_id exited: its runs end with it.
function M._host_exited(client_id)
  for _, r in pairs(runs) do
    if r.client_id == client_id then
      r:_finish(nil, { code = -32803, message = 'the sandbar host exited during the run' })
    end
  end
end

-- describe_violation is one line about a refusal.
function M.describe_violation(v)
  local what = v.kind or 'access'
  if v.operation and v.operation ~= '' then what = what .. ' (' .. v.operation .. ')' end
  local s = ('%s %s'):format(v.decision or 'denied', what)
  local target = v.path or v.target
  if target and target ~= '' then s = s .. ' ' .. target end
  if v.count and v.count > 1 then s = s .. (' (%d times)'):format(v.count) end
  if v.reason and v.reason ~= '' then s = s .. ': ' .. v.reason end
  if v.rule and v.rule ~= '' then s = s .. ' [' .. v.rule .. ']' end
  return s
end

local function status_text(r)
  if r.cancelled then return 'It was cancelled.' end
  if r.timedOut then return 'It timed out.' end
  if r.signal then return 'It was killed by ' .. r.signal .. '.' end
  return ('It exited with status %d.'):format(r.exitCode)
end

-- How much of the output describe keeps: the end, where the errors are.
local describe_max = 30000

--- A run told in words, for a person or a model: the output, how it
--- ended, and what the sandbox refused, so that a refusal is not taken
--- for a failure of the command itself.
function M.describe(result, err, run)
  if err then return 'The command was not run: ' .. (err.message or tostring(err)) end
  local parts = {}
  if run then
    local out, errout = run:output()
    if #out > describe_max then out = '[...]\n' .. out:sub(-describe_max) end
    if #errout > describe_max then errout = '[...]\n' .. errout:sub(-describe_max) end
    if out ~= '' then table.insert(parts, out) end
    if errout ~= '' then table.insert(parts, 'stderr:\n' .. errout) end
  end
  table.insert(parts, status_text(result))
  local function refusals(vs, intro)
    if not vs or #vs == 0 then return end
    local lines = { intro }
    for _, v in ipairs(vs) do
      table.insert(lines, '- ' .. M.describe_violation(v))
    end
    table.insert(parts, table.concat(lines, '\n'))
  end
  refusals(result.violations, 'The sandbox refused (the command runs confined: it may write only the workspace and reach only the hosts the user allows):')
  if result.rerun then
    table.insert(parts, 'The user allowed ' .. table.concat(result.allowed or {}, ', ') .. ', and it ran again. ' .. status_text(result.rerun))
    refusals(result.rerun.violations, 'The sandbox refused, in the second run:')
  end
  return table.concat(parts, '\n')
end

--- The runs under way.
function M.list()
  local out = {}
  for _, r in pairs(runs) do
    table.insert(out, r)
  end
  return out
end

return M
