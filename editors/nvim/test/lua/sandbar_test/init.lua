-- The tests' helpers and runner. A scenario is a function of this module
-- that raises an error when something is not as it should be; it waits
-- for conditions (T.wait), never for a while.
local M = {}

local uv = vim.uv or vim.loop

M.env = {
  root = vim.env.SANDBAR_TEST_ROOT,
  home = vim.env.HOME,
  ws = vim.env.SANDBAR_TEST_WS,
  outside = vim.env.SANDBAR_TEST_OUTSIDE,
  nvim = vim.env.SANDBAR_TEST_NVIM,
}

-- Scenario deadlines: generous for a loaded 2-core machine, but every
-- wait ends as soon as its condition holds.
M.timeout = 30000

--- Waits until pred() is true; fails naming what after ms.
function M.wait(what, pred, ms)
  local ok = vim.wait(ms or M.timeout, function()
    local good, v = pcall(pred)
    return good and v
  end, 10)
  if not ok then error('timed out waiting for ' .. what, 2) end
end

function M.ok(cond, what)
  if not cond then error(what, 2) end
end

function M.eq(want, got, what)
  if not vim.deep_equal(want, got) then
    error(('%s: want %s, got %s'):format(what, vim.inspect(want), vim.inspect(got)), 2)
  end
end

function M.contains(s, sub, what)
  if type(s) ~= 'string' or not s:find(sub, 1, true) then
    error(('%s: %s does not contain %q'):format(what, vim.inspect(s), sub), 2)
  end
end

function M.read(path)
  local f = io.open(path, 'rb')
  if not f then return nil end
  local s = f:read('*a')
  f:close()
  return s
end

function M.write(path, content)
  vim.fn.mkdir(vim.fs.dirname(path), 'p')
  local f = assert(io.open(path, 'wb'))
  f:write(content)
  f:close()
end

function M.exists(path) return uv.fs_stat(path) ~= nil end

function M.buf_text(buf)
  return table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), '\n')
end

-- Prompts.

--- Replaces vim.ui.select, as a UI plugin would: answer(items, opts)
--- returns the title to choose, or nil to dismiss. Every prompt is kept
--- in M.prompts.
function M.stub_select(answer)
  M.prompts = {}
  vim.ui.select = function(items, opts, on_choice)
    local titles = {}
    for _, it in ipairs(items) do
      table.insert(titles, opts.format_item and opts.format_item(it) or tostring(it))
    end
    local prompt = { message = opts.prompt, titles = titles }
    table.insert(M.prompts, prompt)
    local want = answer(titles, prompt)
    for i, t in ipairs(titles) do
      if t == want then return on_choice(items[i], i) end
    end
    on_choice(nil, nil)
  end
end

-- A web server on the loopback, and a command that reaches it by name.

--- Starts a web server on 127.0.0.1 that answers every request with
--- "hello from the host"; returns its port.
function M.http_server()
  local server = uv.new_tcp()
  assert(server:bind('127.0.0.1', 0))
  assert(server:listen(16, function(err)
    if err then return end
    local client = uv.new_tcp()
    server:accept(client)
    local got = ''
    client:read_start(function(rerr, chunk)
      if rerr or not chunk then
        client:close()
        return
      end
      got = got .. chunk
      if got:find('\r\n\r\n', 1, true) then
        client:read_stop()
        local body = 'hello from the host\n'
        client:write(('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s'):format(#body, body), function()
          client:shutdown(function() client:close() end)
        end)
      end
    end)
  end))
  M.server = server
  return server:getsockname().port
end

--- The user's policy lists the server's addresses but not the name
--- localhost: reaching it by name is undecided, and so asked about.
function M.allow_addresses(port)
  M.write(vim.fs.joinpath(vim.env.XDG_CONFIG_HOME, 'sandbar', 'policy.jsonc'),
    ('{"version": 1, "network": {"allowedDomains": ["127.0.0.1:%d", "[::1]:%d"]}}\n'):format(port, port))
end

--- A shell command that fetches the server by name through the proxy
--- (NO_PROXY would send localhost direct).
function M.fetch_localhost_cmd(port)
  return ("curl -sS --noproxy '' -x http://127.0.0.1:3128 -o /dev/null -w 'code:%%{http_code}\\n' http://localhost:%d/"):format(port)
end

function M.ws_policy() return vim.fs.joinpath(M.env.ws, '.sandbar', 'policy.jsonc') end

--- The workspace's own policy file, as a team keeps it in git: it only
--- narrows, so it needs no trust. ("Allow for workspace" adds to it.)
function M.team_policy()
  M.write(M.ws_policy(), '// The team\'s policy.\n{\n  "version": 1,\n  "network": {\n    "deniedDomains": ["tracker.example"], // no tracking\n  },\n}\n')
end

-- The host.

--- Starts the host (if need be) and waits for it and its first policy
--- load.
function M.ready()
  local sandbar = require('sandbar')
  local c, err = sandbar.wait_ready(M.timeout)
  M.ok(c, 'the host did not start: ' .. tostring(err))
  M.wait('the first sandbar/policyApplied', function() return sandbar.status().applied ~= nil end)
  return c
end

--- Runs a command through the Lua API and waits for it.
function M.run(opts)
  local r = require('sandbar').run(opts)
  M.wait('the run of ' .. vim.inspect(opts.argv) .. ' to end', function() return r.done end)
  return r
end

-- The runner.

local function finish(name, ok, err)
  local line = ok and ('ok ' .. name) or ('not ok ' .. name .. ': ' .. tostring(err))
  if vim.env.SANDBAR_TEST_RESULT then
    local f = io.open(vim.env.SANDBAR_TEST_RESULT, 'w')
    if f then
      f:write(line .. '\n')
      f:close()
    end
  end
  io.stderr:write(line .. '\n')
  vim.cmd(ok and 'qall!' or 'cquit! 1')
end

--- Runs scenario name once Neovim has started, then quits: status 0 if
--- it passed.
function M.main(name)
  -- Neovim's own vim.ui.select waits for typed input, which nobody types
  -- in these tests: until a scenario says otherwise, prompts are
  -- dismissed (and kept, for the scenario to check).
  M.original_select = vim.ui.select
  M.stub_select(function() return nil end)
  vim.api.nvim_create_autocmd('VimEnter', {
    once = true,
    callback = function()
      vim.schedule(function()
        local scenario = require('sandbar_test.scenarios')[name]
        if not scenario then return finish(name, false, 'no such scenario') end
        local ok, err = xpcall(scenario.run, debug.traceback, M)
        finish(name, ok, err)
      end)
    end,
  })
end

return M
