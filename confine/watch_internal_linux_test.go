package confine

import "testing"

// Which refused paths the watch refuses itself: those whose mounts the
// host can take away, leaving them writable (writeRule.exposed).
func TestWriteRulesExposed(t *testing.T) {
	s := Spec{Paths: []Path{
		{Path: "/home/me/proj", Access: ReadWrite, Dir: true, Why: "workspace"},
		{Path: "/home/me/proj/.git/config", Access: ReadOnly, Why: "protected: .git/config"},
		{Path: "/home/me/proj/secrets", Access: Hidden, Dir: true, Why: "denyRead"},
		{Path: "/home/me/proj/secrets/public", Access: ReadOnly, Dir: true, Why: "allowRead"},
		{Path: "/home/me/.ssh", Access: Hidden, Dir: true, Why: "denyRead"},
		{Path: "/tmp/fixture", Access: ReadOnly, Dir: true, Why: "fixture root"},
		{Path: "/tmp/fixture/home/.netrc", Access: Hidden, Why: "denyRead"},
		{Path: "/tmp/fixture/ws", Access: ReadWrite, Dir: true, Why: "workspace"},
		{Path: "/tmp/fixture/ws/.vscode", Access: ReadOnly, Dir: true, Why: "protected: .vscode"},
	}}
	w := newWriteRules(s)
	for path, want := range map[string]bool{
		// In a writable folder: the host's rename over it drops its
		// mount and leaves the folder's access.
		"/home/me/proj/.git/config": true,
		"/home/me/proj/secrets":     true,
		// Below a hidden path in a writable folder: dropping both mounts
		// leaves it writable.
		"/home/me/proj/secrets/public": true,
		"/tmp/fixture/ws/.vscode":      true,
		// Without its mount it is read-only all the same.
		"/home/me/.ssh":            false,
		"/tmp/fixture/home/.netrc": false,
		// Its mount point is in the sandbox's own /tmp, out of the
		// host's reach.
		"/tmp/fixture": false,
	} {
		if got := w.rules[path].exposed; got != want {
			t.Errorf("%s: exposed %v, want %v", path, got, want)
		}
	}
}
