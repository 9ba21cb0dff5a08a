package workspace

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/sandbar-dev/sandbar/confine"
	"github.com/sandbar-dev/sandbar/workspace/policy"
)

// PolicyFileName is where a workspace folder keeps its policy.
const PolicyFileName = ".sandbar/policy.jsonc"

// maxPolicySize bounds how much of an untrusted policy file is read.
const maxPolicySize = 1 << 20

// Truster says whether the user approved a repository policy's content.
type Truster interface {
	Trusted(path string, content []byte) (bool, error)
}

// Options are the inputs of Load. Everything Load reads from the machine
// besides the files it names is the file system under Folders and Home.
type Options struct {
	// Folders are the workspace folders, writable in the sandbox.
	Folders []string
	// UserPolicy is the user's policy file. A missing file is no policy,
	// unless UserPolicyRequired (sandbar run --policy FILE).
	UserPolicy         string
	UserPolicyRequired bool
	// Home is the user's home directory, for "~" in policies.
	Home string
	// Trust decides which repository policies may widen the sandbox.
	Trust Truster
	// Environ is the environment the command would inherit.
	Environ []string
	// OwnPaths are sandbar's own configuration and state (the user
	// policy, the trust store); they stay read-only even where they lie
	// inside a writable folder.
	OwnPaths []string
	// HiddenPaths are hidden in every sandbox whatever the policies say:
	// the sockets of sandbar's editor hosts, which answer approval
	// questions and must never hear from a confined command, and the key
	// of the CA that signs for git hosts.
	HiddenPaths []string
	// ScanCache, if set, keeps what the walk for nested repositories
	// found between runs, so the next one reads only what changed.
	ScanCache ScanCache
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// PolicyFile is one policy file that applies.
type PolicyFile struct {
	Path string
	// Folder is the workspace folder it belongs to, or "" for the user's
	// policy.
	Folder  string
	Content []byte
	// Trusted is true for the user's policy and for approved repository
	// policies.
	Trusted bool
	// Widening lists the entries that widen the sandbox; for an untrusted
	// file they are the ones ignored.
	Widening []Entry
}

// Entry is one policy entry, for messages: what it is, where, and why it
// matters.
type Entry struct {
	Key   string // "filesystem.allowWrite"
	Value policy.Value
	Note  string // why it widens: "outside the workspace folder"
}

func (e Entry) String() string {
	s := fmt.Sprintf("%s: %s %q", e.Value.Pos, e.Key, e.Value.Text)
	if e.Note != "" {
		s += " (" + e.Note + ")"
	}
	return s
}

// Sandbox is what Load works out: the sandbox for commands run in these
// folders under these policies. It is a value; reuse it for many commands
// as long as the folders and policy files do not change.
type Sandbox struct {
	Policies
	Paths []confine.Path
	Pin   []string
	// Watch are protected paths that did not exist when the sandbox was
	// built; Audit reports and undoes any that a command creates.
	Watch []Watched
	// Repos are the git repositories found under the writable folders.
	Repos []string
	Env   []string

	home  string
	scans []*scan
	cache ScanCache
	now   func() time.Time
	// trust tells the audit which policy files sandbar itself wrote
	// during the run (the user's answer to a prompt, approved as it
	// was written); nil: none.
	trust Truster
}

// Watched is a protected path that does not exist yet.
type Watched struct {
	Path string
	Rule string
}

// Policies are the policy files that apply to a set of folders and what
// they add up to.
type Policies struct {
	Folders []string
	Files   []PolicyFile
	// Effective is the merged policy that applies (without ignored
	// entries).
	Effective *policy.Policy
	// Ignored are entries of untrusted repository policies that were not
	// applied.
	Ignored []Entry
	// Warnings are things the user should know that do not stop a run.
	Warnings []string

	layers []*policy.Policy
	// stamp is what the files looked like just before they were read
	// (see Checker).
	stamp string
}

// Load works out the sandbox. Policy errors come back as a
// policy.ErrorList holding every error of every file.
func Load(opts Options) (*Sandbox, error) {
	ps, cached, err := loadPolicies(opts, true)
	if err != nil {
		return nil, err
	}
	return fromPolicies(opts, ps, cached)
}

// FromPolicies works out the sandbox for policies already loaded with
// opts, such as the last good ones a Follower keeps while an edit that
// does not parse is pending: the files are not read again.
func FromPolicies(opts Options, ps *Policies) (*Sandbox, error) {
	return fromPolicies(opts, ps, opts.ScanCache.load)
}

// fromPolicies is FromPolicies with the folders' cached scans from
// cached.
func fromPolicies(opts Options, ps *Policies, cached func(root string) *scan) (*Sandbox, error) {
	sb := &Sandbox{Policies: *ps, home: opts.Home, now: opts.Now, trust: opts.Trust}
	if sb.now == nil {
		sb.now = time.Now
	}
	if err := sb.buildPaths(ps.layers, opts, cached); err != nil {
		return nil, err
	}
	sb.Env = filterEnv(opts.Environ, sb.Effective)
	return sb, nil
}

// LoadPolicies reads and merges the policy files that apply to
// opts.Folders, without looking at the folders' contents: it is what
// decisions made while a command runs (network access) need, and cheap
// enough to repeat whenever a policy file changes.
func LoadPolicies(opts Options) (*Policies, error) {
	ps, _, err := loadPolicies(opts, false)
	return ps, err
}

// loadPolicies is LoadPolicies; with prefetch, it also starts reading
// the folders' cached scans, which Load needs once the policies are read
// and their paths resolved.
func loadPolicies(opts Options, prefetch bool) (*Policies, func(root string) *scan, error) {
	if len(opts.Folders) == 0 {
		return nil, nil, errors.New("loading workspace: no workspace folder")
	}
	if !filepath.IsAbs(opts.Home) {
		// Without a home directory "~/.ssh" means nothing, and the
		// secrets it names would stay readable: refuse instead.
		return nil, nil, errors.New("loading workspace: no home directory; set $HOME")
	}
	sb := &Policies{}
	for _, f := range opts.Folders {
		abs, err := filepath.Abs(f)
		if err != nil {
			return nil, nil, fmt.Errorf("workspace folder %s: %w", f, err)
		}
		r, err := filepath.EvalSymlinks(abs)
		if err != nil {
			return nil, nil, fmt.Errorf("workspace folder %s: %w", f, err)
		}
		if !isDir(r) {
			return nil, nil, fmt.Errorf("workspace folder %s is not a directory", f)
		}
		if r == "/" {
			return nil, nil, fmt.Errorf("workspace folder %s is the root directory; choose a project directory", f)
		}
		if f := linkInside(abs, sb.Folders); f != "" && !within(r, f) {
			return nil, nil, fmt.Errorf("workspace folder %s leads out of the workspace folder %s through a symbolic link inside it, which commands in the sandbox can change; open %s instead", abs, f, r)
		}
		if !contains(sb.Folders, r) {
			sb.Folders = append(sb.Folders, r)
		}
	}

	sb.stamp = policyStamp(opts.UserPolicy, sb.Folders)
	cached := opts.ScanCache.load
	if prefetch {
		cached = opts.ScanCache.prefetch(sb.Folders)
	}
	var errs policy.ErrorList
	layers := []*policy.Policy{withBase(policy.Default(), opts.Home, opts.Home)}
	if opts.UserPolicy != "" {
		content, err := readPolicy(opts.UserPolicy)
		switch {
		case errors.Is(err, fs.ErrNotExist) && !opts.UserPolicyRequired:
		case err != nil:
			return nil, nil, err
		default:
			p, err := policy.Parse(opts.UserPolicy, content)
			if err != nil {
				errs = appendErrs(errs, err)
			} else {
				if err := checkPaths(p, opts.Home, filepath.Dir(opts.UserPolicy)); err != nil {
					errs = appendErrs(errs, err)
				}
				layers = append(layers, withBase(p, opts.Home, filepath.Dir(opts.UserPolicy)))
				sb.Files = append(sb.Files, PolicyFile{Path: opts.UserPolicy, Content: content, Trusted: true})
			}
		}
	}
	for _, folder := range sb.Folders {
		path := filepath.Join(folder, PolicyFileName)
		content, err := readPolicy(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		p, err := policy.Parse(path, content)
		if err != nil {
			errs = appendErrs(errs, err)
			continue
		}
		if err := checkPaths(p, opts.Home, folder); err != nil {
			errs = appendErrs(errs, err)
			continue
		}
		trusted := false
		if opts.Trust != nil {
			trusted, err = opts.Trust.Trusted(path, content)
			if err != nil {
				sb.Warnings = append(sb.Warnings, err.Error())
			}
		}
		pf := PolicyFile{Path: path, Folder: folder, Content: content, Trusted: trusted}
		pf.Widening = Widening(p, folder, opts.Home)
		applied := p
		if !trusted {
			applied = Narrowing(p, folder, opts.Home)
			for _, e := range pf.Widening {
				sb.Ignored = append(sb.Ignored, e)
			}
		}
		sb.Files = append(sb.Files, pf)
		layers = append(layers, withBase(applied, opts.Home, folder))
	}
	if len(errs) > 0 {
		errs.Sort()
		return nil, nil, errs
	}
	sb.Effective = policy.Merge(layers...)
	for _, v := range sb.Effective.Network.AllowUnixSockets {
		// Fail closed and say so: the socket stays unreachable.
		sb.Warnings = append(sb.Warnings, fmt.Sprintf("%s: allowUnixSockets %q is not supported on Linux yet; the command cannot reach any Unix socket on the host", v.Pos, v.Text))
	}
	sb.layers = layers
	return sb, cached, nil
}

func readPolicy(path string) ([]byte, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	// A repository controls its policy file: refuse a symlink (which could
	// point at a device or a file the user never meant as policy) and
	// anything that is not a plain file of sane size.
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("reading policy %s: not a regular file (symlinks are not followed); make it a plain file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading policy %s: %w", path, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPolicySize+1))
	if err != nil {
		return nil, fmt.Errorf("reading policy %s: %w", path, err)
	}
	if len(b) > maxPolicySize {
		return nil, fmt.Errorf("reading policy %s: larger than %d bytes", path, maxPolicySize)
	}
	return b, nil
}

func appendErrs(list policy.ErrorList, err error) policy.ErrorList {
	var el policy.ErrorList
	if errors.As(err, &el) {
		return append(list, el...)
	}
	var pe *policy.Error
	if errors.As(err, &pe) {
		return append(list, pe)
	}
	return append(list, &policy.Error{Msg: err.Error()})
}

// checkPaths reports paths that cannot be expanded (such as "~" without a
// home directory) with their position.
func checkPaths(p *policy.Policy, home, base string) error {
	var errs policy.ErrorList
	for _, list := range [][]policy.Value{p.Filesystem.DenyRead, p.Filesystem.AllowRead, p.Filesystem.AllowWrite, p.Filesystem.DenyWrite, p.Network.AllowUnixSockets} {
		for _, v := range list {
			if _, err := policy.ExpandPath(v.Text, home, base); err != nil {
				errs = append(errs, &policy.Error{Pos: v.Pos, Msg: err.Error()})
			}
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
