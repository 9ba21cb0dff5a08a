-- :checkhealth sandbar: the binary, what `sandbar doctor` finds, the host
-- and the policy it has in force.
local host = require('sandbar.host')

local M = {}

local health = vim.health

-- doctor_findings reads `sandbar doctor`'s report: a line per finding,
-- "ok   id: text", "warn id: text" or "FAIL id: text", then its advice
-- indented under "fix:".
local function doctor_findings(text)
  local findings = {}
  for line in vim.gsplit(text, '\n', { plain = true }) do
    local status, rest = line:match('^(%a+)%s+(.*)$')
    if status == 'ok' or status == 'warn' or status == 'FAIL' then
      table.insert(findings, { status = status, text = rest, advice = {} })
    elseif #findings > 0 and line:match('^%s+%S') then
      local advice = findings[#findings].advice
      local fix = line:match('^%s+fix:%s*(.*)$')
      table.insert(advice, fix or vim.trim(line))
    end
  end
  return findings
end
M._doctor_findings = doctor_findings

local function check_binary()
  health.start('sandbar: the sandbar binary')
  if vim.fn.has('nvim-0.10') == 1 then
    health.ok('Neovim ' .. tostring(vim.version()))
  else
    health.error('Neovim ' .. tostring(vim.version()) .. ' is too old', { 'the plugin needs Neovim 0.10 or later' })
  end
  local exe, why = host.executable()
  if not exe then
    health.error('sandbar not found: ' .. why, { 'install sandbar (go build -o ~/.local/bin/sandbar ./cmd/sandbar)', 'or set require("sandbar").setup({ cmd = "/path/to/sandbar" })' })
    return nil
  end
  local out = vim.system({ exe, 'version' }, { text = true }):wait(10000)
  if out.code ~= 0 then
    health.error(('%s version failed (status %s): %s'):format(exe, tostring(out.code), vim.trim((out.stderr or '') .. (out.stdout or ''))))
    return nil
  end
  health.ok(('%s (%s)'):format(exe, vim.trim(out.stdout)))
  return exe
end

local function check_doctor(exe)
  health.start('sandbar: sandbar doctor')
  local out = vim.system({ exe, 'doctor' }, { text = true }):wait(60000)
  if out.code == nil then
    health.error('sandbar doctor did not finish within 60 s')
    return
  end
  local findings = doctor_findings(out.stdout or '')
  if #findings == 0 then
    health.error(('sandbar doctor printed no findings (status %s): %s'):format(tostring(out.code), vim.trim((out.stderr or '') .. (out.stdout or ''))))
    return
  end
  for _, f in ipairs(findings) do
    if f.status == 'ok' then
      health.ok(f.text)
    elseif f.status == 'warn' then
      health.warn(f.text, f.advice)
    else
      health.error(f.text, f.advice)
    end
  end
  if out.code ~= 0 and out.code ~= 1 then
    health.error(('sandbar doctor ended with status %d: %s'):format(out.code, vim.trim(out.stderr or '')))
  end
end

local function check_host()
  health.start('sandbar: the editor host (sandbar serve)')
  local c, err = host.wait_ready(15000)
  local st = host.status()
  if not c then
    health.error('the host is not running: ' .. tostring(err), { ':Sandbar log, and the LSP log (:lua vim.cmd.edit(vim.lsp.get_log_path())), say more', ':Sandbar restart starts it again' })
    return
  end
  health.ok(('running: client %d, pid %s, %s %s'):format(st.client_id, tostring(st.pid or '?'), vim.tbl_get(st, 'server', 'name') or 'sandbar', vim.tbl_get(st, 'server', 'version') or '?'))
  local info = st.info or {}
  if info.backend == nil or info.backend == 'none' then
    health.error('no sandbox backend on this machine: every run fails', { 'sandbar confines commands with bubblewrap on Linux; see sandbar doctor above' })
  elseif not info.version or info.version == '' then
    health.error(('backend %s cannot be run'):format(info.backend), { 'see sandbar doctor above' })
  else
    health.ok(('backend %s %s, enforces %s'):format(info.backend, info.version, table.concat(info.enforces or {}, ', ')))
  end
  if info.hostSocket and info.hostSocket ~= '' then
    health.ok('terminals ask this editor through ' .. info.hostSocket)
  else
    health.warn('the host has no socket for terminals', { '`sandbar run` in :Sandbar terminal asks on the terminal instead; :Sandbar log says why' })
  end
  health.info('workspace folders: ' .. table.concat(st.folders, ', '))
  if st.restarts > 0 then
    health.warn(('the host died and was started again %d time(s)'):format(st.restarts), { 'its stderr in the LSP log (vim.lsp.get_log_path()) may say why' })
  end

  -- The policy: wait for its first load, which follows initialize.
  vim.wait(5000, function() return host.status().applied ~= nil end, 10)
  local applied = host.status().applied
  if not applied then
    health.warn('the host has not reported loading the policy yet')
  elseif applied.ok then
    health.ok(('policy loaded (generation %d)'):format(applied.generation))
  else
    local advice = {}
    for _, e in ipairs(applied.errors or {}) do
      if e.file then
        table.insert(advice, ('%s:%d:%d: %s'):format(e.file, e.line or 0, e.column or 0, e.message))
      else
        table.insert(advice, e.message)
      end
    end
    health.error(('the policy has %d error(s) (generation %d)'):format(#(applied.errors or {}), applied.generation), advice)
  end
end

function M.check()
  local exe = check_binary()
  if not exe then return end
  check_doctor(exe)
  check_host()
end

return M
