-- The init of the tests' Neovim: the plugin from this tree, nothing of
-- the user's. test.sh runs each scenario (SANDBAR_TEST_SCENARIO) in a
-- Neovim of its own.
local here = vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2))
local plugin = vim.fs.dirname(here)
vim.opt.runtimepath:prepend(here)
vim.o.swapfile = false
vim.o.shada = ''
vim.o.more = false
vim.g.sandbar_test_plugin = plugin

local name = vim.env.SANDBAR_TEST_SCENARIO or ''
local scenario = require('sandbar_test.scenarios')[name] or {}
if not scenario.lazy then
  -- Where a plugin manager puts it; the lazy-loading scenario adds it
  -- once Neovim has started.
  vim.opt.runtimepath:prepend(plugin)
  if scenario.setup then require('sandbar').setup(scenario.setup) end
end
require('sandbar_test').main(name)
