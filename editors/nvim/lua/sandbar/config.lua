-- The plugin's settings: the defaults, and what setup() merged into them.
local M = {}

---@class sandbar.Config
M.defaults = {
  -- The sandbar executable: a name looked up in $PATH, or a path.
  cmd = 'sandbar',
  -- Start the host when Neovim has started (or when the plugin is loaded
  -- later). With false it starts at the first command or API call.
  autostart = true,
  -- Folders always in the workspace, besides the project's root.
  folders = {},
  -- What marks a project's root, searched upward from the current
  -- directory; the directory itself when none is found. `.git` is what
  -- `sandbar run` itself looks for.
  root_markers = { '.git' },
  -- Add the root of the new current directory to the workspace on :cd.
  follow_cwd = true,
  -- How long a prompt waits for an answer before it means Deny (ms);
  -- nil: the host's default (60 s).
  approval_timeout_ms = nil,
  -- Restart a host that died, at most `max` times within `within_ms`.
  restart = { max = 5, within_ms = 60000 },
  run = {
    -- How :Sandbar run opens its output buffer.
    split = 'botright 12split',
    -- The shell that runs the command line of :Sandbar run.
    shell = { 'sh', '-c' },
    -- Violations in the quickfix list: 'set' fills it, 'open' also
    -- opens it, false leaves it alone.
    quickfix = 'set',
  },
  terminal = {
    -- How :Sandbar terminal opens its window.
    split = 'botright split',
    -- The confined shell; nil means 'shell'.
    shell = nil,
  },
}

---@type sandbar.Config
M.options = vim.deepcopy(M.defaults)

-- Lists are replaced whole, not merged item by item.
local lists = { { 'folders' }, { 'root_markers' }, { 'run', 'shell' } }

function M.set(opts)
  opts = opts or {}
  local merged = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), opts)
  for _, path in ipairs(lists) do
    local v = vim.tbl_get(opts, unpack(path))
    if v ~= nil then
      local t = merged
      for i = 1, #path - 1 do
        t = t[path[i]]
      end
      t[path[#path]] = vim.deepcopy(v)
    end
  end
  M.options = merged
  return M.options
end

return M
