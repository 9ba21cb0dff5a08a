package workspace

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Follower keeps a set of folders' Policies current while commands run:
// it watches the policy files and reloads them when one is saved, so a
// decision made later (may this connection go out?) reads the policy as it
// is now. An edit that does not parse keeps the last good Policies in
// force and is reported.
type Follower struct {
	opts     Options
	cur      atomic.Pointer[Policies]
	w        *fsnotify.Watcher
	onChange func(*Policies, error)
	wg       sync.WaitGroup

	mu      sync.Mutex
	watched map[string]bool
	// wanted are directories to watch that do not exist yet; an
	// existing ancestor of each is watched instead until they appear.
	wanted map[string]bool
}

// settle is how long a burst of events (an editor's write, rename and
// chmod of one save) is left to end before the files are read again.
const settle = 30 * time.Millisecond

// Follow starts following the policies of opts, of which first is the
// current state. onChange, if set, is called after each reload with the
// new Policies, or with the error that kept the old ones in force.
func Follow(opts Options, first *Policies, onChange func(*Policies, error)) (*Follower, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watching policy files: %w", err)
	}
	f := &Follower{opts: opts, w: w, onChange: onChange, watched: map[string]bool{}, wanted: map[string]bool{}}
	f.cur.Store(first)
	// A policy file is saved by replacing it as often as by writing it,
	// so the directories are watched, not the files. A folder is watched
	// too, for its .sandbar directory to appear.
	if opts.UserPolicy != "" {
		f.watch(filepath.Dir(opts.UserPolicy))
	}
	for _, folder := range first.Folders {
		f.watch(folder)
		f.watch(filepath.Join(folder, filepath.Dir(PolicyFileName)))
	}
	f.wg.Add(1)
	go f.loop()
	return f, nil
}

// Current returns the policies in force.
func (f *Follower) Current() *Policies { return f.cur.Load() }

// Close stops following.
func (f *Follower) Close() error {
	err := f.w.Close()
	f.wg.Wait()
	return err
}

func (f *Follower) watch(dir string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.watchLocked(dir)
}

func (f *Follower) watchLocked(dir string) {
	if f.watched[dir] {
		return
	}
	if f.w.Add(dir) == nil {
		f.watched[dir] = true
		delete(f.wanted, dir)
		return
	}
	// Not there yet (~/.config/sandbar before the user writes a policy):
	// watch the nearest ancestor that exists, and come back when
	// something is created in it.
	f.wanted[dir] = true
	for up := filepath.Dir(dir); up != dir; dir, up = up, filepath.Dir(up) {
		if f.watched[up] {
			return
		}
		if f.w.Add(up) == nil {
			f.watched[up] = true
			return
		}
	}
}

// created is told of every creation in a watched directory; it reports
// whether a wanted directory (or the way to one) appeared.
func (f *Follower) created(path string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	found := false
	for dir := range f.wanted {
		if dir == path || strings.HasPrefix(dir, path+"/") {
			found = true
			f.watchLocked(dir)
		}
	}
	return found
}

// relevant reports whether an event on path may change the policies.
func (f *Follower) relevant(path string) bool {
	if f.opts.UserPolicy != "" && path == f.opts.UserPolicy {
		return true
	}
	for _, folder := range f.cur.Load().Folders {
		dir := filepath.Join(folder, filepath.Dir(PolicyFileName))
		if path == dir || path == filepath.Join(folder, PolicyFileName) {
			return true
		}
	}
	return false
}

func (f *Follower) loop() {
	defer f.wg.Done()
	var timer <-chan time.Time
	for {
		select {
		case ev, ok := <-f.w.Events:
			if !ok {
				return
			}
			appeared := ev.Has(fsnotify.Create) && f.created(ev.Name)
			if !appeared && !f.relevant(ev.Name) {
				continue
			}
			timer = time.After(settle)
		case _, ok := <-f.w.Errors:
			if !ok {
				return
			}
			// The kernel dropped events; read everything again.
			timer = time.After(settle)
		case <-timer:
			timer = nil
			f.reload()
		}
	}
}

func (f *Follower) reload() {
	ps, err := LoadPolicies(f.opts)
	if err == nil {
		f.cur.Store(ps)
	}
	if f.onChange != nil {
		f.onChange(ps, err)
	}
}
