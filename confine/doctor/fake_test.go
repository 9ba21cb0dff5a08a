package doctor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// fakeMachine is an Env made of maps. Its zero state has nothing at all;
// healthy() builds a machine on which every check passes, and test cases
// change one thing in it.
type fakeMachine struct {
	t     *testing.T
	path  map[string]string      // LookPath: name → path
	files map[string]string      // ReadFile
	modes map[string]fs.FileMode // Stat: the files that exist
	runs  map[string]fakeRun     // Run: command line → result
	ran   []string               // command lines run, in order
	// listener is what Listener returns.
	listener error
	// landlock and landlockErr are what Landlock returns.
	landlock    int
	landlockErr error
}

type fakeRun struct {
	stdout, stderr string
	err            error
}

// Command lines the checks run on a healthy machine, spelled out rather
// than built with the package's own functions so that a change to the
// probe's arguments shows up here.
const (
	versionCmd = "/usr/bin/bwrap --version"
	probeCmd   = "/usr/bin/bwrap --unshare-all --die-with-parent --ro-bind / / --dev /dev --proc /proc --disable-userns --unshare-user -- /bin/true"
)

const userStatus = "Name:\tdoctor.test\nUmask:\t0022\nState:\tR (running)\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\nNoNewPrivs:\t0\nSeccomp:\t0\nSeccomp_filters:\t0\nSpeculation_Store_Bypass:\tthread vulnerable\n"

// errExit stands in for a non-zero exit; its text is what exec prints.
var errExit = errors.New("exit status 1")

func healthy(t *testing.T) *fakeMachine {
	return &fakeMachine{
		t:    t,
		path: map[string]string{"bwrap": "/usr/bin/bwrap", "true": "/usr/bin/true"},
		files: map[string]string{
			"/proc/sys/user/max_user_namespaces": "63366\n",
			"/proc/self/status":                  userStatus,
			"/proc/1/cgroup":                     "0::/init.scope\n",
			"/proc/sys/kernel/osrelease":         "6.8.0-45-generic\n",
		},
		modes: map[string]fs.FileMode{
			"/usr/bin/bwrap": 0o755,
			"/bin/true":      0o755,
			"/usr/bin/true":  0o755,
		},
		runs: map[string]fakeRun{
			versionCmd: {stdout: "bubblewrap 0.9.0\n"},
			probeCmd:   {},
		},
		landlock: 4,
	}
}

func (m *fakeMachine) env() Env {
	return Env{
		LookPath: func(name string) (string, error) {
			if p, ok := m.path[name]; ok {
				return p, nil
			}
			return "", &exec.Error{Name: name, Err: exec.ErrNotFound}
		},
		ReadFile: func(name string) ([]byte, error) {
			if s, ok := m.files[name]; ok {
				return []byte(s), nil
			}
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		},
		Stat: func(name string) (fs.FileInfo, error) {
			if mode, ok := m.modes[name]; ok {
				return fakeInfo{name: name, mode: mode}, nil
			}
			if _, ok := m.files[name]; ok {
				return fakeInfo{name: name, mode: 0o644}, nil
			}
			return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
		},
		Listener: func() error { return m.listener },
		Landlock: func() (int, error) { return m.landlock, m.landlockErr },
		Run: func(ctx context.Context, name string, args ...string) ([]byte, []byte, error) {
			line := strings.Join(append([]string{name}, args...), " ")
			m.ran = append(m.ran, line)
			// Every run must be bounded, or a wedged bwrap hangs doctor.
			if d, ok := ctx.Deadline(); !ok || time.Until(d) > timeout {
				m.t.Errorf("%s: run without a deadline of at most %s", line, timeout)
			}
			r, ok := m.runs[line]
			if !ok {
				m.t.Errorf("unexpected command: %s", line)
				return nil, nil, fmt.Errorf("fake: unexpected command %q", line)
			}
			return []byte(r.stdout), []byte(r.stderr), r.err
		},
	}
}

// moveBwrap puts bwrap at path instead of /usr/bin/bwrap.
func (m *fakeMachine) moveBwrap(path string) {
	m.path["bwrap"] = path
	m.modes[path] = m.modes["/usr/bin/bwrap"]
	delete(m.modes, "/usr/bin/bwrap")
	rename := func(cmd string) string { return strings.Replace(cmd, "/usr/bin/bwrap", path, 1) }
	m.runs = map[string]fakeRun{
		rename(versionCmd): m.runs[versionCmd],
		rename(probeCmd):   m.runs[probeCmd],
	}
}

func (m *fakeMachine) removeBwrap() {
	delete(m.path, "bwrap")
	delete(m.modes, "/usr/bin/bwrap")
	m.runs = map[string]fakeRun{}
}

func (m *fakeMachine) bwrapVersion(out string) { m.runs[versionCmd] = fakeRun{stdout: out} }

func (m *fakeMachine) probeFails(stderr string) {
	m.runs[probeCmd] = fakeRun{stderr: stderr, err: errExit}
}

func (m *fakeMachine) asRoot() {
	m.files["/proc/self/status"] = strings.Replace(userStatus, "Uid:\t1000\t1000\t1000\t1000", "Uid:\t0\t0\t0\t0", 1)
}

type fakeInfo struct {
	name string
	mode fs.FileMode
}

func (i fakeInfo) Name() string       { return i.name }
func (i fakeInfo) Size() int64        { return 0 }
func (i fakeInfo) Mode() fs.FileMode  { return i.mode }
func (i fakeInfo) ModTime() time.Time { return time.Time{} }
func (i fakeInfo) IsDir() bool        { return i.mode.IsDir() }
func (i fakeInfo) Sys() any           { return nil }
