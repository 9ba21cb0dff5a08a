package policy

import "fmt"

// Pos is a place in a policy file, 1-based, with the column counted in
// bytes the way Go's own tools and editors' "file:line:col" links expect.
type Pos struct {
	File string
	Line int
	Col  int
}

func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Value is one string from a policy file together with where it was written,
// so that later stages (trust, check, violation reports) can point the user at
// the exact entry.
type Value struct {
	Text string
	Pos  Pos
}

// Policy is one parsed policy file, or the merge of several. Slices keep the
// order of the file; nil and empty mean the same.
type Policy struct {
	Version    int
	Filesystem Filesystem
	Network    Network
	Env        Env
	Presets    []Value
	Git        Git
}

// Filesystem holds paths exactly as written (with "~" and relative paths
// unexpanded); ExpandPath turns them into absolute paths.
type Filesystem struct {
	DenyRead   []Value
	AllowRead  []Value
	AllowWrite []Value
	DenyWrite  []Value
}

type Network struct {
	AllowedDomains   []Value
	DeniedDomains    []Value
	AllowUnixSockets []Value
}

// Env adjusts which environment variables pass into the sandbox. Allow and
// Deny hold name patterns where "*" matches any run of characters,
// compared case-insensitively.
type Env struct {
	Allow []Value
	Deny  []Value
	Set   []EnvVar
}

type EnvVar struct {
	Name  Value
	Value Value
}

// Git says which git hosts sandbar's proxy handles itself and what a push
// through it may do (see docs/git.md). Hosts and patterns are kept as
// written; package gitguard matches them.
type Git struct {
	// Hosts are the git hosts whose HTTPS traffic the proxy terminates
	// and checks, adding the user's credentials: "github.com",
	// "git.example.com:8443".
	Hosts []Value
	Push  GitPush
	// ForcePush and DeleteBranches are nil when no file sets them: a
	// non-fast-forward update and a deletion are then refused.
	ForcePush      *Flag
	DeleteBranches *Flag
}

// GitPush says where a push may go.
type GitPush struct {
	// Branches are the branch name patterns a push may update ("agent/*"):
	// "*" matches any run of characters, "/" included.
	Branches []Value
	// Repositories are the repositories ("github.com/me/project", "*"
	// within a path segment) a push goes to without asking first.
	Repositories []Value
}

// Flag is a true or false from a policy file, with where it was written.
type Flag struct {
	Value bool
	Pos   Pos
}
