-- What the :Sandbar commands show: the output of a run, the violations in
-- the quickfix list, the confined terminal, the policy, the audit log.
local config = require('sandbar.config')
local host = require('sandbar.host')
local run = require('sandbar.run')

local M = {}

local api = vim.api
local ns = api.nvim_create_namespace('sandbar')

local function notify(msg, level)
  vim.notify('sandbar: ' .. msg, level or vim.log.levels.INFO)
end

local function errmsg(err)
  if type(err) == 'table' then return err.message or vim.inspect(err) end
  return tostring(err)
end

-- Scratch buffers.

local function find_buf(name)
  for _, b in ipairs(api.nvim_list_bufs()) do
    if api.nvim_buf_get_name(b) == name then return b end
  end
end

local function scratch(name, filetype)
  local buf = find_buf(name)
  if not buf then
    buf = api.nvim_create_buf(false, true)
    api.nvim_buf_set_name(buf, name)
  end
  vim.bo[buf].buftype = 'nofile'
  vim.bo[buf].bufhidden = 'hide'
  vim.bo[buf].swapfile = false
  vim.bo[buf].filetype = filetype
  vim.keymap.set('n', 'q', '<Cmd>close<CR>', { buffer = buf, nowait = true, desc = 'sandbar: close' })
  return buf
end

local function set_lines(buf, lines)
  vim.bo[buf].modifiable = true
  api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  vim.bo[buf].modified = false
end

-- show puts buf in a window: the one that has it already in this tab, or
-- a new one opened with split.
local function show(buf, split)
  for _, w in ipairs(api.nvim_tabpage_list_wins(0)) do
    if api.nvim_win_get_buf(w) == buf then
      api.nvim_set_current_win(w)
      return w
    end
  end
  vim.cmd(split or config.options.run.split)
  api.nvim_win_set_buf(0, buf)
  return api.nvim_get_current_win()
end

-- Violations.

--- One line about a refusal.
M.describe = run.describe_violation

--- The quickfix items of a result's violations, the re-run's included.
function M.quickfix_items(result)
  local items = {}
  local function add(vs, label)
    for _, v in ipairs(vs or {}) do
      local item = { text = 'sandbar: ' .. label .. M.describe(v), type = v.decision == 'allowed' and 'I' or 'E' }
      if v.path and v.path ~= '' then
        item.filename = v.path
        item.lnum = 1
      else
        item.valid = 0
      end
      table.insert(items, item)
    end
  end
  add(result.violations, '')
  if result.rerun then add(result.rerun.violations, 're-run: ') end
  return items
end

local function status_line(r)
  local status
  if r.cancelled then
    status = 'cancelled'
  elseif r.timedOut then
    status = 'timed out'
  elseif r.signal then
    status = 'killed by ' .. r.signal
  else
    status = 'exit ' .. tostring(r.exitCode)
  end
  local s = ('%s, %.1f s'):format(status, (r.durationMs or 0) / 1000)
  if r.confined == false then s = s .. ', NOT confined' end
  return s
end

-- The output buffer of :Sandbar run.

-- append adds data at the end of buf, continuing its last line; hl
-- highlights it.
local function append(buf, data, hl)
  if not api.nvim_buf_is_valid(buf) then return end
  data = data:gsub('\r\n', '\n'):gsub('\r', '')
  if data == '' then return end
  local pieces = vim.split(data, '\n', { plain = true })
  local last = api.nvim_buf_line_count(buf) - 1
  local col = #api.nvim_buf_get_lines(buf, last, last + 1, true)[1]
  -- Windows whose cursor is on the last line follow the output.
  local following = {}
  for _, w in ipairs(vim.fn.win_findbuf(buf)) do
    if api.nvim_win_get_cursor(w)[1] == last + 1 then table.insert(following, w) end
  end
  vim.bo[buf].modifiable = true
  api.nvim_buf_set_text(buf, last, col, last, col, pieces)
  vim.bo[buf].modifiable = false
  vim.bo[buf].modified = false
  local end_row = last + #pieces - 1
  local end_col = #pieces == 1 and col + #pieces[1] or #pieces[#pieces]
  if hl then
    api.nvim_buf_set_extmark(buf, ns, last, col, { end_row = end_row, end_col = end_col, hl_group = hl })
  end
  for _, w in ipairs(following) do
    api.nvim_win_set_cursor(w, { end_row + 1, 0 })
  end
end

local function append_lines(buf, lines)
  if not api.nvim_buf_is_valid(buf) then return end
  local last = api.nvim_buf_line_count(buf)
  local text = api.nvim_buf_get_lines(buf, last - 1, last, true)[1]
  local prefix = text == '' and '' or '\n'
  append(buf, prefix .. table.concat(lines, '\n') .. '\n')
end

local run_count = 0

--- :Sandbar run {cmd}: runs cmd in the sandbox, its output in a scratch
--- buffer, the violations in the quickfix list at the end.
function M.run_command(line, opts)
  opts = opts or {}
  if not line or line:match('^%s*$') then
    notify('usage: :Sandbar run {command}', vim.log.levels.ERROR)
    return
  end
  run_count = run_count + 1
  local argv = vim.list_extend(vim.deepcopy(config.options.run.shell), { line })
  -- Each run has a buffer of its own.
  local buf = scratch(('sandbar://run/%d'):format(run_count), 'sandbar-run')
  set_lines(buf, { '$ ' .. line, '' })
  api.nvim_buf_set_extmark(buf, ns, 0, 0, { end_col = #line + 2, hl_group = 'Title' })
  -- The window of the last run shows this one.
  local win
  for _, w in ipairs(api.nvim_tabpage_list_wins(0)) do
    if vim.bo[api.nvim_win_get_buf(w)].filetype == 'sandbar-run' then win = w end
  end
  if win then
    api.nvim_win_set_buf(win, buf)
    api.nvim_set_current_win(win)
  else
    show(buf, config.options.run.split)
  end
  vim.cmd('normal! G')
  local r
  r = run.start({
    argv = argv,
    cwd = opts.cwd,
    on_start = function(p)
      if p.rerun then append_lines(buf, { '-- run again, as allowed --' }) end
    end,
    on_stdout = function(data) append(buf, data) end,
    on_stderr = function(data) append(buf, data, 'SandbarStderr') end,
    on_exit = function(result, err)
      vim.b[buf].sandbar_result = result
      if err then
        append_lines(buf, { '[sandbar] ' .. errmsg(err) })
        api.nvim_exec_autocmds('User', { pattern = 'SandbarRunDone', modeline = false, data = { id = r.id, buf = buf } })
        return
      end
      local lines = { ('[sandbar] %s'):format(status_line(result)) }
      for _, v in ipairs(result.violations or {}) do
        table.insert(lines, '  ' .. M.describe(v))
      end
      for _, a in ipairs(result.allowed or {}) do
        table.insert(lines, '[sandbar] allowed ' .. a)
      end
      if result.rerun then
        table.insert(lines, ('[sandbar] re-run: %s'):format(status_line(result.rerun)))
        for _, v in ipairs(result.rerun.violations or {}) do
          table.insert(lines, '  ' .. M.describe(v))
        end
      end
      append_lines(buf, lines)
      local items = M.quickfix_items(result)
      local qf = config.options.run.quickfix
      if #items > 0 and qf then
        vim.fn.setqflist({}, ' ', { title = 'sandbar: ' .. line, items = items, context = { sandbar = r.id } })
        if qf == 'open' then
          vim.cmd('botright copen')
        else
          notify(('%d refused access%s; they are in the quickfix list (:copen)'):format(#items, #items == 1 and '' or 'es'), vim.log.levels.WARN)
        end
      end
      api.nvim_exec_autocmds('User', { pattern = 'SandbarRunDone', modeline = false, data = { id = r.id, buf = buf, result = result } })
    end,
  })
  vim.b[buf].sandbar_run = r.id
  vim.keymap.set('n', '<C-c>', function() r:cancel() end, { buffer = buf, desc = 'sandbar: cancel the run' })
  return r, buf
end

-- :Sandbar terminal

local function shell_argv(shell)
  if shell:find('%s') then return { 'sh', '-c', 'exec ' .. shell } end
  return { shell }
end

local function inside(dir, folders)
  for _, f in ipairs(folders) do
    if dir == f or vim.startswith(dir, f .. '/') then return true end
  end
  return false
end

--- :Sandbar terminal [cmd]: a terminal whose shell (or cmd) runs in the
--- sandbox of the workspace's folders, `sandbar run` with SANDBAR_HOST
--- set, so that its questions come to this Neovim.
function M.terminal(cmdline)
  host.ensure(function(_, err)
    local exe, why = host.executable()
    if not exe then
      notify(why, vim.log.levels.ERROR)
      return
    end
    local folders = host.folders()
    local argv = { exe, 'run' }
    for _, f in ipairs(folders) do
      vim.list_extend(argv, { '--workspace', f })
    end
    table.insert(argv, '--')
    if cmdline and not cmdline:match('^%s*$') then
      vim.list_extend(argv, { 'sh', '-c', cmdline })
    else
      vim.list_extend(argv, shell_argv(config.options.terminal.shell or vim.o.shell))
    end
    local env = {}
    local sock = vim.tbl_get(host.status(), 'info', 'hostSocket')
    if sock and sock ~= '' then
      env.SANDBAR_HOST = sock
    else
      notify(('the host is not running (%s): the terminal asks its questions itself'):format(err or 'no host socket'), vim.log.levels.WARN)
    end
    local cwd = vim.fn.getcwd()
    if not inside(cwd, folders) then cwd = folders[1] end
    vim.cmd(config.options.terminal.split)
    local buf = api.nvim_create_buf(true, false)
    api.nvim_win_set_buf(0, buf)
    -- (An empty table would reach Vimscript as a list, not a dict.)
    local opts = { cwd = cwd, env = next(env) and env or nil }
    local job
    if vim.fn.has('nvim-0.11') == 1 then
      opts.term = true
      job = vim.fn.jobstart(argv, opts)
    else
      job = vim.fn.termopen(argv, opts)
    end
    if job <= 0 then
      notify('could not start ' .. table.concat(argv, ' '), vim.log.levels.ERROR)
      return
    end
    vim.b[buf].sandbar_terminal = { job = job, argv = argv, host = env.SANDBAR_HOST }
    api.nvim_exec_autocmds('User', { pattern = 'SandbarTerminal', modeline = false, data = { buf = buf, job = job } })
    vim.cmd.startinsert()
  end)
end

-- :Sandbar policy

local function source(r)
  if not r.file or r.file == '' then return '' end
  if not r.uri then
    -- Not a file: the built-in default.
    return r.line and ('%s, line %d'):format(r.file:gsub('^%((.*)%)$', '%1'), r.line) or r.file
  end
  if not r.line then return r.file end
  return ('%s:%d:%d'):format(r.file, r.line, r.column or 1)
end

-- table_lines lays rows of cells out in columns, the last one free.
local function table_lines(rows, indent)
  local widths = {}
  for _, row in ipairs(rows) do
    for i = 1, #row - 1 do
      widths[i] = math.min(math.max(widths[i] or 0, vim.fn.strdisplaywidth(row[i])), 48)
    end
  end
  local out = {}
  for _, row in ipairs(rows) do
    local cells = {}
    for i, cell in ipairs(row) do
      if i < #row then cell = cell .. string.rep(' ', math.max(widths[i] - vim.fn.strdisplaywidth(cell), 0)) end
      table.insert(cells, cell)
    end
    table.insert(out, indent .. table.concat(cells, '  '))
  end
  return out
end

--- The lines that show a sandbar/policy answer.
function M.policy_lines(p)
  local lines = {
    ('sandbar policy for %s (generation %d, backend %s)'):format(vim.uri_to_fname(p.folder), p.generation or 0, p.backend or '?'),
    '',
    'Folders (writable):',
  }
  for _, f in ipairs(p.folders or {}) do
    table.insert(lines, '  ' .. vim.uri_to_fname(f))
  end
  -- The files whose entries are ignored: the untrusted ones that widen.
  local ignoring = {}
  for _, r in ipairs(p.ignored or {}) do
    if r.file then ignoring[r.file] = true end
  end
  table.insert(lines, '')
  table.insert(lines, 'Files:')
  for _, f in ipairs(p.files or {}) do
    local what = 'your policy'
    if f.folder then
      what = 'workspace policy'
      if f.trusted then
        what = what .. ', trusted'
      elseif ignoring[f.path] then
        what = what .. ', not trusted: what it widens is ignored until :Sandbar trust'
      end
    end
    table.insert(lines, ('  %s  (%s)'):format(f.path, what))
  end
  local rows = {}
  for _, r in ipairs(p.rules or {}) do
    table.insert(rows, { r.key, r.value, source(r) })
  end
  table.insert(lines, '')
  table.insert(lines, 'Rules:')
  vim.list_extend(lines, table_lines(rows, '  '))
  if p.ignored and #p.ignored > 0 then
    rows = {}
    for _, r in ipairs(p.ignored) do
      table.insert(rows, { r.key, r.value, r.reason or '', source(r) })
    end
    table.insert(lines, '')
    table.insert(lines, 'Ignored, from files that are not trusted:')
    vim.list_extend(lines, table_lines(rows, '  '))
  end
  if p.warnings and #p.warnings > 0 then
    table.insert(lines, '')
    table.insert(lines, 'Warnings:')
    for _, w in ipairs(p.warnings) do
      table.insert(lines, '  ' .. w)
    end
  end
  return lines
end

--- :Sandbar policy: the sandbox in force, in a scratch buffer.
function M.policy_show(folder)
  local params = vim.empty_dict()
  if folder and folder ~= '' then params = { folder = vim.fn.fnamemodify(folder, ':p'):gsub('/$', '') } end
  host.request('sandbar/policy', params, function(err, p)
    if err then
      notify('policy: ' .. errmsg(err), vim.log.levels.ERROR)
      return
    end
    local buf = scratch('sandbar://policy', 'sandbar-policy')
    set_lines(buf, M.policy_lines(p))
    show(buf, config.options.run.split)
    api.nvim_exec_autocmds('User', { pattern = 'SandbarPolicyShown', modeline = false, data = { buf = buf } })
  end)
end

--- The user's own policy file, as sandbar finds it.
function M.user_policy_path()
  local base = vim.env.XDG_CONFIG_HOME
  if not base or base == '' or base:sub(1, 1) ~= '/' then base = vim.fs.joinpath(vim.env.HOME or '~', '.config') end
  return vim.fs.joinpath(base, 'sandbar', 'policy.jsonc')
end

--- :Sandbar policy edit [user|folder]: opens a policy file; a new one
--- starts from a template and its directory is made when it is saved.
function M.policy_edit(which)
  local path
  if which == 'user' then
    path = M.user_policy_path()
  else
    local folder = (which and which ~= '') and which or host.folders()[1]
    path = vim.fs.joinpath(vim.fn.fnamemodify(folder, ':p'):gsub('/$', ''), '.sandbar', 'policy.jsonc')
  end
  local new = vim.fn.filereadable(path) == 0
  vim.cmd.edit(vim.fn.fnameescape(path))
  local buf = api.nvim_get_current_buf()
  if new and api.nvim_buf_line_count(buf) == 1 and api.nvim_buf_get_lines(buf, 0, 1, true)[1] == '' then
    api.nvim_buf_set_lines(buf, 0, -1, false, {
      '// sandbar reads this file to decide what the commands it runs in this',
      "// folder may do. The format is described in sandbar's docs/policy-schema.md.",
      '{',
      '  "version": 1',
      '}',
    })
    api.nvim_create_autocmd('BufWritePre', {
      buffer = buf,
      once = true,
      callback = function() vim.fn.mkdir(vim.fs.dirname(path), 'p') end,
    })
  end
end

-- :Sandbar trust

--- :Sandbar trust [folder]: asks the host to trust the folder's policy
--- file as it is; the host asks you.
function M.trust(folder)
  folder = (folder and folder ~= '') and vim.fn.fnamemodify(folder, ':p'):gsub('/$', '') or host.folders()[1]
  host.request('sandbar/trust', { folder = folder }, function(err, res)
    if err then
      notify('trust: ' .. errmsg(err), vim.log.levels.ERROR)
      return
    end
    local msg
    if res.trusted and (res.answer == nil or res.answer == '') then
      if #(res.widens or {}) == 0 then
        msg = res.path .. ' widens nothing: there is nothing to trust'
      else
        msg = res.path .. ' is trusted already'
      end
    elseif res.trusted then
      msg = res.path .. ' is trusted as it is now'
    else
      msg = ('%s is not trusted (%s): what it widens stays ignored'):format(res.path, res.answer or 'no answer')
    end
    notify(msg)
    api.nvim_exec_autocmds('User', { pattern = 'SandbarTrust', modeline = false, data = res })
  end)
end

-- :Sandbar audit

--- :Sandbar audit [n]: the last n entries of sandbar's audit log.
function M.audit(n)
  local exe, why = host.executable()
  if not exe then
    notify(why, vim.log.levels.ERROR)
    return
  end
  n = tonumber(n) or 50
  vim.system({ exe, 'audit', '-n', tostring(n) }, { text = true }, vim.schedule_wrap(function(out)
    local text = (out.stdout or '') .. (out.stderr or '')
    if out.code ~= 0 then
      notify('audit: ' .. vim.trim(text), vim.log.levels.ERROR)
      return
    end
    local buf = scratch('sandbar://audit', 'sandbar-audit')
    set_lines(buf, vim.split(vim.trim(text), '\n', { plain = true }))
    show(buf, config.options.run.split)
    api.nvim_exec_autocmds('User', { pattern = 'SandbarAuditShown', modeline = false, data = { buf = buf } })
  end))
end

-- :Sandbar explain

--- :Sandbar explain {cmd}: the bubblewrap command line that would run cmd.
function M.explain(line)
  if not line or line:match('^%s*$') then
    notify('usage: :Sandbar explain {command}', vim.log.levels.ERROR)
    return
  end
  local argv = vim.list_extend(vim.deepcopy(config.options.run.shell), { line })
  host.request('sandbar/explain', { argv = argv, cwd = vim.fn.getcwd() }, function(err, res)
    if err then
      notify('explain: ' .. errmsg(err), vim.log.levels.ERROR)
      return
    end
    local buf = scratch('sandbar://explain', 'sh')
    set_lines(buf, vim.split(res.text, '\n', { plain = true }))
    show(buf, config.options.run.split)
  end)
end

-- :Sandbar log

local level_names = { 'error', 'warning', 'info', 'log' }

--- :Sandbar log: the host's recent log.
function M.log()
  local lines = {}
  for _, l in ipairs(host.status().log) do
    table.insert(lines, ('%s [%s] %s'):format(os.date('%H:%M:%S', l.time), level_names[l.type] or '?', l.message))
  end
  if #lines == 0 then lines = { 'The host has logged nothing yet.' } end
  local buf = scratch('sandbar://log', 'sandbar-log')
  set_lines(buf, lines)
  show(buf, config.options.run.split)
end

return M
