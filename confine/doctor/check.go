package doctor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"
)

const (
	// timeout bounds each bwrap run. Neither `bwrap --version` nor a sandbox
	// running /bin/true takes more than milliseconds; a run that hangs is
	// itself a finding, and doctor must answer either way.
	timeout = 10 * time.Second

	// defaultBwrap is where every distribution installs bubblewrap. It is
	// accepted even when PATH misses it, because PATH is often minimal
	// (systemd units, cron, agents that scrub their environment).
	defaultBwrap = "/usr/bin/bwrap"

	apparmorProfile = "/etc/apparmor.d/bwrap"

	maxUserNamespacesPath = "/proc/sys/user/max_user_namespaces"
	usernsClonePath       = "/proc/sys/kernel/unprivileged_userns_clone"
	apparmorRestrictPath  = "/proc/sys/kernel/apparmor_restrict_unprivileged_userns"
)

// minVersion is the first bubblewrap with --disable-userns, --bind-fd and
// --json-status-fd, all of which sandbar relies on.
var minVersion = version{0, 8, 0}

// Check runs every check against env and returns the findings in report
// order. It never stops early: a user fixing one problem should learn about
// the others in the same run.
func Check(ctx context.Context, env Env) []Finding {
	if env.GOOS == "darwin" {
		// macOS confines with Seatbelt: see checkSeatbelt.
		return checkSeatbelt(ctx, env)
	}
	var out []Finding
	bw, f := checkBwrap(ctx, env)
	out = append(out, f)
	if f, ok := checkSetuid(env, bw); ok {
		out = append(out, f)
	}

	// The functional test runs before the switches are reported because
	// it decides how much they matter.
	var p probe
	if bw.usable {
		p = runProbe(ctx, env, bw.path)
	}
	m := machine{
		bwrap:      bw.path,
		root:       isRoot(env),
		container:  detectContainer(env),
		probe:      p,
		maxUserNS:  readSysctl(env, "user.max_user_namespaces", maxUserNamespacesPath),
		usernsCl:   readSysctl(env, "kernel.unprivileged_userns_clone", usernsClonePath),
		aaRestrict: readSysctl(env, "kernel.apparmor_restrict_unprivileged_userns", apparmorRestrictPath),
	}
	if m.bwrap == "" {
		m.bwrap = defaultBwrap // what the AppArmor fix should name once bwrap is installed
	}
	_, err := env.Stat(apparmorProfile)
	m.aaProfile = err == nil

	for _, check := range []func(machine) (Finding, bool){
		checkMaxUserNS,
		checkUsernsClone,
		checkAppArmor,
		checkProbe,
	} {
		if f, ok := check(m); ok {
			out = append(out, f)
		}
	}
	sc := checkSeccomp(env)
	out = append(out, sc)
	if sc.Severity != Fail {
		out = append(out, checkViolations(env))
	}
	out = append(out, checkHiding(env))
	if m.root {
		out = append(out, Finding{
			Check:    "root",
			Severity: OK,
			Summary:  "running as root: commands still run in a user namespace with all capabilities dropped; root passes namespace checks that ordinary users can fail, so run `sandbar doctor` as them too",
		})
	}
	if f, ok := checkContainer(m); ok {
		out = append(out, f)
	}
	return out
}

// machine is what the namespace checks need to know, gathered once so that
// each check can weigh its own reading against the functional test.
type machine struct {
	bwrap      string // path to bwrap, or where it will be once installed
	root       bool
	container  string // why we think this is a container, or ""
	probe      probe
	maxUserNS  sysctl
	usernsCl   sysctl
	aaRestrict sysctl
	aaProfile  bool // /etc/apparmor.d/bwrap exists
}

// bwrap

type bwrapInfo struct {
	path   string // "" when not found
	usable bool   // found, runs and is new enough for the functional test
}

func checkBwrap(ctx context.Context, env Env) (bwrapInfo, Finding) {
	f := Finding{Check: "bwrap"}
	path, err := env.LookPath("bwrap")
	if err != nil {
		if fi, err := env.Stat(defaultBwrap); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			path = defaultBwrap
		}
	}
	if path == "" {
		f.Severity = Fail
		f.Summary = "bubblewrap is not installed (no bwrap on PATH or at " + defaultBwrap + ")"
		f.Fix = installFix
		return bwrapInfo{}, f
	}
	info := bwrapInfo{path: path}

	vctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	stdout, stderr, err := env.Run(vctx, path, "--version")
	if err != nil {
		f.Severity = Fail
		f.Summary = fmt.Sprintf("bubblewrap at %s does not run: %s --version: %s", path, path, errText(stderr, err))
		f.Fix = reinstallFix
		return info, f
	}
	v, ok := parseVersion(string(stdout))
	if !ok {
		f.Severity = Fail
		f.Summary = fmt.Sprintf("cannot tell the version of bubblewrap at %s: %s --version printed %q", path, path, strings.TrimSpace(string(stdout)))
		f.Fix = upgradeFix
		return info, f
	}
	if v.less(minVersion) {
		f.Severity = Fail
		f.Summary = fmt.Sprintf("bubblewrap %s at %s is too old; sandbar needs %s or newer", v, path, minVersion)
		f.Fix = upgradeFix
		return info, f
	}
	info.usable = true
	f.Summary = fmt.Sprintf("bubblewrap %s at %s", v, path)
	return info, f
}

const installFix = `Install bubblewrap (the package is called bubblewrap everywhere):
  sudo apt-get install -y bubblewrap    # Debian, Ubuntu
  sudo dnf install -y bubblewrap        # Fedora, RHEL, CentOS Stream
  sudo pacman -S --needed bubblewrap    # Arch
  sudo zypper install -y bubblewrap     # openSUSE`

const reinstallFix = `Reinstall bubblewrap:
  sudo apt-get install --reinstall -y bubblewrap    # Debian, Ubuntu
  sudo dnf reinstall -y bubblewrap                  # Fedora, RHEL
  sudo pacman -S bubblewrap                         # Arch
  sudo zypper install -f -y bubblewrap              # openSUSE`

const upgradeFix = `sandbar needs bubblewrap 0.8.0 or newer (for --disable-userns, --bind-fd and --json-status-fd).
Upgrade it:
  sudo apt-get install --only-upgrade -y bubblewrap    # Debian 12+, Ubuntu 24.04+
  sudo dnf upgrade -y bubblewrap                       # Fedora, RHEL
  sudo pacman -S bubblewrap                            # Arch
  sudo zypper update -y bubblewrap                     # openSUSE
If your distribution has nothing newer, build it from https://github.com/containers/bubblewrap
(it installs to /usr/local/bin/bwrap, which PATH usually finds first):
  meson setup _build && meson compile -C _build && sudo meson install -C _build`

type version [3]int

func (v version) String() string { return fmt.Sprintf("%d.%d.%d", v[0], v[1], v[2]) }

func (v version) less(w version) bool {
	for i := range v {
		if v[i] != w[i] {
			return v[i] < w[i]
		}
	}
	return false
}

// parseVersion reads "bubblewrap 0.8.0". It tolerates suffixes such as
// "0.11.0-rc1" and a missing patch number, which distribution builds print.
func parseVersion(s string) (version, bool) {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return version{}, false
	}
	parts := strings.Split(strings.TrimPrefix(fields[len(fields)-1], "v"), ".")
	if len(parts) < 2 || len(parts) > 3 {
		return version{}, false
	}
	var v version
	for i, p := range parts {
		end := 0
		for end < len(p) && p[end] >= '0' && p[end] <= '9' {
			end++
		}
		n, err := strconv.Atoi(p[:end])
		if err != nil {
			return version{}, false
		}
		v[i] = n
	}
	return v, true
}

// setuid-bwrap

func checkSetuid(env Env, bw bwrapInfo) (Finding, bool) {
	if bw.path == "" {
		return Finding{}, false
	}
	fi, err := env.Stat(bw.path)
	if err != nil || fi.Mode()&fs.ModeSetuid == 0 {
		return Finding{}, false
	}
	return Finding{
		Check:    "setuid-bwrap",
		Severity: Warn,
		Summary:  bw.path + " is setuid root; it works, but sandbar is built for unprivileged user namespaces and some bwrap options behave differently under setuid",
	}, true
}

// Kernel and AppArmor switches

// sysctl is one read of a /proc/sys file.
type sysctl struct {
	name    string // as sysctl(8) spells it
	path    string
	present bool
	value   int
	err     error // the file exists but could not be read or parsed
}

func readSysctl(env Env, name, path string) sysctl {
	s := sysctl{name: name, path: path}
	b, err := env.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s
	}
	s.present = true
	if err != nil {
		s.err = fmt.Errorf("reading %s: %w", path, err)
		return s
	}
	s.value, err = strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		s.err = fmt.Errorf("reading %s: %w", path, err)
	}
	return s
}

// unreadable reports a switch that exists but could not be read. It is only
// a Warn: the functional test decides whether bwrap works.
func (s sysctl) unreadable(check string) Finding {
	return Finding{Check: check, Severity: Warn, Summary: s.err.Error()}
}

// judge reports a switch. A switch that reads as blocking is a Fail unless
// the functional test showed that bwrap works anyway, which happens with a
// setuid bwrap or when running as root; then it is a Warn, with the fix only
// when root, because ordinary users will still be blocked.
func judge(m machine, check string, blocked bool, summary, fix string) Finding {
	f := Finding{Check: check, Summary: summary}
	if !blocked {
		return f
	}
	switch {
	case m.probe.outcome != passed:
		f.Severity, f.Fix = Fail, fix
	case m.root:
		f.Severity, f.Fix = Warn, fix
		f.Summary += "; bwrap works for root, but ordinary users are blocked"
	default:
		f.Severity = Warn
		f.Summary += "; bwrap works anyway, so this does not block sandbar"
	}
	return f
}

func checkMaxUserNS(m machine) (Finding, bool) {
	const check = "max-user-namespaces"
	s := m.maxUserNS
	if !s.present {
		return Finding{}, false
	}
	if s.err != nil {
		return s.unreadable(check), true
	}
	if s.value > 0 {
		return judge(m, check, false, fmt.Sprintf("%s = %d", s.name, s.value), ""), true
	}
	return judge(m, check, true,
		fmt.Sprintf("user namespaces are disabled: %s = %d", s.name, s.value),
		sysctlFix(s.name, "15000", "90-sandbar-max-user-namespaces.conf")), true
}

// checkUsernsClone reads the switch that Debian 10 and older (and kernels
// carrying its patch) use to forbid unprivileged user namespaces. Other
// kernels do not have the file, and then there is nothing to report.
func checkUsernsClone(m machine) (Finding, bool) {
	const check = "unprivileged-userns-clone"
	s := m.usernsCl
	if !s.present {
		return Finding{}, false
	}
	if s.err != nil {
		return s.unreadable(check), true
	}
	if s.value != 0 {
		return judge(m, check, false, fmt.Sprintf("%s = %d", s.name, s.value), ""), true
	}
	return judge(m, check, true,
		fmt.Sprintf("unprivileged user namespaces are disabled: %s = 0", s.name),
		sysctlFix(s.name, "1", "90-sandbar-unprivileged-userns-clone.conf")), true
}

func sysctlFix(name, value, file string) string {
	return fmt.Sprintf(`Allow them now:
  sudo sysctl -w %[1]s=%[2]s
and after every reboot:
  echo '%[1]s = %[2]s' | sudo tee /etc/sysctl.d/%[3]s`, name, value, file)
}

// checkAppArmor reads the switch by which Ubuntu 23.10 and later confine
// unprivileged user namespaces to programs whose AppArmor profile allows
// them. bwrap has no such profile unless someone writes one.
func checkAppArmor(m machine) (Finding, bool) {
	const check = "apparmor-userns"
	s := m.aaRestrict
	if !s.present {
		return Finding{}, false
	}
	if s.err != nil {
		return s.unreadable(check), true
	}
	if s.value == 0 {
		return Finding{Check: check, Summary: fmt.Sprintf("AppArmor does not restrict unprivileged user namespaces (%s = 0)", s.name)}, true
	}
	restricts := fmt.Sprintf("AppArmor restricts unprivileged user namespaces (%s = %d)", s.name, s.value)
	if !m.aaProfile {
		return judge(m, check, true,
			fmt.Sprintf("%s and there is no %s profile allowing %s", restricts, apparmorProfile, m.bwrap),
			apparmorFix(m.bwrap, false)), true
	}
	switch m.probe.outcome {
	case passed:
		return Finding{Check: check, Summary: fmt.Sprintf("%s; %s lets bwrap use them", restricts, apparmorProfile)}, true
	case failed:
		return Finding{
			Check:    check,
			Severity: Fail,
			Summary:  fmt.Sprintf("%s; %s exists but bwrap still cannot create a sandbox", restricts, apparmorProfile),
			Fix:      apparmorFix(m.bwrap, true),
		}, true
	}
	return Finding{
		Check:    check,
		Severity: Warn,
		Summary:  fmt.Sprintf("%s; %s exists, but whether it works is unknown until bwrap runs", restricts, apparmorProfile),
	}, true
}

func apparmorFix(bwrap string, exists bool) string {
	var b strings.Builder
	if exists {
		fmt.Fprintf(&b, "Make sure %s names the bwrap that runs (%s) and reads:\n", apparmorProfile, bwrap)
	} else {
		fmt.Fprintf(&b, "Give bwrap an AppArmor profile that allows user namespaces.\nCreate %s with this content:\n", apparmorProfile)
	}
	fmt.Fprintf(&b, `  abi <abi/4.0>,
  include <tunables/global>

  profile bwrap %s flags=(unconfined) {
    userns,

    include if exists <local/bwrap>
  }
then load it:
  sudo apparmor_parser -r %s
(or: sudo systemctl reload apparmor)`, bwrap, apparmorProfile)
	return b.String()
}

// seccomp

// checkSeccomp looks for seccomp filter support in /proc/self/status. The
// Seccomp line exists when the kernel has CONFIG_SECCOMP; since Linux 5.9
// the Seccomp_filters line exists when it also has CONFIG_SECCOMP_FILTER,
// which is what sandbar needs. On older kernels the second line is missing
// either way, and doctor cannot tell.
func checkSeccomp(env Env) Finding {
	const check = "seccomp"
	const fix = `Boot a kernel built with CONFIG_SECCOMP=y and CONFIG_SECCOMP_FILTER=y;
every major distribution's stock kernel has both. Check a kernel's config with:
  grep SECCOMP /boot/config-$(uname -r)`
	status, err := env.ReadFile("/proc/self/status")
	if err != nil {
		return Finding{
			Check:    check,
			Severity: Fail,
			Summary:  fmt.Sprintf("cannot check seccomp support: reading /proc/self/status: %v", err),
			Fix:      "Mount /proc, which bwrap needs as well:\n  sudo mount -t proc proc /proc",
		}
	}
	fields := statusFields(status)
	_, mode := fields["Seccomp"]
	_, filters := fields["Seccomp_filters"]
	switch {
	case mode && filters:
		return Finding{Check: check, Summary: "the kernel supports seccomp filters"}
	case !mode:
		return Finding{
			Check:    check,
			Severity: Fail,
			Summary:  "the kernel has no seccomp support (no Seccomp line in /proc/self/status)",
			Fix:      fix,
		}
	}
	release, _ := env.ReadFile("/proc/sys/kernel/osrelease")
	if v, ok := parseVersion(string(release)); ok && v.less(version{5, 9, 0}) {
		return Finding{
			Check:    check,
			Severity: Warn,
			Summary:  fmt.Sprintf("cannot tell whether Linux %s supports seccomp filters: it predates the Seccomp_filters line in /proc/self/status (5.9)", strings.TrimSpace(string(release))),
		}
	}
	return Finding{
		Check:    check,
		Severity: Fail,
		Summary:  "the kernel was built without seccomp filters (no Seccomp_filters line in /proc/self/status)",
		Fix:      fix,
	}
}

// violations

// checkViolations tells whether runs report what the sandbox refuses as
// it happens. Without it commands are confined just the same, so it is
// at most a Warn.
func checkViolations(env Env) Finding {
	const check = "violations"
	if err := env.Listener(); err != nil {
		return Finding{
			Check:    check,
			Severity: Warn,
			Summary:  fmt.Sprintf("refused writes and sockets are not reported (%v); commands are confined all the same, and their own error messages are all that shows what was refused", err),
			Fix: `Reports need seccomp user notification (Linux 5.5 and later) and a process
that may install a seccomp filter with a listener: sandbar inside another
sandbar sandbox, or in a container whose seccomp profile refuses such
filters, may not.`,
		}
	}
	return Finding{Check: check, Summary: "refused writes and sockets are reported as they happen (seccomp user notification)"}
}

// hiding

// minLandlockABI is the first Landlock ABI confine uses: the first with
// REFER (Linux 5.19), without which the kernel refuses every rename into
// another directory to a process under Landlock.
const minLandlockABI = 2

// checkHiding tells whether Landlock backs the mounts that hide paths
// (docs/hiding.md). Without it hidden paths are hidden all the same
// when the sandbox starts, so it is at most a Warn; but the host can
// then undo the hiding of a running sandbox, which the user must know.
func checkHiding(env Env) Finding {
	const check = "hiding"
	abi, err := env.Landlock()
	if err == nil && abi < minLandlockABI {
		err = fmt.Errorf("Landlock ABI %d is too old (sandbar needs %d, Linux 5.19)", abi, minLandlockABI)
	}
	if err != nil {
		return Finding{
			Check:    check,
			Severity: Warn,
			Summary:  fmt.Sprintf("hidden paths are hidden by mounts only (%v): a hidden file the host replaces (as editors and credential helpers save) or a hidden directory it makes again becomes readable in sandboxes already running", err),
			Fix: `Boot Linux 5.19 or later with Landlock among its security modules;
cat /sys/kernel/security/lsm must list landlock. Where it does not, add it to
the kernel's lsm= parameter (keeping the modules listed there), for instance in
/etc/default/grub:
  GRUB_CMDLINE_LINUX="lsm=landlock,lockdown,yama,integrity,apparmor,bpf"
then run sudo update-grub and reboot.`,
		}
	}
	return Finding{Check: check, Summary: fmt.Sprintf("hidden paths stay hidden when the host replaces them (Landlock ABI %d)", abi)}
}

// statusFields parses "Name:\tvalue" lines of /proc/<pid>/status.
func statusFields(b []byte) map[string]string {
	fields := make(map[string]string)
	for line := range strings.SplitSeq(string(b), "\n") {
		name, value, ok := strings.Cut(line, ":")
		if ok {
			fields[name] = strings.TrimSpace(value)
		}
	}
	return fields
}

// isRoot reads the effective uid from /proc/self/status rather than asking
// the process, so that tests can fake it like everything else.
func isRoot(env Env) bool {
	status, err := env.ReadFile("/proc/self/status")
	if err != nil {
		return false
	}
	uids := strings.Fields(statusFields(status)["Uid"]) // real, effective, saved, fs
	return len(uids) >= 2 && uids[1] == "0"
}

// container

func detectContainer(env Env) string {
	for _, marker := range []string{"/.dockerenv", "/run/.containerenv"} {
		if _, err := env.Stat(marker); err == nil {
			return marker + " exists"
		}
	}
	cgroup, err := env.ReadFile("/proc/1/cgroup")
	if err != nil {
		return ""
	}
	for _, word := range []string{"docker", "containerd", "kubepods", "libpod", "lxc"} {
		if bytes.Contains(cgroup, []byte(word)) {
			return "/proc/1/cgroup mentions " + word
		}
	}
	return ""
}

func checkContainer(m machine) (Finding, bool) {
	if m.container == "" {
		return Finding{}, false
	}
	f := Finding{Check: "container", Summary: "running inside a container (" + m.container + ")"}
	switch m.probe.outcome {
	case passed:
		f.Summary += "; bwrap works here"
	case failed:
		f.Severity = Fail
		f.Summary += ", which may forbid the user namespaces and mounts bwrap needs"
		f.Fix = containerFix
	}
	return f, true
}

const containerFix = `Run sandbar on the host, or let the container create user namespaces:
  docker run --security-opt seccomp=unconfined --security-opt apparmor=unconfined ...
  podman run --security-opt seccomp=unconfined --security-opt label=disable ...
If bwrap's error mentions proc, Docker's masked /proc paths are in the way; also add:
  --security-opt systempaths=unconfined
In Kubernetes, set the container's securityContext seccompProfile and appArmorProfile
to type: Unconfined.`

// errText is a failed command's stderr on one line, or its error when it
// printed nothing.
func errText(stderr []byte, err error) string {
	if s := oneLine(string(stderr)); s != "" {
		return s
	}
	return err.Error()
}

func oneLine(s string) string {
	var lines []string
	for line := range strings.SplitSeq(s, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			lines = append(lines, line)
		}
	}
	return strings.Join(lines, "; ")
}
