-- :Sandbar {subcommand} and its completion.
local M = {}

local function ui() return require('sandbar.ui') end
local function host() return require('sandbar.host') end

local function complete_command(arglead, words)
  -- The command's first word is a program; the rest are files.
  if #words <= 3 then return vim.fn.getcompletion(arglead, 'shellcmd') end
  return vim.fn.getcompletion(arglead, 'file')
end

local function complete_folders(arglead)
  local out = {}
  for _, f in ipairs(host().folders()) do
    if vim.startswith(f, arglead) then table.insert(out, f) end
  end
  if #out == 0 then return vim.fn.getcompletion(arglead, 'dir') end
  return out
end

local function filter(items, arglead)
  return vim.tbl_filter(function(s) return vim.startswith(s, arglead) end, items)
end

M.subcommands = {
  run = {
    desc = 'run {cmd}: run a command in the sandbox; output in a buffer, violations in the quickfix list',
    fn = function(rest) ui().run_command(rest) end,
    complete = complete_command,
  },
  terminal = {
    desc = 'terminal [cmd]: a terminal with a confined shell (or cmd) whose questions come here',
    fn = function(rest) ui().terminal(rest) end,
    complete = complete_command,
  },
  policy = {
    desc = 'policy [show [folder] | edit [folder] | user]: the sandbox in force, or a policy file to edit',
    fn = function(rest)
      local sub, arg = rest:match('^(%S*)%s*(.-)%s*$')
      if sub == '' or sub == 'show' then
        ui().policy_show(arg)
      elseif sub == 'edit' then
        ui().policy_edit(arg)
      elseif sub == 'user' then
        ui().policy_edit('user')
      else
        ui().policy_show(sub)
      end
    end,
    complete = function(arglead, words)
      if #words <= 3 then return filter({ 'show', 'edit', 'user' }, arglead) end
      if words[3] == 'show' or words[3] == 'edit' then return complete_folders(arglead) end
      return {}
    end,
  },
  trust = {
    desc = "trust [folder]: approve the folder's policy file as it is now",
    fn = function(rest) ui().trust(vim.trim(rest)) end,
    complete = function(arglead, words)
      if #words <= 3 then return complete_folders(arglead) end
      return {}
    end,
  },
  audit = {
    desc = "audit [n]: the last n entries of sandbar's audit log",
    fn = function(rest) ui().audit(vim.trim(rest)) end,
    complete = function(arglead, words)
      if #words <= 3 then return filter({ '20', '50', '100', '0' }, arglead) end
      return {}
    end,
  },
  explain = {
    desc = 'explain {cmd}: the bubblewrap command line that would run cmd',
    fn = function(rest) ui().explain(rest) end,
    complete = complete_command,
  },
  restart = {
    desc = 'restart: stop the host and start a new one',
    fn = function() host().restart() end,
  },
  log = {
    desc = "log: the host's recent log",
    fn = function() ui().log() end,
  },
}

function M.names()
  local names = vim.tbl_keys(M.subcommands)
  table.sort(names)
  return names
end

local function usage()
  local lines = { 'usage: :Sandbar {subcommand}' }
  for _, name in ipairs(M.names()) do
    table.insert(lines, '  ' .. M.subcommands[name].desc)
  end
  return table.concat(lines, '\n')
end

--- Runs :Sandbar with the arguments of nvim_create_user_command.
function M.dispatch(o)
  local sub, rest = o.args:match('^%s*(%S+)%s*(.-)$')
  if not sub then
    vim.notify(usage(), vim.log.levels.INFO)
    return
  end
  local c = M.subcommands[sub]
  if not c then
    vim.notify(('sandbar: unknown subcommand %q\n%s'):format(sub, usage()), vim.log.levels.ERROR)
    return
  end
  c.fn(rest, o)
end

--- Completes :Sandbar's arguments.
function M.complete(arglead, cmdline, cursorpos)
  local words = vim.split(cmdline:sub(1, cursorpos), '%s+')
  if #words <= 2 then return filter(M.names(), arglead) end
  local c = M.subcommands[words[2]]
  if c and c.complete then return c.complete(arglead, words) end
  return {}
end

return M
