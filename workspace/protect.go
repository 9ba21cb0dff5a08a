package workspace

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/sandbar-dev/sandbar/confine"
)

// RootNames are protected at the top of every writable folder: writing
// them runs code on the host later, when an editor, agent, shell or git
// opens the folder.
var RootNames = []string{
	".sandbar",
	// Editors and agents that run tasks, servers or plugins from project
	// configuration.
	".vscode", ".idea", ".zed", ".nvim.lua", ".nvimrc", ".exrc", ".lazy.lua",
	".claude", ".mcp.json", ".cursor", ".codex", ".gemini",
	// More agents and editors whose project files start servers, hooks
	// or commands: opencode, Kiro, aider (lint and test commands),
	// Amazon Q, Roo, Windsurf, Continue, Helix (language servers).
	"opencode.json", "opencode.jsonc", ".opencode", ".kiro", ".aider.conf.yml",
	".amazonq", ".roo", ".windsurf", ".continue", ".helix",
	// Tools that run what a file in the project says.
	".envrc", ".pre-commit-config.yaml", ".devcontainer", ".gitconfig", ".gitmodules",
	// Git hook managers whose hooks read their commands from the
	// project: husky's scripts (core.hooksPath names only .husky/_, whose
	// wrappers run .husky/*), lefthook, overcommit.
	".husky", "lefthook.yml", ".lefthook.yml", "lefthook.yaml", ".lefthook.yaml",
	"lefthook.json", "lefthook.toml", "lefthook-local.yml", ".lefthook-local.yml", ".lefthook",
	".overcommit.yml",
	// mise runs hooks, tasks and env scripts from a config it trusts by
	// path, not by content.
	"mise.toml", ".mise.toml", "mise.local.toml", ".mise.local.toml", ".mise", ".config/mise",
	".config/mise.toml",
	// Shell start-up files, in case the folder is someone's home.
	".bashrc", ".bash_profile", ".bash_login", ".profile", ".zshrc", ".zprofile", ".zshenv",
	".config/fish",
}

// HomeNames are protected in the user's home directory when it is
// writable in the sandbox (a user who opens ~ as a workspace folder):
// each of them makes the user's next shell, login, editor or git run code.
var HomeNames = []string{
	".bashrc", ".bash_profile", ".bash_login", ".bash_logout", ".profile",
	".zshrc", ".zprofile", ".zshenv", ".zlogin", ".zlogout", ".config/fish",
	".gitconfig", ".config/git", ".ssh", ".gnupg",
	".config/sandbar", ".local/state/sandbar",
	".config/autostart", ".config/systemd", ".config/environment.d", ".pam_environment",
	".xprofile", ".xsession", ".xinitrc",
	".vimrc", ".config/nvim", ".emacs", ".emacs.d", ".vscode", ".local/bin", ".npmrc",
}

// gitDirNames are protected in every git directory: hooks run on commit,
// checkout and merge, the config can name any command (core.hooksPath,
// core.fsmonitor, core.sshCommand, filters, aliases), and commondir
// redirects git to another directory's hooks and config.
var gitDirNames = []string{"hooks", "config", "commondir"}

type protector struct {
	home     string
	res      *resolver // nil: a fresh one on first use
	writable func(string) bool
	cache    ScanCache
	cached   func(root string) *scan // the cache's scan of root
	now      func() time.Time
	found    []confine.Path
	// unpinned are found paths whose parents need no pinning.
	unpinned map[string]bool
	missing  []Watched
	repos    []string
	scans    []*scan
	warnings []string
	seen     map[string]bool
}

// maxHardLinks bounds how many hard-linked files are protected with a
// mount each; past it sandbar warns instead.
const maxHardLinks = 1000

// protect makes path read-only if it exists and would be writable, and
// watches it if it does not exist yet.
func (p *protector) protect(path, why string) {
	if p.seen == nil {
		p.seen = map[string]bool{}
	}
	if p.res == nil {
		p.res = newResolver()
	}
	r, exists, err := p.res.resolve(path)
	if err != nil || p.seen[r] {
		return
	}
	p.seen[r] = true
	if !p.writable(r) {
		return
	}
	if !exists {
		p.missing = append(p.missing, Watched{Path: r, Rule: why})
		return
	}
	p.found = append(p.found, confine.Path{Path: r, Access: confine.ReadOnly, Dir: p.res.isDir(r), Why: why})
}

func (p *protector) scan(roots []string) {
	var walked []string
	for _, root := range roots {
		for _, name := range RootNames {
			p.protect(filepath.Join(root, name), "protected: "+name)
		}
		if p.home != "" && (within(p.home, root) || within(root, p.home)) {
			for _, name := range HomeNames {
				p.protect(filepath.Join(p.home, name), "protected: ~/"+name)
			}
		}
		skip := false
		for _, w := range walked {
			if within(root, w) {
				skip = true
			}
		}
		if !skip {
			walked = append(walked, root)
			load := p.cache.load
			if p.cached != nil {
				load = p.cached
			}
			sc := load(root).update(root, p.writable, p.now())
			p.cache.save(sc)
			p.scans = append(p.scans, sc)
			p.fromScan(sc)
		}
	}
	p.globalHooks()
}

// fromScan protects what a scan found: every repository's git files, and
// files that share their inode with another path. A write through a hard
// link changes the other path too, which may lie outside the workspace
// (pnpm's store, a `cp -al` backup); read-only, the shared content cannot
// change from the sandbox.
func (p *protector) fromScan(sc *scan) {
	for _, dir := range sc.repos() {
		mode := os.ModeDir
		if sc.Dirs[dir].Git == 2 {
			mode = 0
		}
		p.repo(dir, filepath.Join(dir, ".git"), mode)
	}
	links := sc.hardLinks()
	if len(links) > maxHardLinks {
		p.warnings = append(p.warnings, fmt.Sprintf("%d files under %s are hard links, more than sandbar protects (%d); the command can change the other copies of %s and %d more", len(links), sc.Root, maxHardLinks, links[maxHardLinks], len(links)-maxHardLinks-1))
		links = links[:maxHardLinks]
	}
	if p.unpinned == nil {
		p.unpinned = map[string]bool{}
	}
	for _, l := range links {
		p.unpinned[l] = true
		p.protect(l, "hard link: its content is shared with another path")
	}
}

// repo protects the repository whose work tree is dir and whose .git entry
// is dotgit.
func (p *protector) repo(dir, dotgit string, mode os.FileMode) {
	p.repos = append(p.repos, dir)
	var gitDir string
	switch {
	case mode&os.ModeDir != 0:
		gitDir = dotgit
	case mode.IsRegular():
		// A linked worktree or a submodule: .git is a file naming the git
		// directory. Rewriting it would point git at a directory of the
		// command's choosing.
		p.protect(dotgit, "protected: .git file")
		b, err := os.ReadFile(dotgit)
		if err != nil {
			return
		}
		target := strings.TrimSpace(strings.TrimPrefix(string(b), "gitdir:"))
		if !filepath.IsAbs(target) {
			target = filepath.Join(dir, target)
		}
		gitDir = filepath.Clean(target)
	default:
		return
	}
	p.gitDir(dir, gitDir, ".git/")
	// A linked worktree's hooks and main config live in the common
	// directory.
	if b, err := os.ReadFile(filepath.Join(gitDir, "commondir")); err == nil {
		common := strings.TrimSpace(string(b))
		if !filepath.IsAbs(common) {
			common = filepath.Join(gitDir, common)
		}
		p.gitDir(dir, filepath.Clean(common), ".git/")
	}
	p.protect(filepath.Join(gitDir, "config.worktree"), "protected: .git/config.worktree")
	// Submodules keep their git directories under modules/, nested.
	p.modules(dir, filepath.Join(gitDir, "modules"))
	if ents, err := os.ReadDir(filepath.Join(gitDir, "worktrees")); err == nil {
		for _, e := range ents {
			wt := filepath.Join(gitDir, "worktrees", e.Name())
			p.protect(filepath.Join(wt, "commondir"), "protected: .git/worktrees/*/commondir")
			p.protect(filepath.Join(wt, "config.worktree"), "protected: .git/worktrees/*/config.worktree")
		}
	}
}

func (p *protector) gitDir(workTree, gitDir, label string) {
	for _, name := range gitDirNames {
		p.protect(filepath.Join(gitDir, name), "protected: "+label+name)
	}
	p.configRefs(workTree, filepath.Join(gitDir, "config"), 0)
}

func (p *protector) modules(workTree, dir string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		sub := filepath.Join(dir, e.Name())
		if _, err := os.Stat(filepath.Join(sub, "HEAD")); err == nil {
			p.gitDir(workTree, sub, ".git/modules/*/")
			p.modules(workTree, filepath.Join(sub, "modules"))
			continue
		}
		// Submodule names may contain slashes.
		p.modules(workTree, sub)
	}
}

// configRefs protects what a git config file points at that could run
// code: the hooks directory (core.hooksPath) and included config files.
func (p *protector) configRefs(workTree, config string, depth int) {
	if depth > 10 {
		return
	}
	b, err := os.ReadFile(config)
	if err != nil {
		return
	}
	for _, kv := range gitConfigValues(b) {
		v := kv.value
		if strings.HasPrefix(v, "~/") && p.home != "" {
			v = filepath.Join(p.home, v[2:])
		}
		switch {
		case kv.key == "core.hookspath":
			if !filepath.IsAbs(v) {
				v = filepath.Join(workTree, v)
			}
			p.protect(filepath.Clean(v), "protected: core.hooksPath of "+config)
		case kv.key == "include.path" || (strings.HasPrefix(kv.key, "includeif.") && strings.HasSuffix(kv.key, ".path")):
			if !filepath.IsAbs(v) {
				v = filepath.Join(filepath.Dir(config), v)
			}
			p.protect(filepath.Clean(v), "protected: included by "+config)
			p.configRefs(workTree, filepath.Clean(v), depth+1)
		}
	}
}

// globalHooks protects the hooks directory the user's global git config
// names, if it is writable in the sandbox.
func (p *protector) globalHooks() {
	if p.home == "" {
		return
	}
	xdg := os.Getenv("XDG_CONFIG_HOME")
	if !filepath.IsAbs(xdg) {
		xdg = filepath.Join(p.home, ".config")
	}
	for _, c := range []string{filepath.Join(p.home, ".gitconfig"), filepath.Join(xdg, "git", "config")} {
		p.configRefs(p.home, c, 0)
	}
}

// pins lists the directories between each writable root and the protected
// paths beneath it. They are made mount points so they cannot be renamed
// or removed: otherwise `mv .git x; mkdir .git` would leave the read-only
// mounts behind on the old directory.
func (p *protector) pins(roots []string) []string {
	set := map[string]bool{}
	add := func(path string) {
		root := ""
		for _, r := range roots {
			if within(path, r) && len(r) > len(root) {
				root = r
			}
		}
		if root == "" {
			return
		}
		for d := filepath.Dir(path); d != root && within(d, root); d = filepath.Dir(d) {
			// A directory that does not exist cannot be pinned (and a
			// command that creates it creates a new path, which Audit
			// checks).
			if isDir(d) {
				set[d] = true
			}
		}
	}
	for _, f := range p.found {
		if !p.unpinned[f.Path] {
			add(f.Path)
		}
	}
	for _, m := range p.missing {
		add(m.Path)
	}
	var out []string
	for d := range set {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

type gitKV struct{ key, value string }

// gitConfigValues reads the keys of a git config file that matter here. It
// is not a full parser: it understands sections, subsections, comments and
// quoted values, which is what git writes and what an attacker can use; an
// unusual spelling it misreads can only cause a path to go unprotected if
// git also reads it differently, which is why config files themselves are
// always read-only.
func gitConfigValues(b []byte) []gitKV {
	var out []gitKV
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			end := strings.IndexByte(line, ']')
			if end < 0 {
				continue
			}
			head := line[1:end]
			name, sub, hasSub := strings.Cut(head, " ")
			section = strings.ToLower(strings.TrimSpace(name))
			if hasSub {
				section += "." + strings.Trim(strings.TrimSpace(sub), `"`)
			} else if i := strings.IndexByte(name, '.'); i >= 0 {
				section = strings.ToLower(name)
			}
			line = strings.TrimSpace(line[end+1:])
			if line == "" {
				continue
			}
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		v = strings.TrimSpace(v)
		if i := strings.IndexAny(v, "#;"); i >= 0 && !strings.HasPrefix(v, `"`) {
			v = strings.TrimSpace(v[:i])
		}
		v = strings.Trim(v, `"`)
		out = append(out, gitKV{key: section + "." + k, value: v})
	}
	return out
}
