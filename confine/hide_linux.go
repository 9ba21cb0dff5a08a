package confine

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Hiding that holds against the host.
//
// A hidden path is a mount over it (see BwrapArgs). The kernel drops a
// mount, in every mount namespace, when its mount point is unlinked or
// renamed over: the host replacing a hidden file the way editors and
// credential helpers save it, or removing a hidden directory and making
// it again, would make the new one readable in every sandbox already
// running. So on top of the mounts, the init puts the command under a
// Landlock ruleset that lets it read and execute only what existed when
// the sandbox started in the directories that lead to a hidden path:
// each entry of / and of every directory down to each hidden path gets
// a rule of its own, but for the hidden entries themselves and the
// directories that lead further down. What appears later in those
// directories has no rule anywhere on its way up to /, and cannot be
// read. docs/hiding.md tells the whole story.

// The Landlock access rights sandbar handles: the command keeps every
// right it had to change files, and so need not get them back by rule.
// REFER (linking or renaming into another directory) is handled only
// because the kernel refuses it outright to a ruleset that does not
// handle it; every rule grants it.
const (
	hideFileAccess = unix.LANDLOCK_ACCESS_FS_READ_FILE | unix.LANDLOCK_ACCESS_FS_EXECUTE
	hideDirAccess  = hideFileAccess | unix.LANDLOCK_ACCESS_FS_REFER
	hideHandled    = hideDirAccess
)

// minLandlockABI is the first Landlock ABI with REFER (Linux 5.19).
// Under ABI 1 the kernel refuses every rename and link into another
// directory, even where the command may write, so sandbar does not use
// Landlock there at all.
const minLandlockABI = 2

// LandlockABI reports the Landlock ABI version the kernel offers, or why
// it offers none (built without it, or not among the LSMs enabled at
// boot).
func LandlockABI() (int, error) { return landlockABI() }

var landlockABI = sync.OnceValues(func() (int, error) {
	v, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	switch errno {
	case 0:
		return int(v), nil
	case unix.ENOSYS:
		return 0, errors.New("the kernel was built without Landlock (Linux 5.13 or later with CONFIG_SECURITY_LANDLOCK)")
	case unix.EOPNOTSUPP:
		return 0, errors.New("Landlock is not enabled: it is missing from the lsm= list the kernel booted with")
	}
	return 0, fmt.Errorf("asking for the Landlock ABI: %w", errno)
})

// HidingOff says why, on this machine, hidden paths are hidden by mounts
// only, which the host can undo by replacing them (see docs/hiding.md),
// or "" when Landlock backs the mounts.
func HidingOff() string {
	abi, err := landlockABI()
	if err != nil {
		return err.Error()
	}
	if abi < minLandlockABI {
		return fmt.Sprintf("Landlock ABI %d is too old (sandbar needs %d, Linux 5.19)", abi, minLandlockABI)
	}
	return ""
}

// hidePlan is the init's part in hiding: which directories to go
// through and which paths to grant, computed from the Spec alone.
type hidePlan struct {
	// Dirs are the directories each of whose entries gets a rule of its
	// own, but for Skip: the directories that lead to a hidden path.
	// Parents come first.
	Dirs []hideDir `json:"dirs"`
	// Beneath are paths granted whole: what is visible again inside a
	// hidden directory, which nothing above grants and which cannot be
	// listed.
	Beneath []string `json:"beneath,omitempty"`
}

// hideDir is one directory the init goes through.
type hideDir struct {
	Path string `json:"path"`
	// Skip are the entries that get no rule: the hidden ones, and those
	// that are in Dirs themselves.
	Skip []string `json:"skip,omitempty"`
	// Named are the entries that lead to a path the Spec names, granted
	// even when the directory cannot be listed.
	Named []string `json:"named,omitempty"`
}

// hidingOf sorts the hidden paths of a validated Spec: guarded are
// backed by Landlock; mountOnly lie beneath a writable directory, which
// cannot go without rules (a command must read what it writes there), so
// a mount is all that hides them. Hidden paths in the sandbox's own
// /tmp, /dev or /proc are in neither: the host cannot reach them.
func hidingOf(s Spec) (guarded, mountOnly []Path) {
	for _, p := range s.Paths {
		if p.Access != Hidden || sandboxOwn(s, p.Path) {
			continue
		}
		if writableAbove(s, p.Path) {
			mountOnly = append(mountOnly, p)
		} else {
			guarded = append(guarded, p)
		}
	}
	return guarded, mountOnly
}

// sandboxMade are the directories bwrap makes anew in every sandbox,
// writable by the command (/dev, /proc: none of the host's).
var sandboxMade = []string{"/tmp", "/dev", "/proc"}

// sandboxOwn reports whether path lies in a file system the sandbox made
// and nothing of the host's is bound over on its way: nothing outside
// can change it.
func sandboxOwn(s Spec, path string) bool {
	for _, d := range sandboxMade {
		if !within(path, d) {
			continue
		}
		for _, q := range s.Paths {
			if q.Access != Hidden && q.Path != path && within(path, q.Path) && within(q.Path, d) {
				return false
			}
		}
		return true
	}
	return false
}

// writableAbove reports whether a directory above path is writable in
// the sandbox.
func writableAbove(s Spec, path string) bool {
	for d := filepath.Dir(path); ; d = filepath.Dir(d) {
		if s.AccessOf(d).Access == ReadWrite {
			return true
		}
		for _, m := range sandboxMade {
			if d == m {
				return true
			}
		}
		if d == "/" {
			return false
		}
	}
}

// planHide works out the init's hiding for a validated Spec; nil when no
// hidden path needs it.
func planHide(s Spec) *hidePlan {
	guarded, _ := hidingOf(s)
	if len(guarded) == 0 {
		return nil
	}
	// The directories that lead to a guarded path, but for those that
	// are hidden themselves (a hidden directory with something visible
	// again inside it, and a hidden path deeper down).
	split := map[string]bool{}
	for _, h := range guarded {
		for d := filepath.Dir(h.Path); ; d = filepath.Dir(d) {
			if s.AccessOf(d).Access != Hidden {
				split[d] = true
			}
			if d == "/" {
				break
			}
		}
	}
	// What the Spec names, for the entries a directory that cannot be
	// listed must still grant: every visible path and the working
	// directory.
	var named []string
	for _, p := range s.Paths {
		if p.Access != Hidden {
			named = append(named, p.Path)
		}
	}
	named = append(named, s.Dir)

	plan := &hidePlan{}
	for d := range split {
		hd := hideDir{Path: d}
		skip := map[string]bool{}
		for _, p := range s.Paths {
			if p.Access == Hidden && filepath.Dir(p.Path) == d && p.Path != "/" {
				skip[filepath.Base(p.Path)] = true
			}
		}
		for c := range split {
			if c != "/" && filepath.Dir(c) == d {
				skip[filepath.Base(c)] = true
			}
		}
		seen := map[string]bool{}
		for _, n := range named {
			if n == d || !within(n, d) {
				continue
			}
			first, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(n, d), "/"), "/")
			if !skip[first] && !seen[first] {
				seen[first] = true
				hd.Named = append(hd.Named, first)
			}
		}
		for n := range skip {
			hd.Skip = append(hd.Skip, n)
		}
		sort.Strings(hd.Skip)
		sort.Strings(hd.Named)
		plan.Dirs = append(plan.Dirs, hd)
	}
	sort.Slice(plan.Dirs, func(i, j int) bool { return pathLess(plan.Dirs[i].Path, plan.Dirs[j].Path) })
	for _, p := range s.Paths {
		if p.Access != Hidden && p.Path != "/" && !split[p.Path] && s.AccessOf(filepath.Dir(p.Path)).Access == Hidden {
			plan.Beneath = append(plan.Beneath, p.Path)
		}
	}
	return plan
}

// newRuleset makes an empty Landlock ruleset handling hideHandled.
func newRuleset() (int, error) {
	attr := unix.LandlockRulesetAttr{Handled_access_fs: hideHandled}
	// Only the first field: older kernels know nothing of the others.
	rs, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr.Handled_access_fs), 0)
	if errno != 0 {
		return -1, fmt.Errorf("hiding: creating the Landlock ruleset: %w", errno)
	}
	return int(rs), nil
}

// fillRuleset adds to rs, from outside the sandbox, the rules plan
// describes, and one for sandbar's own executable, which the init is
// (the test binary re-runs itself that way; sandbar's binary is no
// secret). Everything it grants is the host's: the sandbox binds each
// path onto itself, so the inodes are those the command meets. Only
// what bwrap makes anew at / (see sandboxMade) is left to the init
// (grantInSandbox). Outside the sandbox this runs while bwrap builds
// it, and costs the start-up nothing on a machine with a core to spare.
func fillRuleset(rs int, plan *hidePlan) error {
	b := ruleBuilder{rs: rs}
	for _, d := range plan.Dirs {
		if err := b.dir(d); err != nil {
			return err
		}
	}
	for _, p := range plan.Beneath {
		d, err := openDescriptor(Descriptor{Path: p})
		if errors.Is(err, unix.ENOENT) {
			continue
		}
		if err == nil {
			err = b.add(int(d.Fd()), unix.DT_UNKNOWN)
			d.Close()
		}
		if err != nil {
			return fmt.Errorf("hiding: granting %s: %w", p, err)
		}
	}
	// Followed, unlike the rest: the magic link is not what is granted.
	exe, err := unix.Open("/proc/self/exe", unix.O_PATH|unix.O_CLOEXEC, 0)
	if err == nil {
		err = b.add(exe, unix.DT_REG)
		unix.Close(exe)
	}
	if err != nil {
		return fmt.Errorf("hiding: granting sandbar's executable: %w", err)
	}
	return nil
}

// grantInSandbox adds to rs, inside the sandbox, what only the sandbox
// has: the file systems bwrap made at / for it, and whatever the
// standard streams are open on, so that /dev/stdin and /proc/self/fd/N
// can be opened again even when they are files outside the sandbox's
// view.
func grantInSandbox(rs int) error {
	b := ruleBuilder{rs: rs}
	for _, d := range sandboxMade {
		if err := b.path(unix.AT_FDCWD, d, unix.DT_DIR); err != nil {
			return err
		}
	}
	for fd := range 3 {
		// A pipe or a socket needs no rule (and can have none): the
		// kernel lets anything open those again.
		if err := b.add(fd, unix.DT_UNKNOWN); err != nil && !errors.Is(err, unix.EBADFD) && !errors.Is(err, unix.EBADF) {
			return fmt.Errorf("hiding: granting standard stream %d: %w", fd, err)
		}
	}
	return nil
}

type ruleBuilder struct{ rs int }

// dir grants each entry of d but those it skips.
func (b ruleBuilder) dir(d hideDir) error {
	// Without following links, like the binds (see openDescriptor):
	// the rules must go to the inodes the sandbox is built from.
	dfd, err := unix.Openat2(unix.AT_FDCWD, d.Path, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	if errors.Is(err, unix.ENOENT) {
		// Gone already: nothing in it is granted, whatever takes its
		// place.
		return nil
	}
	if err != nil {
		return fmt.Errorf("hiding: opening %s: %w", d.Path, err)
	}
	defer unix.Close(dfd)
	skip := map[string]bool{}
	for _, n := range d.Skip {
		skip[n] = true
	}
	done := map[string]bool{}
	ents, err := listDir(dfd)
	if err != nil && !errors.Is(err, unix.EACCES) {
		return fmt.Errorf("hiding: listing %s: %w", d.Path, err)
	}
	if d.Path == "/" {
		// The init grants the sandbox's own; the host's are not there.
		for _, m := range sandboxMade {
			skip[filepath.Base(m)] = true
		}
	}
	for _, e := range ents {
		if skip[e.name] {
			continue
		}
		done[e.name] = true
		if err := b.path(dfd, e.name, e.typ); err != nil {
			return err
		}
	}
	// A directory the command could not list either still leads to the
	// paths the Spec names.
	for _, n := range d.Named {
		if !done[n] && !skip[n] {
			if err := b.path(dfd, n, unix.DT_UNKNOWN); err != nil {
				return err
			}
		}
	}
	return nil
}

// path grants name, relative to dirfd, and all beneath it. Symbolic
// links get nothing: what they lead to is checked where it is.
func (b ruleBuilder) path(dirfd int, name string, typ uint8) error {
	if typ == unix.DT_LNK {
		return nil
	}
	fd, err := unix.Openat(dirfd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("hiding: opening %s: %w", name, err)
	}
	defer unix.Close(fd)
	if err := b.add(fd, typ); err != nil {
		return fmt.Errorf("hiding: granting %s: %w", name, err)
	}
	return nil
}

// add grants what fd is open on, and all beneath it if a directory.
func (b ruleBuilder) add(fd int, typ uint8) error {
	if typ == unix.DT_UNKNOWN {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return err
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			typ = unix.DT_DIR
		case unix.S_IFLNK:
			return nil
		default:
			typ = unix.DT_REG
		}
	}
	access := uint64(hideFileAccess)
	if typ == unix.DT_DIR {
		access = hideDirAccess
	}
	attr := unix.LandlockPathBeneathAttr{Allowed_access: access, Parent_fd: int32(fd)}
	_, _, errno := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, uintptr(b.rs), unix.LANDLOCK_RULE_PATH_BENEATH, uintptr(unsafe.Pointer(&attr)), 0, 0, 0)
	runtime.KeepAlive(&attr)
	if errno == unix.EINVAL && typ == unix.DT_DIR {
		// A mount of a file over what the listing saw as a directory.
		return b.add(fd, unix.DT_REG)
	}
	if errno != 0 {
		return errno
	}
	return nil
}

type dirEntry struct {
	name string
	typ  uint8
}

// listDir reads the entries of the directory dfd is open on (O_PATH),
// with their types as the file system gives them.
func listDir(dfd int) ([]dirEntry, error) {
	fd, err := unix.Openat(dfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var out []dirEntry
	buf := make([]byte, 32<<10)
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return out, err
		}
		if n <= 0 {
			return out, nil
		}
		for b := buf[:n]; len(b) > 0; {
			// struct linux_dirent64: ino u64, off s64, reclen u16,
			// type u8, name NUL-terminated.
			reclen := int(*(*uint16)(unsafe.Pointer(&b[16])))
			if reclen < 20 || reclen > len(b) {
				return out, fmt.Errorf("bad directory entry")
			}
			typ := b[18]
			name := b[19:reclen]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			if s := string(name); s != "." && s != ".." {
				out = append(out, dirEntry{s, typ})
			}
			b = b[reclen:]
		}
	}
}

// restrictThread puts the ruleset in force on the calling thread, which
// must be locked to its goroutine: the command, forked from it, inherits
// it, while the init's other threads stay free.
func restrictThread(rs int) error {
	defer unix.Close(rs)
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("hiding: setting no_new_privs: %w", err)
	}
	if _, _, errno := unix.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, uintptr(rs), 0, 0); errno != 0 {
		return fmt.Errorf("hiding: putting the Landlock ruleset in force: %w", errno)
	}
	return nil
}
