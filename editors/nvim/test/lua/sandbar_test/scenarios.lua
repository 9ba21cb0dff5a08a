-- The scenarios test.sh runs, each in a Neovim of its own with a home, a
-- workspace (a git repository, Neovim's current directory) and a folder
-- outside it. `setup` is passed to require('sandbar').setup() before the
-- plugin starts; without it the defaults apply.
local S = {}

local api = vim.api
local uv = vim.uv or vim.loop

local function sandbar() return require('sandbar') end

local function find_buf(name)
  for _, b in ipairs(api.nvim_list_bufs()) do
    if api.nvim_buf_get_name(b) == name then return b end
  end
end

-- on_user records the data of each User autocommand of pattern.
local function on_user(pattern)
  local seen = {}
  api.nvim_create_autocmd('User', {
    pattern = pattern,
    callback = function(a) table.insert(seen, a.data or true) end,
  })
  return seen
end

local function request(T, method, params)
  local done, err, result = false, nil, nil
  sandbar().request(method, params, function(e, r)
    done, err, result = true, e, r
  end)
  T.wait('the answer to ' .. method, function() return done end)
  return result, err
end

local function open_terminal(T)
  local terms = on_user('SandbarTerminal')
  vim.cmd('Sandbar terminal')
  T.wait('the terminal to open', function() return #terms > 0 end)
  return terms[1]
end

-- The plugin starts the host by itself, and :checkhealth sandbar finds
-- nothing wrong. No setup(): the defaults.
S.checkhealth = {
  run = function(T)
    T.wait('the host to start by itself', function() return sandbar().status().ready end)
    vim.cmd('checkhealth sandbar')
    local text = T.buf_text(0)
    T.contains(text, 'sandbar: the editor host', 'the report')
    T.ok(not text:find('ERROR'), 'the report has errors:\n' .. text)
    T.ok(not text:find('WARNING'), 'the report has warnings:\n' .. text)
    T.contains(text, 'bwrap: bubblewrap', "the report's doctor findings")
    T.contains(text, 'backend bubblewrap', "the report's host")
    T.contains(text, 'policy loaded', "the report's policy")
    T.eq(1, #vim.lsp.get_clients({ name = 'sandbar' }), 'hosts running')
  end,
}

-- :Sandbar run streams the output into a buffer while the command runs,
-- and ends with the violations, which are in the quickfix list.
S.run_quickfix = {
  run = function(T)
    T.stub_select(function() return 'Deny' end)
    T.ready()
    local outside = T.env.outside .. '/written'
    local done = on_user('SandbarRunDone')
    vim.cmd('Sandbar run echo first; while [ ! -e go ]; do sleep 0.05; done; echo second; echo leak > ' .. outside)
    local buf = api.nvim_get_current_buf()
    T.contains(api.nvim_buf_get_name(buf), 'sandbar://run/', 'the current buffer')
    T.wait('"first" in the output while the command runs', function() return T.buf_text(buf):find('\nfirst\n', 1, true) end)
    T.eq(0, #done, 'runs ended before the command was let go on')
    T.write(T.env.ws .. '/go', '')
    T.wait('the run to end', function() return #done > 0 end)
    local text = T.buf_text(buf)
    T.contains(text, '\nsecond\n', 'the output')
    T.ok(text:find('%[sandbar%] exit %d'), 'no exit status in the output:\n' .. text)
    T.contains(text, 'file-write', 'the violations at the end of the output')
    T.ok(not T.exists(outside), outside .. ' was written')

    local qf = vim.fn.getqflist({ title = 1, items = 1 })
    T.contains(qf.title, 'sandbar: echo first', 'the quickfix title')
    local item
    for _, it in ipairs(qf.items) do
      if it.bufnr ~= 0 and api.nvim_buf_get_name(it.bufnr) == outside then item = it end
    end
    T.ok(item, 'no quickfix item for ' .. outside .. ': ' .. vim.inspect(qf.items))
    T.contains(item.text, 'file-write', 'the quickfix item')
    T.eq('E', item.type, 'the quickfix item type')

    -- The host offered to allow the write and run it again; denied.
    T.eq(1, #T.prompts, 'prompts')
    T.eq({ 'Allow and re-run', 'Deny' }, T.prompts[1].titles, 'the offer')
    T.contains(T.prompts[1].message, outside, 'the offer')
  end,
}

-- "Allow and re-run": the host adds the entry to the workspace policy and
-- runs the command again, whose output follows in the same buffer.
S.run_rerun = {
  run = function(T)
    T.stub_select(function() return 'Allow and re-run' end)
    T.ready()
    local target = T.env.outside .. '/allowed'
    local done = on_user('SandbarRunDone')
    vim.cmd('Sandbar run echo attempt; echo written > ' .. target)
    local buf = api.nvim_get_current_buf()
    T.wait('the run and its re-run to end', function() return #done > 0 end)
    local result = done[1].result
    T.ok(result and result.rerun, 'no re-run: ' .. vim.inspect(result))
    T.ok(result.exitCode ~= 0, 'the first run was not refused')
    T.eq(0, result.rerun.exitCode, "the re-run's exit code")
    T.eq(0, result.final.exitCode, 'the final exit code')
    T.eq('written\n', T.read(target), 'the file the re-run wrote')
    T.contains(T.read(T.ws_policy()) or '', '"' .. T.env.outside .. '"', 'the workspace policy')
    local text = T.buf_text(buf)
    T.contains(text, '-- run again, as allowed --', 'the output')
    T.contains(text, '[sandbar] re-run: exit 0', 'the output')
    local _, n = text:gsub('\nattempt\n', '')
    T.eq(2, n, 'runs in the output')
  end,
}

-- A blocked domain raises a prompt; "Allow for workspace" lets the run
-- through and writes the domain into the workspace's policy, so that the
-- next run is not asked.
S.prompt_allow = {
  setup = { autostart = false },
  run = function(T)
    local port = T.http_server()
    T.allow_addresses(port)
    T.team_policy()
    T.stub_select(function() return 'Allow for workspace' end)
    T.ready()
    local applied = on_user('SandbarPolicyApplied')
    local r = T.run({ argv = { 'sh', '-c', T.fetch_localhost_cmd(port) } })
    T.ok(r.result, 'the run failed: ' .. vim.inspect(r.err))
    T.contains((r:output()), 'code:200', 'the fetch')
    T.eq(1, #T.prompts, 'prompts')
    T.contains(T.prompts[1].message, 'localhost:' .. port, 'the prompt')
    T.eq({ 'Allow once', 'Allow for workspace', 'Always allow', 'Deny' }, T.prompts[1].titles, 'the choices')
    local written = T.read(T.ws_policy()) or ''
    T.contains(written, '"localhost:' .. port .. '"', 'the workspace policy')
    T.contains(written, "// The team's policy.", 'the workspace policy keeps its comments')

    T.wait('the policy written to be in force', function() return #applied > 0 and applied[#applied].ok end)
    T.stub_select(function() return 'Deny' end)
    local again = T.run({ argv = { 'sh', '-c', T.fetch_localhost_cmd(port) } })
    T.contains((again:output()), 'code:200', 'the second fetch')
    T.eq(0, #T.prompts, 'prompts for the second fetch')
  end,
}

-- A prompt dismissed means Deny: the connection is refused, nothing is
-- written, and the audit log has it.
S.prompt_dismissed = {
  setup = { autostart = false },
  run = function(T)
    local port = T.http_server()
    T.allow_addresses(port)
    T.stub_select(function() return nil end)
    T.ready()
    local r = T.run({ argv = { 'sh', '-c', T.fetch_localhost_cmd(port) } })
    T.contains((r:output()), 'code:403', 'the fetch')
    T.eq(1, #T.prompts, 'prompts')
    T.ok(not T.exists(T.ws_policy()), 'a policy file was written')
    local net
    for _, v in ipairs(r.result.violations) do
      if v.kind == 'network' then net = v end
    end
    T.ok(net, 'no network violation in ' .. vim.inspect(r.result.violations))
    T.contains(net.target, 'localhost:' .. port, 'the violation')

    local shown = on_user('SandbarAuditShown')
    vim.cmd('Sandbar audit')
    T.wait('the audit log', function() return #shown > 0 end)
    T.contains(T.buf_text(shown[1].buf), 'localhost:' .. port, 'the audit log')
  end,
}

-- The real prompt: Neovim's own vim.ui.select, answered by typing "2"
-- and Enter into this Neovim from outside (nvim --remote-send, by
-- test/driver.lua): "Allow for workspace".
S.prompt_remote = {
  setup = { autostart = false },
  remote = true,
  run = function(T)
    local port = T.http_server()
    T.allow_addresses(port)
    T.team_policy()
    -- Neovim's own vim.ui.select, watched: the driver types the answer
    -- once the question is on the screen.
    local real = require('sandbar_test').original_select
    vim.ui.select = function(items, opts, on_choice)
      T.write(T.env.root .. '/prompt-shown', opts.prompt or '')
      return real(items, opts, on_choice)
    end
    T.ready()
    local r = T.run({ argv = { 'sh', '-c', T.fetch_localhost_cmd(port) } })
    T.contains((r:output()), 'code:200', 'the fetch')
    T.contains(T.read(T.ws_policy()) or '', '"localhost:' .. port .. '"', 'the workspace policy')
  end,
}

-- An invalid edit of the policy file gets a diagnostic at the error; the
-- fix clears it. The buffer is not attached to the host.
S.diagnostics = {
  setup = { autostart = false },
  run = function(T)
    local path = T.ws_policy()
    T.write(path, '// The team\'s policy.\n{\n  "version": 1,\n  "network": {\n    "deniedDomains": ["tracker.example"]\n  }\n}\n')
    T.ready()
    T.ok(sandbar().status().applied.ok, 'the first policy did not load')
    vim.cmd.edit(path)
    local buf = api.nvim_get_current_buf()
    api.nvim_buf_set_lines(buf, 4, 5, false, { '    "deniedDomian": ["tracker.example"]' })
    vim.cmd.write()
    T.wait('a diagnostic on the policy file', function() return #vim.diagnostic.get(buf) > 0 end)
    local d = vim.diagnostic.get(buf)[1]
    T.eq(4, d.lnum, 'the diagnostic line (0-based)')
    T.eq(4, d.col, 'the diagnostic column (0-based)')
    T.eq(vim.diagnostic.severity.ERROR, d.severity, 'the severity')
    T.eq('sandbar', d.source, 'the source')
    T.contains(d.message, 'deniedDomian', 'the message')
    T.contains(d.message, 'deniedDomains', 'the suggestion')
    T.eq(0, #vim.lsp.get_clients({ bufnr = buf }), 'clients attached to the policy buffer')

    api.nvim_buf_set_lines(buf, 4, 5, false, { '    "deniedDomains": ["tracker.example"]' })
    vim.cmd.write()
    T.wait('the diagnostic to clear', function() return #vim.diagnostic.get(buf) == 0 end)
    T.wait('the fixed policy to load', function() return sandbar().status().applied.ok end)
  end,
}

-- :Sandbar terminal runs a shell that cannot write outside the workspace,
-- and can inside it.
S.terminal_write = {
  setup = { terminal = { shell = 'sh' } },
  run = function(T)
    T.ready()
    local term = open_terminal(T)
    local target = T.env.outside .. '/from-terminal'
    vim.fn.chansend(term.job, 'echo leak > ' .. target .. '; echo "outside=$?"\n')
    T.wait('the shell to report the write outside', function() return T.buf_text(term.buf):match('outside=%d') end)
    T.ok(T.buf_text(term.buf):match('outside=[1-9]'), 'the write outside succeeded:\n' .. T.buf_text(term.buf))
    T.ok(not T.exists(target), target .. ' was written from the terminal')
    vim.fn.chansend(term.job, 'echo fine > inside; echo "inside=$?"\n')
    T.wait('the shell to report the write inside', function() return T.buf_text(term.buf):match('inside=%d') end)
    T.eq('fine\n', T.read(T.env.ws .. '/inside'), 'the file written inside')
  end,
}

-- A command in :Sandbar terminal that reaches an undecided host is asked
-- about here, in the editor, through SANDBAR_HOST.
S.terminal_prompt = {
  setup = { autostart = false, terminal = { shell = 'sh' } },
  run = function(T)
    local port = T.http_server()
    T.allow_addresses(port)
    T.stub_select(function() return 'Allow once' end)
    T.ready()
    local term = open_terminal(T)
    vim.fn.chansend(term.job, T.fetch_localhost_cmd(port) .. '\n')
    T.wait('code:200 in the terminal', function() return T.buf_text(term.buf):find('code:200', 1, true) end)
    T.eq(1, #T.prompts, 'prompts')
    T.contains(T.prompts[1].message, 'in a terminal', 'the prompt')
    T.contains(T.prompts[1].message, 'localhost:' .. port, 'the prompt')
    T.ok(not T.exists(T.ws_policy()), '"Allow once" wrote a policy file')
  end,
}

-- The Lua API calls back in order: on_start, the output as it comes,
-- on_exit last and once; input, environment and directory are passed;
-- a run can be cancelled.
S.api = {
  run = function(T)
    T.ready()
    local events = {}
    local r = T.run({
      argv = { 'sh', '-c', 'echo out1; echo err1 >&2; echo out2; exit 3' },
      on_start = function() table.insert(events, 'start') end,
      on_stdout = function(d) table.insert(events, 'stdout:' .. d) end,
      on_stderr = function(d) table.insert(events, 'stderr:' .. d) end,
      on_exit = function(res, err) table.insert(events, { 'exit', res, err }) end,
    })
    T.eq('start', events[1], 'the first callback')
    local last = events[#events]
    T.ok(type(last) == 'table' and last[1] == 'exit', 'the last callback is not on_exit: ' .. vim.inspect(events))
    local out, err, exits = '', '', 0
    for _, e in ipairs(events) do
      if type(e) == 'table' then
        exits = exits + 1
      elseif vim.startswith(e, 'stdout:') then
        out = out .. e:sub(8)
      elseif vim.startswith(e, 'stderr:') then
        err = err .. e:sub(8)
      end
    end
    T.eq(1, exits, 'on_exit calls')
    T.eq('out1\nout2\n', out, 'stdout, in order')
    T.eq('err1\n', err, 'stderr')
    T.eq(3, last[2].exitCode, 'the exit code')
    T.eq(3, last[2].final.exitCode, 'the final exit code')
    T.eq(true, last[2].confined, 'confined')
    T.eq(nil, last[3], 'the error')

    local sub = T.env.ws .. '/sub'
    vim.fn.mkdir(sub, 'p')
    local r2 = T.run({ argv = { 'sh', '-c', 'pwd; echo "$GREETING"; cat' }, cwd = sub, env = { GREETING = 'hi' }, stdin = 'from stdin\n' })
    T.eq(sub .. '\nhi\nfrom stdin\n', (r2:output()), 'directory, environment and input')

    -- Input as it comes, sent before the command has even started.
    local r4 = sandbar().run({ argv = { 'sh', '-c', 'read a; read b; echo "got $a $b"; cat' }, stdin = true })
    r4:write('one\n')
    r4:write('two\n')
    r4:close_stdin()
    T.wait('the run with input to end', function() return r4.done end)
    T.eq('got one two\n', (r4:output()), 'the output of input sent as it came')
    T.eq(0, r4.result.exitCode, 'the exit code once the input ended')

    -- A terminal.
    local r5 = T.run({ argv = { 'sh', '-c', 'test -t 0 && stty size' }, pty = { cols = 100, rows = 30 } })
    T.eq(0, r5.result.exitCode, 'the exit code on a terminal')
    T.contains((r5:output()), '30 100', 'the size of the terminal')

    local r3 = sandbar().run({ argv = { 'sh', '-c', 'echo started; exec sleep 60' } })
    T.wait('the long run to start', function() return #r3.stdout > 0 end)
    r3:cancel()
    T.wait('the cancelled run to end', function() return r3.done end)
    T.ok(r3.result and r3.result.cancelled, 'the run was not cancelled: ' .. vim.inspect({ r3.result, r3.err }))

    local ok = pcall(sandbar().run, { argv = {} })
    T.ok(not ok, 'an empty argv was accepted')
    T.ok(r.done, 'the first run is not done')
  end,
}

-- A host that dies is started again; a run under way ends with an error.
S.restart = {
  run = function(T)
    T.ready()
    local st = sandbar().status()
    T.ok(st.pid, 'the host has no pid: ' .. vim.inspect(st.info))
    local r = sandbar().run({ argv = { 'sh', '-c', 'echo up; exec sleep 60' } })
    T.wait('the run to start', function() return #r.stdout > 0 end)
    uv.kill(st.pid, 'sigkill')
    T.wait('the run to end with the host', function() return r.done end)
    T.ok(r.err and r.err.message:find('exited'), 'the run did not fail with the host: ' .. vim.inspect({ r.result, r.err }))
    T.wait('a new host', function()
      local now = sandbar().status()
      return now.ready and now.client_id ~= st.client_id
    end)
    T.eq(1, sandbar().status().restarts, 'restarts')
    local again = T.run({ argv = { 'echo', 'again' } })
    T.eq('again\n', (again:output()), 'a run on the new host')
    T.eq(1, #vim.lsp.get_clients({ name = 'sandbar' }), 'hosts running')

    -- :Sandbar restart: the old host shuts down (test.sh fails the
    -- scenario if it stays behind) and a new one starts.
    local before = sandbar().status()
    vim.cmd('Sandbar restart')
    T.wait('the host started anew', function()
      local now = sandbar().status()
      return now.ready and now.client_id ~= before.client_id
    end)
    T.ok(uv.kill(before.pid, 0) ~= 0, 'the old host still runs')
    T.eq(1, #vim.lsp.get_clients({ name = 'sandbar' }), 'hosts running after :Sandbar restart')
  end,
}

-- :Sandbar policy shows what an untrusted workspace policy would widen;
-- the host offers to trust it, and :Sandbar trust asks again.
S.policy_trust = {
  setup = { autostart = false },
  run = function(T)
    T.write(T.ws_policy(), '{"version": 1, "network": {"allowedDomains": ["api.example.com"]}}\n')
    local answers = { 'Not now', 'Trust' }
    T.stub_select(function() return table.remove(answers, 1) end)
    local shown = on_user('SandbarPolicyShown')
    local applied = on_user('SandbarPolicyApplied')
    T.ready()
    T.wait('the offer to trust the workspace policy', function() return #T.prompts > 0 end)
    T.eq({ 'Trust', 'Not now' }, T.prompts[1].titles, 'the offer')
    T.contains(T.prompts[1].message, 'api.example.com', 'the offer')

    vim.cmd('Sandbar policy')
    T.wait('the policy', function() return #shown > 0 end)
    local text = T.buf_text(shown[1].buf)
    T.contains(text, 'Ignored', 'the policy')
    T.contains(text, 'api.example.com', 'the policy')
    T.contains(text, 'not trusted', 'the policy')

    local trusted = on_user('SandbarTrust')
    vim.cmd('Sandbar trust')
    T.wait('the answer to trust', function() return #trusted > 0 end)
    T.eq(true, trusted[1].trusted, 'trusted')
    T.eq('Trust', trusted[1].answer, 'the answer')
    T.wait('the policy reloaded with trust', function()
      local a = applied[#applied]
      return a and a.cause == 'trust'
    end)
    vim.cmd('Sandbar policy')
    T.wait('the policy again', function() return #shown > 1 end)
    text = T.buf_text(shown[2].buf)
    T.ok(not text:find('Ignored'), 'entries are still ignored:\n' .. text)
    T.ok(text:find('network%.allowedDomains%s+api%.example%.com'), 'the domain is not in force:\n' .. text)
  end,
}

-- One host for all folders: a :cd into another project adds it to the
-- workspace, which the sandbox may then write.
S.folders = {
  run = function(T)
    T.ready()
    local other = T.env.root .. '/other'
    vim.fn.mkdir(other .. '/.git', 'p')
    vim.fn.mkdir(other .. '/sub', 'p')
    vim.cmd.cd(other .. '/sub')
    T.eq({ T.env.ws, other }, sandbar().folders(), 'the folders')
    local p
    T.wait('the host to have both folders', function()
      p = request(T, 'sandbar/policy', vim.empty_dict())
      return p and #p.folders == 2
    end)
    T.eq({ vim.uri_from_fname(T.env.ws), vim.uri_from_fname(other) }, p.folders, "the host's folders")
    local r = T.run({ argv = { 'sh', '-c', 'echo x > written' }, cwd = other })
    T.eq(0, r.result.exitCode, 'the exit code of a write in the new folder')
    T.eq('x\n', T.read(other .. '/written'), 'the file written')
    T.eq(1, #vim.lsp.get_clients({ name = 'sandbar' }), 'hosts running')
  end,
}

-- :Sandbar completes its subcommands and their arguments.
S.completion = {
  setup = { autostart = false },
  run = function(T)
    local subs = vim.fn.getcompletion('Sandbar ', 'cmdline')
    for _, want in ipairs({ 'run', 'terminal', 'policy', 'trust', 'audit' }) do
      T.ok(vim.tbl_contains(subs, want), ':Sandbar does not complete ' .. want .. ': ' .. vim.inspect(subs))
    end
    T.eq({ 'policy' }, vim.fn.getcompletion('Sandbar pol', 'cmdline'), 'the completion of pol')
    T.eq({ 'show', 'edit', 'user' }, vim.fn.getcompletion('Sandbar policy ', 'cmdline'), 'the completion of policy')
    T.eq({ T.env.ws }, vim.fn.getcompletion('Sandbar trust ', 'cmdline'), 'the completion of trust')
    T.ok(vim.tbl_contains(vim.fn.getcompletion('Sandbar run ech', 'cmdline'), 'echo'), 'run does not complete a program')
  end,
}

-- help_block is the first Lua example after *tag* in the help file.
local function help_block(tag)
  local path = vim.fs.joinpath(vim.g.sandbar_test_plugin, 'doc', 'sandbar.txt')
  local lines, inside, found = {}, false, false
  for line in io.lines(path) do
    if not found then
      found = line:find('*' .. tag .. '*', 1, true) ~= nil
    elseif not inside then
      inside = line:match('>lua$') ~= nil
    elseif line:match('^<') then
      break
    else
      table.insert(lines, (line:gsub('^    ', '')))
    end
  end
  assert(#lines > 0, 'no Lua example after *' .. tag .. '*')
  return table.concat(lines, '\n')
end

-- The recipes of the help file for codecompanion.nvim and avante.nvim,
-- run against stand-ins of the two plugins' tool interfaces.
S.recipes = {
  run = function(T)
    T.ready()
    local captured = {}
    package.loaded['codecompanion'] = { setup = function(o) captured.cc = o end }
    package.loaded['avante'] = { setup = function(o) captured.av = o end }
    assert(loadstring(help_block('sandbar-codecompanion'), 'codecompanion recipe'))()
    assert(loadstring(help_block('sandbar-avante'), 'avante recipe'))()

    local entry = captured.cc.strategies.chat.tools.sandbar_run
    T.eq(true, entry.opts.requires_approval, 'codecompanion: approval')
    local tool = entry.callback
    T.eq('sandbar_run', tool.schema['function'].name, 'codecompanion: the schema')
    local leak = T.env.outside .. '/from-a-model'
    -- v20: (self, args, opts) with opts.output_cb.
    local got
    tool.cmds[1](tool, { cmd = 'echo hello; echo leak > ' .. leak }, { output_cb = function(r) got = r end })
    T.wait('the codecompanion tool to answer', function() return got end)
    T.eq('error', got.status, 'codecompanion: the status of a refused write')
    T.contains(got.data, 'hello', 'codecompanion: the output')
    T.contains(got.data, 'The sandbox refused', 'codecompanion: the refusal')
    T.contains(got.data, leak, 'codecompanion: the refusal')
    T.ok(not T.exists(leak), leak .. ' was written')
    -- Before v20: (self, args, input, output_handler).
    got = nil
    tool.cmds[1](tool, { cmd = 'echo fine' }, nil, function(r) got = r end)
    T.wait('the codecompanion tool to answer again', function() return got end)
    T.eq('success', got.status, 'codecompanion: the status')
    T.contains(got.data, 'fine', 'codecompanion: the output')
    T.contains(got.data, 'exited with status 0', 'codecompanion: the status text')
    local shown = {}
    local chat = { add_tool_output = function(_, _, text) table.insert(shown, text) end }
    tool.output.success(tool, { { 'one', 'two' } }, { tools = { chat = chat } })
    tool.output.error(tool, { chat = chat }, { cmd = 'x' }, { 'three' })
    T.eq({ 'one\ntwo', 'three' }, shown, 'codecompanion: what the chat gets')
    tool.args = { cmd = 'make test' }
    T.eq('Run `make test` in the sandbox?', tool.output.prompt(tool), 'codecompanion: the approval prompt')

    T.eq({ 'bash' }, captured.av.disabled_tools, 'avante: disabled tools')
    local av = captured.av.custom_tools[1]
    T.eq('sandbar_run', av.name, 'avante: the name')
    local res, err
    av.func({ command = 'echo hi' }, function() end, function(r, e) res, err = r, e end)
    T.wait('the avante tool to answer', function() return res ~= nil end)
    T.contains(res, 'hi', 'avante: the output')
    T.eq(nil, err, 'avante: the error')
    vim.fn.mkdir(T.env.ws .. '/sub', 'p')
    res, err = nil, nil
    av.func({ command = 'pwd; exit 4', rel_path = 'sub' }, { on_complete = function(r, e) res, err = r, e end })
    T.wait('the avante tool to answer again', function() return res ~= nil end)
    T.eq(false, res, 'avante: the result of a failure')
    T.contains(err, T.env.ws .. '/sub', 'avante: the directory')
    T.contains(err, 'exited with status 4', 'avante: the error')
  end,
}

-- The help file: its tags build without errors (as :helptags ALL or a
-- plugin manager builds them), every |link| in it leads somewhere, and
-- :help finds it.
S.help = {
  setup = { autostart = false },
  run = function(T)
    local dir = T.env.root .. '/help'
    vim.fn.mkdir(dir .. '/doc', 'p')
    vim.fn.writefile(vim.fn.readfile(vim.g.sandbar_test_plugin .. '/doc/sandbar.txt'), dir .. '/doc/sandbar.txt')
    vim.cmd.helptags(dir .. '/doc')
    local tags = {}
    for _, file in ipairs({ dir .. '/doc/tags', vim.env.VIMRUNTIME .. '/doc/tags' }) do
      for line in io.lines(file) do
        tags[line:match('^[^\t]+')] = true
      end
    end
    for _, want in ipairs({ 'sandbar', 'sandbar.run()', ':Sandbar', ':Sandbar-run', ':Sandbar-terminal', 'sandbar-codecompanion', 'sandbar-avante', 'sandbar-setup' }) do
      T.ok(tags[want], 'no help tag ' .. want)
    end
    local text = table.concat(vim.fn.readfile(dir .. '/doc/sandbar.txt'), '\n')
    -- |links|, outside examples (lines indented as code).
    local broken = {}
    for link in text:gmatch('|([^|%s]+)|') do
      if not tags[link] then table.insert(broken, link) end
    end
    T.eq({}, broken, 'links to no tag')
    vim.opt.runtimepath:prepend(dir)
    vim.cmd.help('sandbar.run()')
    T.eq('sandbar.txt', vim.fs.basename(vim.api.nvim_buf_get_name(0)), 'the help buffer')
    T.contains(vim.api.nvim_get_current_line(), '*sandbar.run()*', 'the line :help shows')
  end,
}

-- Loaded the way lazy.nvim loads a plugin on a command: after startup,
-- then setup(); the host starts all the same.
S.lazy_load = {
  lazy = true,
  run = function(T)
    T.eq(0, vim.fn.exists(':Sandbar'), ':Sandbar before the plugin is loaded')
    vim.opt.runtimepath:prepend(vim.g.sandbar_test_plugin)
    vim.cmd.runtime('plugin/sandbar.lua')
    sandbar().setup({ approval_timeout_ms = 5000 })
    T.eq(2, vim.fn.exists(':Sandbar'), ':Sandbar after the plugin is loaded')
    T.wait('the host to start by itself', function() return sandbar().status().ready end)
    local r = T.run({ argv = { 'true' } })
    T.eq(0, r.result.exitCode, 'the exit code')
  end,
}

return S
