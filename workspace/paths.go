package workspace

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/sandbar-dev/sandbar/confine"
	"github.com/sandbar-dev/sandbar/workspace/policy"
)

type rule struct {
	access confine.Access
	dir    bool
	why    string
	layer  int
}

// buildPaths turns the layers (default, user, each workspace policy; paths
// already absolute) into the sandbox's path rules. At one path a later
// layer wins over an earlier one, so the user can re-allow a path the
// built-in default hides and a repository can hide a path the user allowed;
// within one layer the narrower access wins. Protected paths come last and
// win over everything.
func (sb *Sandbox) buildPaths(layers []*policy.Policy, opts Options, cached func(root string) *scan) error {
	rules := map[string]rule{}
	add := func(path string, r rule) {
		old, ok := rules[path]
		if !ok || r.layer > old.layer || (r.layer == old.layer && rank(r.access) > rank(old.access)) {
			rules[path] = r
		}
	}
	res := newResolver()
	for i, folder := range sb.Folders {
		add(folder, rule{access: confine.ReadWrite, dir: true, why: fmt.Sprintf("workspace folder %d", i+1)})
	}
	for li, p := range layers {
		layer := li + 1
		entries := []struct {
			vs     []policy.Value
			access confine.Access
			key    string
		}{
			{p.Filesystem.DenyRead, confine.Hidden, "denyRead"},
			{p.Filesystem.AllowRead, confine.ReadOnly, "allowRead"},
			{p.Filesystem.AllowWrite, confine.ReadWrite, "allowWrite"},
			{p.Filesystem.DenyWrite, confine.ReadOnly, "denyWrite"},
		}
		for _, e := range entries {
			for _, v := range e.vs {
				r, exists, err := res.resolve(v.Text)
				if err != nil {
					sb.Warnings = append(sb.Warnings, fmt.Sprintf("%s: %s %q: %v", v.Pos, e.key, v.Text, err))
					continue
				}
				if !exists {
					// Nothing to hide or to bind. A missing allowWrite
					// target is worth a word: the user expects to write it.
					if e.access == confine.ReadWrite {
						sb.Warnings = append(sb.Warnings, fmt.Sprintf("%s: allowWrite %q does not exist; create it to make it writable", v.Pos, v.Text))
					}
					continue
				}
				if e.access != confine.Hidden {
					if f := linkInside(v.Text, sb.Folders); f != "" && !within(r, f) {
						sb.Warnings = append(sb.Warnings, fmt.Sprintf("%s: %s %q is not applied: it leads out of the workspace folder %s through a symbolic link inside it, which commands in the sandbox can change; name the real path (%s) instead", v.Pos, e.key, v.Text, f, r))
						continue
					}
				}
				add(r, rule{access: e.access, dir: res.isDir(r), why: fmt.Sprintf("%s %s", e.key, v.Pos), layer: layer})
			}
		}
		for _, name := range p.Presets {
			for _, raw := range policy.PresetPaths(name.Text) {
				abs, err := policy.ExpandPath(raw, opts.Home, "/")
				if err != nil {
					continue
				}
				r, exists, err := res.resolve(abs)
				if err != nil || !exists {
					continue
				}
				add(r, rule{access: confine.ReadWrite, dir: res.isDir(r), why: fmt.Sprintf("preset %s (%s)", name.Text, name.Pos), layer: layer})
			}
		}
	}

	// Hidden whatever the layers say: no entry can open them.
	for _, h := range opts.HiddenPaths {
		if r, exists, err := res.resolve(h); err == nil && exists {
			add(r, rule{access: confine.Hidden, dir: res.isDir(r), why: "sandbar's own secrets", layer: len(layers) + 1})
		}
	}

	// What is writable now decides what must be protected.
	var paths []confine.Path
	for p, r := range rules {
		paths = append(paths, confine.Path{Path: p, Access: r.access, Dir: r.dir, Why: r.why})
	}
	spec := confine.Spec{Paths: paths}
	var roots []string
	for _, p := range paths {
		if p.Access == confine.ReadWrite && p.Dir {
			roots = append(roots, p.Path)
		}
	}
	sort.Strings(roots)
	prot := protector{home: opts.Home, cache: opts.ScanCache, cached: cached, now: sb.now, res: res, writable: func(path string) bool {
		return spec.AccessOf(path).Access == confine.ReadWrite
	}}
	for _, own := range opts.OwnPaths {
		prot.protect(own, "sandbar's own configuration")
	}
	prot.scan(roots)

	for _, p := range prot.found {
		if r, ok := rules[p.Path]; ok && r.access == confine.Hidden {
			continue // hidden is narrower still
		}
		rules[p.Path] = rule{access: confine.ReadOnly, dir: p.Dir, why: p.Why, layer: len(layers) + 1}
	}
	sb.Paths = sb.Paths[:0]
	for p, r := range rules {
		sb.Paths = append(sb.Paths, confine.Path{Path: p, Access: r.access, Dir: r.dir, Why: r.why})
	}
	sort.Slice(sb.Paths, func(i, j int) bool { return sb.Paths[i].Path < sb.Paths[j].Path })
	sb.Pin = prot.pins(roots)
	sb.Watch = prot.missing
	sb.Repos = prot.repos
	sb.scans = prot.scans
	sb.cache = opts.ScanCache
	sb.Warnings = append(sb.Warnings, prot.warnings...)
	return nil
}

func rank(a confine.Access) int {
	switch a {
	case confine.Hidden:
		return 2
	case confine.ReadOnly:
		return 1
	}
	return 0
}

// Spec is the confine.Spec that runs argv in dir (which must be visible in
// the sandbox) in this sandbox.
func (sb *Sandbox) Spec(argv []string, dir string) (confine.Spec, error) {
	if dir == "" {
		dir = sb.Folders[0]
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return confine.Spec{}, err
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	}
	s := confine.Spec{
		Argv:  argv,
		Dir:   abs,
		Env:   sb.Env,
		Paths: sb.Paths,
		Pin:   sb.Pin,
	}
	for _, w := range sb.Watch {
		s.Uncreatable = append(s.Uncreatable, confine.Path{Path: w.Path, Access: confine.ReadOnly, Why: w.Rule})
	}
	if a := s.AccessOf(abs); a.Access == confine.Hidden {
		return confine.Spec{}, fmt.Errorf("working directory %s is hidden in the sandbox (%s)", dir, a.Why)
	}
	return s, nil
}

// EnsureCaches creates the missing directories of the effective policy's
// presets, so that a toolchain's first run in the sandbox can fill them.
// It reports what it created.
func (sb *Sandbox) EnsureCaches() ([]string, error) {
	var made []string
	for _, name := range sb.Effective.Presets {
		for _, raw := range policy.PresetPaths(name.Text) {
			abs, err := policy.ExpandPath(raw, sb.home, "/")
			if err != nil {
				continue
			}
			if _, err := os.Lstat(abs); err == nil {
				continue
			}
			if err := os.MkdirAll(abs, 0o700); err != nil {
				return made, fmt.Errorf("creating cache %s for preset %s: %w", abs, name.Text, err)
			}
			made = append(made, abs)
		}
	}
	return made, nil
}
