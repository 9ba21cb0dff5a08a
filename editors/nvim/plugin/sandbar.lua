-- sandbar: run commands in sandbar's sandbox from Neovim. :help sandbar
if vim.g.loaded_sandbar then return end
vim.g.loaded_sandbar = true

if vim.fn.has('nvim-0.10') ~= 1 then
  vim.notify('sandbar: the plugin needs Neovim 0.10 or later', vim.log.levels.WARN)
  return
end

vim.api.nvim_create_user_command('Sandbar', function(o) require('sandbar.commands').dispatch(o) end, {
  nargs = '*',
  desc = 'sandbar: run, terminal, policy, trust, audit, explain, restart, log',
  complete = function(...) return require('sandbar.commands').complete(...) end,
})

vim.api.nvim_set_hl(0, 'SandbarStderr', { link = 'WarningMsg', default = true })

local group = vim.api.nvim_create_augroup('sandbar', { clear = true })

-- The host starts once Neovim has, so that setup() in the user's config,
-- wherever it is, applies to it.
local function autostart() require('sandbar')._autostart() end
if vim.v.vim_did_enter == 1 then
  vim.schedule(autostart)
else
  vim.api.nvim_create_autocmd('VimEnter', { group = group, once = true, callback = function() vim.schedule(autostart) end })
end

vim.api.nvim_create_autocmd('DirChanged', {
  group = group,
  callback = function() require('sandbar.host').on_dir_changed() end,
})

vim.api.nvim_create_autocmd('VimLeavePre', {
  group = group,
  callback = function()
    if package.loaded['sandbar.host'] then require('sandbar.host').on_exit() end
  end,
})
