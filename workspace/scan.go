package workspace

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// A scan remembers, for every writable directory under a root, what the
// protections need to know: its subdirectories, whether it holds a .git,
// and which of its files are hard links. Finding nested repositories
// needs a walk of the whole tree; a scan lets the next walk read only the
// directories that changed since, so a large workspace costs one lstat
// per directory instead of one getdents per directory and one lstat per
// file.
//
// A directory is unchanged when its inode and ctime are. ctime, unlike
// mtime, cannot be set from user space (utimensat sets it to now), so a
// command cannot hide a new .git by restoring its parent's times.
// Timestamps are coarse, so a directory whose ctime is within racyWindow
// of the moment it was read is read again next time, as git does with
// "racily clean" index entries.
type scan struct {
	Root  string
	At    int64 // unix nanoseconds when the scan started
	Dirs  map[string]*dirInfo
	fresh int // directories read (not reused) by the last update
}

type dirInfo struct {
	Ino   uint64
	Ctime int64
	// Sub are the names of subdirectories (not symlinks).
	Sub []string
	// Git is 0 when the directory has no .git entry, 1 for a .git
	// directory, 2 for a .git file.
	Git uint8
	// Links are the names of regular files with more than one link.
	Links []string
}

const racyWindow = int64(50 * time.Millisecond)

// update walks root again, reusing what prev knew about directories that
// did not change. writable says which directories to walk: a directory
// the command cannot write cannot gain a repository.
func (prev *scan) update(root string, writable func(string) bool, now time.Time) *scan {
	s := &scan{Root: root, At: now.UnixNano(), Dirs: map[string]*dirInfo{}}
	var old map[string]*dirInfo
	var oldAt int64
	if prev != nil && prev.Root == root {
		old, oldAt = prev.Dirs, prev.At
	}
	// Directories are visited in parallel: the walk is a chain of
	// system calls, and waiting for one at a time leaves cores idle.
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		sem  = make(chan struct{}, 2*runtime.GOMAXPROCS(0))
		walk func(dir string)
	)
	walk = func(dir string) {
		defer wg.Done()
		var st syscall.Stat_t
		if err := syscall.Lstat(dir, &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFDIR {
			return
		}
		ctime := ctimeOf(&st)
		mu.Lock()
		info := old[dir]
		mu.Unlock()
		fresh := info == nil || info.Ino != st.Ino || info.Ctime != ctime || ctime >= oldAt-racyWindow
		if fresh {
			info = readDir(dir, st.Ino, ctime)
		}
		mu.Lock()
		s.Dirs[dir] = info
		if fresh {
			s.fresh++
		}
		mu.Unlock()
		for _, name := range info.Sub {
			sub := filepath.Join(dir, name)
			if !writable(sub) {
				continue
			}
			wg.Add(1)
			select {
			case sem <- struct{}{}:
				go func() {
					walk(sub)
					<-sem
				}()
			default:
				walk(sub)
			}
		}
	}
	wg.Add(1)
	walk(root)
	wg.Wait()
	return s
}

func readDir(dir string, ino uint64, ctime int64) *dirInfo {
	info := &dirInfo{Ino: ino, Ctime: ctime}
	f, err := os.Open(dir)
	if err != nil {
		return info
	}
	defer f.Close()
	// Unsorted: File.ReadDir does not sort, unlike os.ReadDir.
	ents, err := f.ReadDir(-1)
	if err != nil {
		return info
	}
	for _, e := range ents {
		name := e.Name()
		t := e.Type()
		switch {
		case name == ".git":
			// Never descend into a git directory: what in it matters is
			// found by name.
			if t.IsDir() {
				info.Git = 1
			} else if t.IsRegular() {
				info.Git = 2
			}
		case t.IsDir():
			info.Sub = append(info.Sub, name)
		case t.IsRegular():
			// Relative to the open directory: one path component to
			// resolve instead of the whole path, for every file.
			var st unix.Stat_t
			if unix.Fstatat(int(f.Fd()), name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Nlink > 1 {
				info.Links = append(info.Links, name)
			}
		}
	}
	sort.Strings(info.Sub)
	sort.Strings(info.Links)
	return info
}

// repos lists the work trees of the repositories the scan found.
func (s *scan) repos() []string {
	var out []string
	for dir, info := range s.Dirs {
		if info.Git != 0 {
			out = append(out, dir)
		}
	}
	sort.Strings(out)
	return out
}

// hardLinks lists the files the scan found with more than one link.
func (s *scan) hardLinks() []string {
	var out []string
	for dir, info := range s.Dirs {
		for _, name := range info.Links {
			out = append(out, filepath.Join(dir, name))
		}
	}
	sort.Strings(out)
	return out
}

// ScanCache keeps scans between runs in a directory (sandbar uses
// $XDG_CACHE_HOME/sandbar/scan), one file per root. A missing or damaged
// file only means a full walk.
type ScanCache struct{ Dir string }

// scanHeader starts a cache file; a file of another format or version is
// not used (the next walk reads everything and replaces it).
const scanHeader = "sandbar scan 1"

func (c ScanCache) file(root string) string {
	return c.name(root, ".scan")
}

func (c ScanCache) name(root, ext string) string {
	sum := sha256.Sum256([]byte(root))
	return filepath.Join(c.Dir, hex.EncodeToString(sum[:12])+ext)
}

func (c ScanCache) load(root string) *scan {
	if c.Dir == "" {
		return nil
	}
	b, err := os.ReadFile(c.file(root))
	if err != nil {
		return nil
	}
	s, err := unmarshalScan(b)
	if err != nil || s.Root != root {
		return nil
	}
	return s
}

// prefetch starts reading the cached scans of roots on another goroutine
// and returns the function that hands them out, waiting for them if need
// be; it reads any other root when asked.
func (c ScanCache) prefetch(roots []string) func(root string) *scan {
	done := make(chan map[string]*scan, 1)
	go func() {
		m := map[string]*scan{}
		for _, r := range roots {
			m[r] = c.load(r)
		}
		done <- m
	}()
	var m map[string]*scan
	return func(root string) *scan {
		if m == nil {
			m = <-done
		}
		if s, ok := m[root]; ok {
			return s
		}
		return c.load(root)
	}
}

func (c ScanCache) save(s *scan) {
	if c.Dir == "" || s.fresh == 0 {
		return
	}
	if os.MkdirAll(c.Dir, 0o700) != nil {
		return
	}
	tmp, err := os.CreateTemp(c.Dir, ".scan-*")
	if err != nil {
		return
	}
	_, werr := tmp.Write(s.marshal())
	cerr := tmp.Close()
	if werr != nil || cerr != nil || os.Rename(tmp.Name(), c.file(s.Root)) != nil {
		os.Remove(tmp.Name())
		return
	}
	// Earlier versions kept the scan of this root as a gob stream.
	os.Remove(c.name(s.Root, ".gob"))
}

func (s *scan) marshal() []byte {
	w := newWireWriter(scanHeader)
	w.string(s.Root)
	w.int(s.At)
	w.uint(uint64(len(s.Dirs)))
	for dir, info := range s.Dirs {
		w.string(dir)
		w.uint(info.Ino)
		w.int(info.Ctime)
		w.uint(uint64(info.Git))
		w.strings(info.Sub)
		w.strings(info.Links)
	}
	return w.b
}

func unmarshalScan(b []byte) (*scan, error) {
	r := newWireReader(b, scanHeader)
	s := &scan{Root: r.string(), At: r.int()}
	n := r.count()
	s.Dirs = make(map[string]*dirInfo, n)
	for i := 0; i < n && r.err == nil; i++ {
		dir := r.string()
		info := &dirInfo{Ino: r.uint(), Ctime: r.int()}
		git := r.uint()
		if git > 2 {
			r.err = errWire
		}
		info.Git = uint8(git)
		info.Sub = r.strings()
		info.Links = r.strings()
		s.Dirs[dir] = info
	}
	if err := r.end(); err != nil {
		return nil, err
	}
	return s, nil
}
