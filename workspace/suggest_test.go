package workspace

import (
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sandbar-dev/sandbar/confine"
	"github.com/sandbar-dev/sandbar/workspace/policy"
)

const (
	sgHome   = "/home/ana"
	sgFolder = "/home/ana/work/acme/app"
	sgUser   = "/home/ana/.config/sandbar/policy.jsonc"
	sgRepo   = sgFolder + "/.sandbar/policy.jsonc"
)

// sgGoBuild is where Go's build cache, which the go preset covers, is in
// the home directory; that depends on the system (policy.PresetPaths).
var sgGoBuild = "/.cache/go-build"

func init() {
	if runtime.GOOS == "darwin" {
		sgGoBuild = "/Library/Caches/go-build"
	}
}

// suggestSandbox is a sandbox as Load would build it for sgFolder, without
// touching the disk.
func suggestSandbox() *Sandbox {
	return &Sandbox{
		Policies: Policies{Folders: []string{sgFolder}},
		Paths: []confine.Path{
			{Path: sgFolder, Access: confine.ReadWrite, Dir: true, Why: "workspace folder 1"},
			{Path: sgFolder + "/.git/hooks", Access: confine.ReadOnly, Dir: true, Why: "protected: .git/hooks"},
			{Path: sgFolder + "/vendor/lib.so", Access: confine.ReadOnly, Why: "hard link: its content is shared with another path"},
			{Path: sgFolder + "/gen", Access: confine.ReadOnly, Dir: true, Why: "denyWrite " + sgRepo + ":5:19"},
			{Path: sgHome + "/.aws", Access: confine.Hidden, Dir: true, Why: "denyRead (built-in default):15:7"},
			{Path: sgHome + "/.ssh", Access: confine.Hidden, Dir: true, Why: "denyRead (built-in default):10:7"},
			{Path: sgHome + "/.npmrc", Access: confine.Hidden, Why: "denyRead (built-in default):32:7"},
			{Path: sgHome + "/private", Access: confine.Hidden, Dir: true, Why: "denyRead " + sgUser + ":4:17"},
			{Path: sgHome + "/.cache/tool", Access: confine.ReadWrite, Dir: true, Why: "allowWrite " + sgUser + ":5:18"},
		},
		Watch: []Watched{{Path: sgFolder + "/.vscode", Rule: "protected: .vscode"}},
		home:  sgHome,
	}
}

func write(op, path string, count int) confine.Violation {
	return confine.Violation{Kind: "file-write", Operation: op, Path: path, Rule: "default: read-only", Count: count}
}

func read(path string, count int) confine.Violation {
	return confine.Violation{Kind: "file-read", Operation: "open", Path: path, Count: count}
}

func connect(target, reason string, count int) confine.Violation {
	return confine.Violation{Kind: "network", Target: target, Decision: "denied", Reason: reason, Count: count}
}

const secretWarning = "exposes a secret: the built-in default hides ~/.aws because it can hold passwords, keys or tokens"

func TestSuggest(t *testing.T) {
	tests := []struct {
		name string
		vs   []confine.Violation
		want []Suggestion
	}{
		{
			name: "nothing refused",
		},

		// Writes.
		{
			name: "a write to one file allows the file",
			vs:   []confine.Violation{write("write", sgHome+"/notes.txt", 2)},
			want: []Suggestion{{Key: "filesystem.allowWrite", Entry: "~/notes.txt", Covers: 2}},
		},
		{
			name: "creating a file allows its directory",
			vs:   []confine.Violation{write("create", sgHome+"/.cache/foo/x", 3)},
			want: []Suggestion{{Key: "filesystem.allowWrite", Entry: "~/.cache/foo", Covers: 3}},
		},
		{
			name: "creating a file in home allows the file, not home",
			vs:   []confine.Violation{write("create", sgHome+"/.node_repl_history", 1)},
			want: []Suggestion{{Key: "filesystem.allowWrite", Entry: "~/.node_repl_history", Covers: 1}},
		},
		{
			name: "creating a directory in a shared directory allows the new directory",
			vs:   []confine.Violation{write("mkdir", sgHome+"/.cache/foo", 1)},
			want: []Suggestion{{Key: "filesystem.allowWrite", Entry: "~/.cache/foo", Covers: 1}},
		},
		{
			name: "several files allow their deepest common directory",
			vs: []confine.Violation{
				write("write", sgHome+"/.cache/foo/a/1", 1),
				write("write", sgHome+"/.cache/foo/b/2", 2),
			},
			want: []Suggestion{{Key: "filesystem.allowWrite", Entry: "~/.cache/foo", Covers: 3}},
		},
		{
			name: "groups merge upwards while the directory is narrow enough",
			vs: []confine.Violation{
				write("write", sgHome+"/.cache/foo/a/1", 1),
				write("write", sgHome+"/.cache/foo/a/2", 1),
				write("create", sgHome+"/.cache/foo/b/3", 1),
			},
			want: []Suggestion{{Key: "filesystem.allowWrite", Entry: "~/.cache/foo", Covers: 3}},
		},
		{
			name: "a file and the directory of another under it make one entry",
			vs: []confine.Violation{
				write("create", sgHome+"/.cache/foo/x", 1),
				write("write", sgHome+"/.cache/foo/sub/y", 1),
			},
			want: []Suggestion{{Key: "filesystem.allowWrite", Entry: "~/.cache/foo", Covers: 2}},
		},
		{
			name: "never a directory that many programs share",
			vs: []confine.Violation{
				write("write", sgHome+"/.config/foo/x", 1),
				write("write", sgHome+"/.config/bar/y", 1),
			},
			want: []Suggestion{
				{Key: "filesystem.allowWrite", Entry: "~/.config/foo/x", Covers: 1},
				{Key: "filesystem.allowWrite", Entry: "~/.config/bar/y", Covers: 1},
			},
		},
		{
			name: "never home",
			vs: []confine.Violation{
				write("write", sgHome+"/a.txt", 1),
				write("write", sgHome+"/b.txt", 1),
			},
			want: []Suggestion{
				{Key: "filesystem.allowWrite", Entry: "~/a.txt", Covers: 1},
				{Key: "filesystem.allowWrite", Entry: "~/b.txt", Covers: 1},
			},
		},
		{
			name: "never a direct child of home for several files",
			vs: []confine.Violation{
				write("write", sgHome+"/src/other/a", 1),
				write("write", sgHome+"/src/third/b", 1),
			},
			want: []Suggestion{
				{Key: "filesystem.allowWrite", Entry: "~/src/other/a", Covers: 1},
				{Key: "filesystem.allowWrite", Entry: "~/src/third/b", Covers: 1},
			},
		},
		{
			name: "never a directory above a workspace folder",
			vs: []confine.Violation{
				write("write", sgHome+"/work/acme/notes", 1),
				write("write", sgHome+"/work/acme/build.log", 1),
			},
			want: []Suggestion{
				{Key: "filesystem.allowWrite", Entry: "~/work/acme/notes", Covers: 1},
				{Key: "filesystem.allowWrite", Entry: "~/work/acme/build.log", Covers: 1},
			},
		},
		{
			name: "never a top-level directory",
			vs: []confine.Violation{
				write("write", "/etc/foo.conf", 1),
				write("write", "/etc/bar.conf", 1),
			},
			want: []Suggestion{
				{Key: "filesystem.allowWrite", Entry: "/etc/foo.conf", Covers: 1},
				{Key: "filesystem.allowWrite", Entry: "/etc/bar.conf", Covers: 1},
			},
		},
		{
			name: "never the root directory",
			vs: []confine.Violation{
				write("write", "/srv/a", 1),
				write("write", "/var/b", 1),
			},
			want: []Suggestion{
				{Key: "filesystem.allowWrite", Entry: "/srv/a", Covers: 1},
				{Key: "filesystem.allowWrite", Entry: "/var/b", Covers: 1},
			},
		},
		{
			name: "never a path at the top of the root directory",
			vs:   []confine.Violation{write("create", "/scratch", 1)},
		},
		{
			name: "a directory outside home is written absolute",
			vs: []confine.Violation{
				write("write", "/opt/sdk/a", 1),
				write("write", "/opt/sdk/b", 1),
			},
			want: []Suggestion{{Key: "filesystem.allowWrite", Entry: "/opt/sdk", Covers: 2}},
		},
		{
			name: "a refusal with a protected rule is never allowed",
			vs: []confine.Violation{{Kind: "file-write", Operation: "create", Path: sgFolder + "/.git/hooks/pre-commit",
				Rule: "protected: .git/hooks (repository created in the sandbox)", Count: 4}},
		},
		{
			name: "a path the sandbox protects is never allowed",
			vs:   []confine.Violation{{Kind: "file-write", Operation: "write", Path: sgFolder + "/.git/hooks/post-checkout", Count: 1}},
		},
		{
			name: "a protected path that did not exist is never allowed",
			vs:   []confine.Violation{{Kind: "file-write", Operation: "create", Path: sgFolder + "/.vscode/tasks.json", Count: 1}},
		},
		{
			name: "a hard link is never allowed",
			vs:   []confine.Violation{{Kind: "file-write", Operation: "write", Path: sgFolder + "/vendor/lib.so", Count: 1}},
		},
		{
			name: "a shell start-up file is never allowed",
			vs:   []confine.Violation{write("write", sgHome+"/.bashrc", 1)},
		},
		{
			name: "a file in home that sandbar would protect is never allowed",
			vs:   []confine.Violation{write("create", sgHome+"/.local/bin/tool", 1)},
		},
		{
			name: "a git directory outside the workspace is never allowed",
			vs:   []confine.Violation{write("write", sgHome+"/other/.git/config", 1)},
		},
		{
			name: "an editor's settings outside the workspace are never allowed",
			vs:   []confine.Violation{write("write", sgHome+"/other/.vscode/settings.json", 1)},
		},
		{
			name: "a directory is never suggested when it is protected once writable",
			vs: []confine.Violation{
				write("create", sgHome+"/.config/git/a", 1),
				write("create", sgHome+"/.config/git/b", 1),
			},
		},
		{
			name: "a write where writing is allowed is not the policy's doing",
			vs:   []confine.Violation{write("write", sgHome+"/.cache/tool/x", 1)},
		},
		{
			name: "a preset's cache suggests the preset",
			vs: []confine.Violation{
				write("create", sgHome+sgGoBuild+"/ab/cd-d", 5),
				write("mkdir", sgHome+"/go/pkg/mod/cache/download", 1),
			},
			want: []Suggestion{{Key: "presets", Entry: "go", Covers: 6}},
		},

		// Secrets and explicit denies.
		{
			name: "reading a secret says it exposes one",
			vs:   []confine.Violation{read(sgHome+"/.aws/credentials", 1)},
			want: []Suggestion{{Key: "filesystem.allowRead", Entry: "~/.aws/credentials", Covers: 1, Warning: secretWarning}},
		},
		{
			name: "secrets are allowed one file at a time",
			vs: []confine.Violation{
				read(sgHome+"/.aws/config", 3),
				read(sgHome+"/.aws/credentials", 1),
			},
			want: []Suggestion{
				{Key: "filesystem.allowRead", Entry: "~/.aws/config", Covers: 3, Warning: secretWarning},
				{Key: "filesystem.allowRead", Entry: "~/.aws/credentials", Covers: 1, Warning: secretWarning},
			},
		},
		{
			name: "a secret file at the top of home",
			vs:   []confine.Violation{read(sgHome+"/.npmrc", 1)},
			want: []Suggestion{{Key: "filesystem.allowRead", Entry: "~/.npmrc", Covers: 1,
				Warning: "exposes a secret: the built-in default hides ~/.npmrc because it can hold passwords, keys or tokens"}},
		},
		{
			name: "creating a file in a secret allows its directory inside the secret",
			vs:   []confine.Violation{write("create", sgHome+"/.aws/cli/cache/x.json", 1)},
			want: []Suggestion{{Key: "filesystem.allowWrite", Entry: "~/.aws/cli/cache", Covers: 1, Warning: secretWarning}},
		},
		{
			name: "creating a file at the top of a secret allows the file, not the secret",
			vs:   []confine.Violation{write("create", sgHome+"/.aws/new", 1)},
			want: []Suggestion{{Key: "filesystem.allowWrite", Entry: "~/.aws/new", Covers: 1, Warning: secretWarning}},
		},
		{
			name: "writing into ~/.ssh is never allowed",
			vs:   []confine.Violation{write("write", sgHome+"/.ssh/known_hosts", 1)},
		},
		{
			name: "a read the sandbox did not hide is not the policy's doing",
			vs:   []confine.Violation{read("/etc/shadow", 1)},
		},
		{
			name: "a path that is exactly a deny entry is left to that entry",
			vs:   []confine.Violation{read(sgHome+"/private", 1)},
		},
		{
			name: "a path below a deny entry says which entry it overrides",
			vs:   []confine.Violation{read(sgHome+"/private/notes.txt", 1)},
			want: []Suggestion{{Key: "filesystem.allowRead", Entry: "~/private/notes.txt", Covers: 1,
				Warning: "overrides denyRead at " + sgUser + ":4:17"}},
		},
		{
			name: "a path inside a workspace folder is relative to it",
			vs:   []confine.Violation{write("write", sgFolder+"/gen/out.go", 1)},
			want: []Suggestion{{Key: "filesystem.allowWrite", Entry: "./gen/out.go", Folder: sgFolder, Covers: 1,
				Warning: "overrides denyWrite at " + sgRepo + ":5:19"}},
		},
		{
			name: "a group never reaches up to the deny entry",
			vs: []confine.Violation{
				write("write", sgFolder+"/gen/a.go", 1),
				write("create", sgFolder+"/gen/b.go", 1),
			},
			want: []Suggestion{
				{Key: "filesystem.allowWrite", Entry: "./gen/a.go", Folder: sgFolder, Covers: 1, Warning: "overrides denyWrite at " + sgRepo + ":5:19"},
				{Key: "filesystem.allowWrite", Entry: "./gen/b.go", Folder: sgFolder, Covers: 1, Warning: "overrides denyWrite at " + sgRepo + ":5:19"},
			},
		},
		{
			name: "a group below the deny entry",
			vs: []confine.Violation{
				write("write", sgFolder+"/gen/sub/a.go", 1),
				write("write", sgFolder+"/gen/sub/b.go", 1),
			},
			want: []Suggestion{{Key: "filesystem.allowWrite", Entry: "./gen/sub", Folder: sgFolder, Covers: 2,
				Warning: "overrides denyWrite at " + sgRepo + ":5:19"}},
		},
		{
			name: "Unix sockets are not suggested",
			vs:   []confine.Violation{{Kind: "socket", Operation: "connect", Path: "/run/user/1000/bus", Count: 1}},
		},

		// Network.
		{
			name: "a host no entry allows",
			vs:   []confine.Violation{connect("registry.npmjs.org:443", "not in allowedDomains; no one to ask", 2)},
			want: []Suggestion{{Key: "network.allowedDomains", Entry: "registry.npmjs.org", Covers: 2}},
		},
		{
			name: "port 80 needs no port",
			vs:   []confine.Violation{connect("example.com:80", "not in allowedDomains; denied by approver", 1)},
			want: []Suggestion{{Key: "network.allowedDomains", Entry: "example.com", Covers: 1}},
		},
		{
			name: "another port is written with the host",
			vs:   []confine.Violation{connect("example.com:8443", "port 8443 not in allowedDomains (its entry allows ports 80 and 443 only); no one to ask", 1)},
			want: []Suggestion{{Key: "network.allowedDomains", Entry: "example.com:8443", Covers: 1}},
		},
		{
			name: "an IP literal is suggested as the literal",
			vs:   []confine.Violation{connect("[2001:db8::1]:443", "IP literal", 1)},
			want: []Suggestion{{Key: "network.allowedDomains", Entry: "2001:db8::1", Covers: 1}},
		},
		{
			name: "an IPv6 literal with a port keeps its brackets",
			vs:   []confine.Violation{connect("[2001:db8::1]:8080", "IP literal", 1)},
			want: []Suggestion{{Key: "network.allowedDomains", Entry: "[2001:db8::1]:8080", Covers: 1}},
		},
		{
			name: "a private address says so",
			vs:   []confine.Violation{connect("10.0.0.5:22", "IP literal", 1)},
			want: []Suggestion{{Key: "network.allowedDomains", Entry: "10.0.0.5:22", Covers: 1,
				Warning: "10.0.0.5 is a local network address: the command could reach machines and services on your network"}},
		},
		{
			name: "a loopback address says so",
			vs:   []confine.Violation{connect("127.0.0.1:8080", "IP literal", 1)},
			want: []Suggestion{{Key: "network.allowedDomains", Entry: "127.0.0.1:8080", Covers: 1,
				Warning: "127.0.0.1 is this machine: the command could reach services running outside the sandbox"}},
		},
		{
			name: "localhost says so",
			vs:   []confine.Violation{connect("localhost:3000", "not in allowedDomains; no one to ask", 1)},
			want: []Suggestion{{Key: "network.allowedDomains", Entry: "localhost:3000", Covers: 1,
				Warning: `localhost is this machine: the command could reach services running outside the sandbox (sandbar also refuses it until its address, such as "127.0.0.1", is listed)`}},
		},
		{
			name: "the same host refused for several reasons is one entry",
			vs: []confine.Violation{
				connect("proxy.golang.org:443", "not in allowedDomains; no one to ask", 2),
				connect("proxy.golang.org:443", "not in allowedDomains; denied by approver", 1),
			},
			want: []Suggestion{{Key: "network.allowedDomains", Entry: "proxy.golang.org", Covers: 3}},
		},
		{
			name: "a denied domain is not suggested",
			vs:   []confine.Violation{connect("evil.example:443", "in deniedDomains", 1)},
		},
		{
			name: "a name that resolves to a loopback address is not suggested",
			vs:   []confine.Violation{connect("rebind.example:443", "resolves to a loopback address 127.0.0.1", 1)},
		},
		{
			name: "a name that does not resolve is not suggested",
			vs:   []confine.Violation{connect("nowhere.example:443", "resolving nowhere.example: no such host", 1)},
		},
		{
			name: "a connection without the credential is not suggested",
			vs:   []confine.Violation{connect("", "missing or wrong credential", 3)},
		},
		{
			name: "an invalid port is not suggested",
			vs:   []confine.Violation{connect("example.com:0", "invalid port 0", 1)},
		},
		{
			name: "a mismatched Host header is not suggested",
			vs:   []confine.Violation{connect("a.example:80", `Host header "b.example" does not match the request URI's host "a.example"`, 1)},
		},

		// Order.
		{
			name: "most refusals first, ties in the order they happened",
			vs: []confine.Violation{
				connect("a.example:443", "not in allowedDomains; no one to ask", 1),
				write("write", sgHome+"/notes.txt", 1),
				connect("b.example:443", "not in allowedDomains; no one to ask", 4),
				read(sgHome+"/.aws/config", 1),
				write("create", sgHome+sgGoBuild+"/x", 2),
			},
			want: []Suggestion{
				{Key: "network.allowedDomains", Entry: "b.example", Covers: 4},
				{Key: "presets", Entry: "go", Covers: 2},
				{Key: "network.allowedDomains", Entry: "a.example", Covers: 1},
				{Key: "filesystem.allowWrite", Entry: "~/notes.txt", Covers: 1},
				{Key: "filesystem.allowRead", Entry: "~/.aws/config", Covers: 1, Warning: secretWarning},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := suggestSandbox().Suggest(tt.vs)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Suggest (-want +got):\n%s", diff)
			}
		})
	}
}

// A preset already in force was not enough (its cache did not exist when
// the sandbox was built); suggesting it again would change nothing.
func TestSuggestPresetInForce(t *testing.T) {
	sb := suggestSandbox()
	sb.Effective = &policy.Policy{Presets: []policy.Value{{Text: "go"}}}
	got := sb.Suggest([]confine.Violation{write("create", sgHome+sgGoBuild+"/ab/x", 1)})
	want := []Suggestion{{Key: "filesystem.allowWrite", Entry: "~" + sgGoBuild + "/ab", Covers: 1}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Suggest (-want +got):\n%s", diff)
	}
}

func TestSuggestionString(t *testing.T) {
	tests := []struct {
		name string
		s    Suggestion
		want string
	}{
		{"any policy", Suggestion{Key: "filesystem.allowWrite", Entry: "~/.cache/foo"}, `add "~/.cache/foo" to filesystem.allowWrite`},
		{"a folder's policy", Suggestion{Key: "filesystem.allowWrite", Entry: "./gen/out.go", Folder: sgFolder},
			`add "./gen/out.go" to filesystem.allowWrite in ` + sgFolder + "/.sandbar/policy.jsonc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.s.String(); got != tt.want {
				t.Errorf("String() = %q; want %q", got, tt.want)
			}
		})
	}
}
