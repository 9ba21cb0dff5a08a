package doctor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// line is the part of a finding every case compares in full. The wording of
// summaries and fixes is pinned by the golden tests; here a case names the
// phrases that matter for its branch.
type line struct {
	Check    string
	Severity Severity
}

// bwrap's own messages for the failures doctor recognizes.
const (
	stderrUIDMap  = "bwrap: setting up uid map: Permission denied\n"
	stderrNoPerms = "bwrap: No permissions to create new namespace, likely because the kernel does not allow non-privileged user namespaces. On e.g. debian this can be enabled with 'sysctl kernel.unprivileged_userns_clone=1'.\n"
	stderrNoSpace = "bwrap: Creating new namespace failed: No space left on device\n"
	stderrProc    = "bwrap: Can't mount proc on /newroot/proc: Operation not permitted\n"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name  string
		setup func(m *fakeMachine)
		want  []line
		// mention maps a check to phrases its Summary or Fix must contain.
		mention map[string][]string
		// absent lists checks whose Fix must be empty.
		noFix []string
	}{
		{
			name:  "healthy",
			setup: func(m *fakeMachine) {},
			want:  []line{{"bwrap", OK}, {"max-user-namespaces", OK}, {"userns", OK}, {"seccomp", OK}, {"violations", OK}, {"hiding", OK}},
			mention: map[string][]string{
				"bwrap":               {"bubblewrap 0.9.0 at /usr/bin/bwrap"},
				"max-user-namespaces": {"63366"},
			},
			noFix: []string{"bwrap", "max-user-namespaces", "userns", "seccomp", "violations"},
		},
		{
			name:  "bwrap missing",
			setup: func(m *fakeMachine) { m.removeBwrap() },
			// The functional test cannot run, so there is no userns line.
			want: []line{{"bwrap", Fail}, {"max-user-namespaces", OK}, {"seccomp", OK}, {"violations", OK}, {"hiding", OK}},
			mention: map[string][]string{"bwrap": {
				"not installed",
				"sudo apt-get install -y bubblewrap",
				"sudo dnf install -y bubblewrap",
				"sudo pacman -S --needed bubblewrap",
				"sudo zypper install -y bubblewrap",
			}},
		},
		{
			name: "bwrap not on PATH but at /usr/bin/bwrap",
			setup: func(m *fakeMachine) {
				delete(m.path, "bwrap")
			},
			want:    []line{{"bwrap", OK}, {"max-user-namespaces", OK}, {"userns", OK}, {"seccomp", OK}, {"violations", OK}, {"hiding", OK}},
			mention: map[string][]string{"bwrap": {"at /usr/bin/bwrap"}},
		},
		{
			name: "not executable at /usr/bin/bwrap",
			setup: func(m *fakeMachine) {
				delete(m.path, "bwrap")
				m.modes["/usr/bin/bwrap"] = 0o644
				m.runs = map[string]fakeRun{}
			},
			want:    []line{{"bwrap", Fail}, {"max-user-namespaces", OK}, {"seccomp", OK}, {"violations", OK}, {"hiding", OK}},
			mention: map[string][]string{"bwrap": {"not installed"}},
		},
		{
			name:  "bwrap elsewhere on PATH",
			setup: func(m *fakeMachine) { m.moveBwrap("/usr/local/bin/bwrap") },
			want:  []line{{"bwrap", OK}, {"max-user-namespaces", OK}, {"userns", OK}, {"seccomp", OK}, {"violations", OK}, {"hiding", OK}},
			mention: map[string][]string{
				"bwrap": {"at /usr/local/bin/bwrap"},
			},
		},
		{
			name:  "old version",
			setup: func(m *fakeMachine) { m.bwrapVersion("bubblewrap 0.6.1\n") },
			// Too old for --disable-userns, so the functional test is skipped
			// rather than failing on an unknown option.
			want: []line{{"bwrap", Fail}, {"max-user-namespaces", OK}, {"seccomp", OK}, {"violations", OK}, {"hiding", OK}},
			mention: map[string][]string{"bwrap": {
				"0.6.1", "too old", "0.8.0",
				"sudo apt-get install --only-upgrade -y bubblewrap",
				"meson",
			}},
		},
		{
			name:    "version just below minimum",
			setup:   func(m *fakeMachine) { m.bwrapVersion("bubblewrap 0.7.9\n") },
			want:    []line{{"bwrap", Fail}, {"max-user-namespaces", OK}, {"seccomp", OK}, {"violations", OK}, {"hiding", OK}},
			mention: map[string][]string{"bwrap": {"too old"}},
		},
		{
			name:    "minimum version",
			setup:   func(m *fakeMachine) { m.bwrapVersion("bubblewrap 0.8.0\n") },
			want:    []line{{"bwrap", OK}, {"max-user-namespaces", OK}, {"userns", OK}, {"seccomp", OK}, {"violations", OK}, {"hiding", OK}},
			mention: map[string][]string{"bwrap": {"bubblewrap 0.8.0 at /usr/bin/bwrap"}},
		},
		{
			name:    "two-digit minor version",
			setup:   func(m *fakeMachine) { m.bwrapVersion("bubblewrap 0.11.0\n") },
			want:    []line{{"bwrap", OK}, {"max-user-namespaces", OK}, {"userns", OK}, {"seccomp", OK}, {"violations", OK}, {"hiding", OK}},
			mention: map[string][]string{"bwrap": {"bubblewrap 0.11.0"}},
		},
		{
			name:    "unreadable version",
			setup:   func(m *fakeMachine) { m.bwrapVersion("something else\n") },
			want:    []line{{"bwrap", Fail}, {"max-user-namespaces", OK}, {"seccomp", OK}, {"violations", OK}, {"hiding", OK}},
			mention: map[string][]string{"bwrap": {"cannot tell the version", "something else"}},
		},
		{
			name: "version command fails",
			setup: func(m *fakeMachine) {
				m.runs[versionCmd] = fakeRun{stderr: "bwrap: error while loading shared libraries: libcap.so.2\n", err: errExit}
			},
			want:    []line{{"bwrap", Fail}, {"max-user-namespaces", OK}, {"seccomp", OK}, {"violations", OK}, {"hiding", OK}},
			mention: map[string][]string{"bwrap": {"does not run", "libcap.so.2", "--reinstall"}},
		},
		{
			name:    "setuid bwrap",
			setup:   func(m *fakeMachine) { m.modes["/usr/bin/bwrap"] = 0o755 | fs.ModeSetuid },
			want:    []line{{"bwrap", OK}, {"setuid-bwrap", Warn}, {"max-user-namespaces", OK}, {"userns", OK}, {"seccomp", OK}, {"violations", OK}, {"hiding", OK}},
			mention: map[string][]string{"setuid-bwrap": {"/usr/bin/bwrap is setuid"}},
		},
		{
			name: "max_user_namespaces 0",
			setup: func(m *fakeMachine) {
				m.files["/proc/sys/user/max_user_namespaces"] = "0\n"
				m.probeFails(stderrNoSpace)
			},
			want: []line{{"bwrap", OK}, {"max-user-namespaces", Fail}, {"userns", Fail}, {"seccomp", OK}, {"violations", OK}, {"hiding", OK}},
			mention: map[string][]string{
				"max-user-namespaces": {
					"user.max_user_namespaces = 0",
					"sudo sysctl -w user.max_user_namespaces=15000",
					"/etc/sysctl.d/",
				},
				"userns": {"No space left on device", `"max-user-namespaces"`},
			},
		},
		{
			name: "max_user_namespaces 0 but bwrap works",
			setup: func(m *fakeMachine) {
				m.files["/proc/sys/user/max_user_namespaces"] = "0\n"
			},
			// The functional test wins: the read is context, not a blocker.
			want:    []line{{"bwrap", OK}, {"max-user-namespaces", Warn}, {"userns", OK}, {"seccomp", OK}, {"violations", OK}, {"hiding", OK}},
			mention: map[string][]string{"max-user-namespaces": {"works anyway"}},
			noFix:   []string{"max-user-namespaces"},
		},
		{
			name: "max_user_namespaces 0 but bwrap works for root",
			setup: func(m *fakeMachine) {
				m.files["/proc/sys/user/max_user_namespaces"] = "0\n"
				m.asRoot()
			},
			// Root gets through where ordinary users do not, so the fix is kept.
			want: []line{{"bwrap", OK}, {"max-user-namespaces", Warn}, {"userns", OK}, {"seccomp", OK}, {"violations", OK}, {"hiding", OK}, {"root", OK}},
			mention: map[string][]string{"max-user-namespaces": {
				"ordinary users are blocked",
				"sudo sysctl -w user.max_user_namespaces=15000",
			}},
		},
		{
			name: "max_user_namespaces 0 and bwrap missing",
			setup: func(m *fakeMachine) {
				m.files["/proc/sys/user/max_user_namespaces"] = "0\n"
				m.removeBwrap()
			},
			// Without a functional test the read stands on its own.
			want: []line{{"bwrap", Fail}, {"max-user-namespaces", Fail}, {"seccomp", OK}, {"violations", OK}, {"hiding", OK}},
		},
		{
			name: "max_user_namespaces unreadable",
			setup: func(m *fakeMachine) {
				m.files["/proc/sys/user/max_user_namespaces"] = "lots\n"
			},
			want:    []line{{"bwrap", OK}, {"max-user-namespaces", Warn}, {"userns", OK}, {"seccomp", OK}, {"violations", OK}, {"hiding", OK}},
			mention: map[string][]string{"max-user-namespaces": {"reading /proc/sys/user/max_user_namespaces"}},
		},
		{
			name: "unprivileged_userns_clone 0",
			setup: func(m *fakeMachine) {
				m.files["/proc/sys/kernel/unprivileged_userns_clone"] = "0\n"
				m.probeFails(stderrNoPerms)
			},
			want: []line{{"bwrap", OK}, {"max-user-namespaces", OK}, {"unprivileged-userns-clone", Fail}, {"userns", Fail}, {"seccomp", OK}, {"violations", OK}, {"hiding", OK}},
			mention: map[string][]string{
				"unprivileged-userns-clone": {
					"sudo sysctl -w kernel.unprivileged_userns_clone=1",
					"echo 'kernel.unprivileged_userns_clone = 1' | sudo tee /etc/sysctl.d/",
				},
				"userns": {"No permissions to create new namespace", `"unprivileged-userns-clone"`},
			},
		},
		{
			name: "unprivileged_userns_clone 1",
			setup: func(m *fakeMachine) {
				m.files["/proc/sys/kernel/unprivileged_userns_clone"] = "1\n"
			},
			want: []line{{"bwrap", OK}, {"max-user-namespaces", OK}, {"unprivileged-userns-clone", OK}, {"userns", OK}, {"seccomp", OK}, {"violations", OK}, {"hiding", OK}},
		},
		{
			name: "unprivileged_userns_clone 0 with setuid bwrap",
			setup: func(m *fakeMachine) {
				m.files["/proc/sys/kernel/unprivileged_userns_clone"] = "0\n"
				m.modes["/usr/bin/bwrap"] = 0o755 | fs.ModeSetuid
			},
			want: []line{{"bwrap", OK}, {"setuid-bwrap", Warn}, {"max-user-namespaces", OK}, {"unprivileged-userns-clone", Warn}, {"userns", OK}, {"seccomp", OK}, {"violations", OK}, {"hiding", OK}},
		},
		{
			name: "apparmor restriction without profile",
			setup: func(m *fakeMachine) {
				m.files["/proc/sys/kernel/apparmor_restrict_unprivileged_userns"] = "1\n"
				m.probeFails(stderrUIDMap)
			},
			want: []line{{"bwrap", OK}, {"max-user-namespaces", OK}, {"apparmor-userns", Fail}, {"userns", Fail}, {"seccomp", OK}, {"violations", OK}, {"hiding", OK}},
			mention: map[string][]string{
				"apparmor-userns": {
					"no /etc/apparmor.d/bwrap profile allowing /usr/bin/bwrap",
					"Create /etc/apparmor.d/bwrap",
					"abi <abi/4.0>,\n  include <tunables/global>\n\n  profile bwrap /usr/bin/bwrap flags=(unconfined) {\n    userns,\n\n    include if exists <local/bwrap>\n  }\n",
					"sudo apparmor_parser -r /etc/apparmor.d/bwrap",
					"sudo systemctl reload apparmor",
				},
				"userns": {"setting up uid map: Permission denied", `"apparmor-userns"`},
			},
		},
		{
			name: "apparmor restriction names the bwrap found",
			setup: func(m *fakeMachine) {
				m.moveBwrap("/usr/local/bin/bwrap")
				m.files["/proc/sys/kernel/apparmor_restrict_unprivileged_userns"] = "1\n"
				m.runs["/usr/local/bin/bwrap --unshare-all --die-with-parent --ro-bind / / --dev /dev --proc /proc --disable-userns --unshare-user -- /bin/true"] = fakeRun{stderr: stderrUIDMap, err: errExit}
			},
			want: []line{{"bwrap", OK}, {"max-user-namespaces", OK}, {"apparmor-userns", Fail}, {"userns", Fail}, {"seccomp", OK}, {"violations", OK}, {"hiding", OK}},
			mention: map[string][]string{
				"apparmor-userns": {"profile bwrap /usr/local/bin/bwrap flags=(unconfined)"},
				"userns":          {"/usr/local/bin/bwrap --unshare-all"},
			},
		},
		{
			name: "apparmor restriction with profile that works",
			setup: func(m *fakeMachine) {
				m.files["/proc/sys/kernel/apparmor_restrict_unprivileged_userns"] = "1\n"
				m.files["/etc/apparmor.d/bwrap"] = "profile bwrap /usr/bin/bwrap flags=(unconfined) { userns, }\n"
			},
			want:    []line{{"bwrap", OK}, {"max-user-namespaces", OK}, {"apparmor-userns", OK}, {"userns", OK}, {"seccomp", OK}, {"violations", OK}, {"hiding", OK}},
			mention: map[string][]string{"apparmor-userns": {"/etc/apparmor.d/bwrap lets bwrap use them"}},
			noFix:   []string{"apparmor-userns"},
		},
		{
			name: "apparmor restriction with profile that does not work",
			setup: func(m *fakeMachine) {
				m.files["/proc/sys/kernel/apparmor_restrict_unprivileged_userns"] = "1\n"
				m.files["/etc/apparmor.d/bwrap"] = "profile bwrap /bin/bwrap flags=(unconfined) { userns, }\n"
				m.probeFails(stderrUIDMap)
			},
			want: []line{{"bwrap", OK}, {"max-user-namespaces", OK}, {"apparmor-userns", Fail}, {"userns", Fail}, {"seccomp", OK}, {"violations", OK}, {"hiding", OK}},
			mention: map[string][]string{"apparmor-userns": {
				"exists but bwrap still cannot create a sandbox",
				"names the bwrap that runs (/usr/bin/bwrap)",
				"sudo apparmor_parser -r /etc/apparmor.d/bwrap",
			}},
		},
		{
			name: "apparmor restriction without profile but bwrap works",
			setup: func(m *fakeMachine) {
				m.files["/proc/sys/kernel/apparmor_restrict_unprivileged_userns"] = "1\n"
			},
			want:  []line{{"bwrap", OK}, {"max-user-namespaces", OK}, {"apparmor-userns", Warn}, {"userns", OK}, {"seccomp", OK}, {"violations", OK}, {"hiding", OK}},
			noFix: []string{"apparmor-userns"},
		},
		{
			name: "apparmor restriction and bwrap missing",
			setup: func(m *fakeMachine) {
				m.files["/proc/sys/kernel/apparmor_restrict_unprivileged_userns"] = "1\n"
				m.removeBwrap()
			},
			// The profile names where bwrap will be installed.
			want:    []line{{"bwrap", Fail}, {"max-user-namespaces", OK}, {"apparmor-userns", Fail}, {"seccomp", OK}, {"violations", OK}, {"hiding", OK}},
			mention: map[string][]string{"apparmor-userns": {"profile bwrap /usr/bin/bwrap flags=(unconfined)"}},
		},
		{
			name: "apparmor profile and bwrap missing",
			setup: func(m *fakeMachine) {
				m.files["/proc/sys/kernel/apparmor_restrict_unprivileged_userns"] = "1\n"
				m.files["/etc/apparmor.d/bwrap"] = "profile bwrap /usr/bin/bwrap flags=(unconfined) { userns, }\n"
				m.removeBwrap()
			},
			want: []line{{"bwrap", Fail}, {"max-user-namespaces", OK}, {"apparmor-userns", Warn}, {"seccomp", OK}, {"violations", OK}, {"hiding", OK}},
		},
		{
			name: "apparmor not restricting",
			setup: func(m *fakeMachine) {
				m.files["/proc/sys/kernel/apparmor_restrict_unprivileged_userns"] = "0\n"
			},
			want: []line{{"bwrap", OK}, {"max-user-namespaces", OK}, {"apparmor-userns", OK}, {"userns", OK}, {"seccomp", OK}, {"violations", OK}, {"hiding", OK}},
		},
		{
			name:  "functional failure with uid map denied and no switch set",
			setup: func(m *fakeMachine) { m.probeFails(stderrUIDMap) },
			want:  []line{{"bwrap", OK}, {"max-user-namespaces", OK}, {"userns", Fail}, {"seccomp", OK}, {"violations", OK}, {"hiding", OK}},
			mention: map[string][]string{"userns": {
				"bwrap cannot create a sandbox: bwrap: setting up uid map: Permission denied",
				"AppArmor or SELinux",
				"sudo dmesg",
				probeCmd,
			}},
		},
		{
			name:  "functional failure with no permissions and no switch set",
			setup: func(m *fakeMachine) { m.probeFails(stderrNoPerms) },
			want:  []line{{"bwrap", OK}, {"max-user-namespaces", OK}, {"userns", Fail}, {"seccomp", OK}, {"violations", OK}, {"hiding", OK}},
			mention: map[string][]string{"userns": {
				"refuses to create unprivileged user namespaces",
				"sudo dmesg",
			}},
		},
		{
			name:    "functional failure with namespace limit used up",
			setup:   func(m *fakeMachine) { m.probeFails(stderrNoSpace) },
			want:    []line{{"bwrap", OK}, {"max-user-namespaces", OK}, {"userns", Fail}, {"seccomp", OK}, {"violations", OK}, {"hiding", OK}},
			mention: map[string][]string{"userns": {"used up", "user.max_user_namespaces=15000"}},
		},
		{
			name:    "functional failure with operation not permitted",
			setup:   func(m *fakeMachine) { m.probeFails(stderrProc) },
			want:    []line{{"bwrap", OK}, {"max-user-namespaces", OK}, {"userns", Fail}, {"seccomp", OK}, {"violations", OK}, {"hiding", OK}},
			mention: map[string][]string{"userns": {"Can't mount proc", "security policy", "sudo dmesg"}},
		},
		{
			name:    "functional failure with unknown message",
			setup:   func(m *fakeMachine) { m.probeFails("bwrap: something new\n\n  and more\n") },
			want:    []line{{"bwrap", OK}, {"max-user-namespaces", OK}, {"userns", Fail}, {"seccomp", OK}, {"violations", OK}, {"hiding", OK}},
			mention: map[string][]string{"userns": {"bwrap: something new; and more", "sudo dmesg", "To see the error yourself, run:\n  " + probeCmd}},
		},
		{
			name: "functional failure without stderr",
			setup: func(m *fakeMachine) {
				m.runs[probeCmd] = fakeRun{err: fmt.Errorf("signal: segmentation fault")}
			},
			want:    []line{{"bwrap", OK}, {"max-user-namespaces", OK}, {"userns", Fail}, {"seccomp", OK}, {"violations", OK}, {"hiding", OK}},
			mention: map[string][]string{"userns": {"bwrap cannot create a sandbox: signal: segmentation fault"}},
		},
		{
			name: "functional test times out",
			setup: func(m *fakeMachine) {
				m.runs[probeCmd] = fakeRun{err: fmt.Errorf("%w (signal: killed)", context.DeadlineExceeded)}
			},
			want:    []line{{"bwrap", OK}, {"max-user-namespaces", OK}, {"userns", Fail}, {"seccomp", OK}, {"violations", OK}, {"hiding", OK}},
			mention: map[string][]string{"userns": {"no answer within 10s", "did not finish within 10s"}},
		},
		{
			name: "no /bin/true",
			setup: func(m *fakeMachine) {
				delete(m.modes, "/bin/true")
				m.path["true"] = "/run/current-system/sw/bin/true"
				m.runs = map[string]fakeRun{
					versionCmd: m.runs[versionCmd],
					strings.Replace(probeCmd, "-- /bin/true", "-- /run/current-system/sw/bin/true", 1): {},
				}
			},
			want: []line{{"bwrap", OK}, {"max-user-namespaces", OK}, {"userns", OK}, {"seccomp", OK}, {"violations", OK}, {"hiding", OK}},
		},
		{
			name: "seccomp missing",
			setup: func(m *fakeMachine) {
				m.files["/proc/self/status"] = strings.Replace(userStatus, "Seccomp:\t0\nSeccomp_filters:\t0\n", "", 1)
			},
			want:    []line{{"bwrap", OK}, {"max-user-namespaces", OK}, {"userns", OK}, {"seccomp", Fail}, {"hiding", OK}},
			mention: map[string][]string{"seccomp": {"no seccomp support", "CONFIG_SECCOMP_FILTER=y"}},
		},
		{
			name: "seccomp filters missing",
			setup: func(m *fakeMachine) {
				m.files["/proc/self/status"] = strings.Replace(userStatus, "Seccomp_filters:\t0\n", "", 1)
			},
			want:    []line{{"bwrap", OK}, {"max-user-namespaces", OK}, {"userns", OK}, {"seccomp", Fail}, {"hiding", OK}},
			mention: map[string][]string{"seccomp": {"without seccomp filters", "CONFIG_SECCOMP_FILTER=y"}},
		},
		{
			name: "seccomp filters unknowable before 5.9",
			setup: func(m *fakeMachine) {
				m.files["/proc/self/status"] = strings.Replace(userStatus, "Seccomp_filters:\t0\n", "", 1)
				m.files["/proc/sys/kernel/osrelease"] = "5.4.0-216-generic\n"
			},
			want:    []line{{"bwrap", OK}, {"max-user-namespaces", OK}, {"userns", OK}, {"seccomp", Warn}, {"violations", OK}, {"hiding", OK}},
			mention: map[string][]string{"seccomp": {"Linux 5.4.0-216-generic"}},
		},
		{
			name: "no seccomp listener",
			setup: func(m *fakeMachine) {
				m.listener = errors.New("Linux 5.4.0 predates seccomp user notification with continue (5.5)")
			},
			// Confinement is whole: a Warn, never a Fail.
			want:    []line{{"bwrap", OK}, {"max-user-namespaces", OK}, {"userns", OK}, {"seccomp", OK}, {"violations", Warn}, {"hiding", OK}},
			mention: map[string][]string{"violations": {"not reported", "Linux 5.4.0", "confined all the same", "Linux 5.5"}},
		},
		{
			name:  "no Landlock",
			setup: func(m *fakeMachine) { m.landlockErr = errors.New("Landlock is not enabled") },
			// The mounts hide all the same: a Warn, never a Fail.
			want:    []line{{"bwrap", OK}, {"max-user-namespaces", OK}, {"userns", OK}, {"seccomp", OK}, {"violations", OK}, {"hiding", Warn}},
			mention: map[string][]string{"hiding": {"mounts only", "Landlock is not enabled", "replaces", "already running", "lsm="}},
		},
		{
			name:    "Landlock without REFER",
			setup:   func(m *fakeMachine) { m.landlock = 1 },
			want:    []line{{"bwrap", OK}, {"max-user-namespaces", OK}, {"userns", OK}, {"seccomp", OK}, {"violations", OK}, {"hiding", Warn}},
			mention: map[string][]string{"hiding": {"mounts only", "ABI 1", "5.19"}},
		},
		{
			name:    "root",
			setup:   func(m *fakeMachine) { m.asRoot() },
			want:    []line{{"bwrap", OK}, {"max-user-namespaces", OK}, {"userns", OK}, {"seccomp", OK}, {"violations", OK}, {"hiding", OK}, {"root", OK}},
			mention: map[string][]string{"root": {"all capabilities dropped", "sandbar doctor"}},
			noFix:   []string{"root"},
		},
		{
			name: "container blocks bwrap",
			setup: func(m *fakeMachine) {
				m.files["/.dockerenv"] = ""
				m.probeFails(stderrProc)
			},
			want: []line{{"bwrap", OK}, {"max-user-namespaces", OK}, {"userns", Fail}, {"seccomp", OK}, {"violations", OK}, {"hiding", OK}, {"container", Fail}},
			mention: map[string][]string{
				"userns": {`"container"`},
				"container": {
					"/.dockerenv exists",
					"--security-opt seccomp=unconfined --security-opt apparmor=unconfined",
					"systempaths=unconfined",
					"on the host",
				},
			},
		},
		{
			name: "kubernetes pod blocks bwrap",
			setup: func(m *fakeMachine) {
				m.files["/proc/1/cgroup"] = "0::/kubepods/besteffort/pod1234/abcd\n"
				m.probeFails(stderrNoPerms)
			},
			want:    []line{{"bwrap", OK}, {"max-user-namespaces", OK}, {"userns", Fail}, {"seccomp", OK}, {"violations", OK}, {"hiding", OK}, {"container", Fail}},
			mention: map[string][]string{"container": {"/proc/1/cgroup mentions kubepods"}},
		},
		{
			name: "container where bwrap works",
			setup: func(m *fakeMachine) {
				m.files["/proc/1/cgroup"] = "12:pids:/docker/0123abcd\n"
			},
			want:    []line{{"bwrap", OK}, {"max-user-namespaces", OK}, {"userns", OK}, {"seccomp", OK}, {"violations", OK}, {"hiding", OK}, {"container", OK}},
			mention: map[string][]string{"container": {"mentions docker", "bwrap works here"}},
			noFix:   []string{"container"},
		},
		{
			name: "container cause gives way to the switch that explains the error",
			setup: func(m *fakeMachine) {
				m.files["/run/.containerenv"] = ""
				m.files["/proc/sys/kernel/apparmor_restrict_unprivileged_userns"] = "1\n"
				m.probeFails(stderrUIDMap)
			},
			want:    []line{{"bwrap", OK}, {"max-user-namespaces", OK}, {"apparmor-userns", Fail}, {"userns", Fail}, {"seccomp", OK}, {"violations", OK}, {"hiding", OK}, {"container", Fail}},
			mention: map[string][]string{"userns": {`"apparmor-userns"`}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := healthy(t)
			tt.setup(m)
			got := Check(t.Context(), m.env())

			var gotLines []line
			byCheck := make(map[string]Finding)
			for _, f := range got {
				gotLines = append(gotLines, line{f.Check, f.Severity})
				byCheck[f.Check] = f
			}
			if diff := cmp.Diff(tt.want, gotLines); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			for check, phrases := range tt.mention {
				f := byCheck[check]
				text := f.Summary + "\n" + f.Fix
				for _, p := range phrases {
					if !strings.Contains(text, p) {
						t.Errorf("%s finding does not mention %q:\n%s", check, p, text)
					}
				}
			}
			for _, check := range tt.noFix {
				if fix := byCheck[check].Fix; fix != "" {
					t.Errorf("%s finding has a fix, want none:\n%s", check, fix)
				}
			}
			for _, f := range got {
				if f.Severity == Fail && strings.TrimSpace(f.Fix) == "" {
					t.Errorf("%s is a Fail without a fix: %s", f.Check, f.Summary)
				}
				if strings.Contains(f.Summary, "\n") {
					t.Errorf("%s summary spans lines: %q", f.Check, f.Summary)
				}
			}
		})
	}
}

// A Fail fix that points at another finding must point at one that is
// itself a Fail, because `sandbar run` prints only the blocking findings.
func TestCauseIsBlocking(t *testing.T) {
	for _, tt := range []struct {
		name  string
		setup func(m *fakeMachine)
	}{
		{"apparmor", func(m *fakeMachine) {
			m.files["/proc/sys/kernel/apparmor_restrict_unprivileged_userns"] = "1\n"
			m.probeFails(stderrUIDMap)
		}},
		{"apparmor with profile", func(m *fakeMachine) {
			m.files["/proc/sys/kernel/apparmor_restrict_unprivileged_userns"] = "1\n"
			m.files["/etc/apparmor.d/bwrap"] = ""
			m.probeFails(stderrNoPerms)
		}},
		{"clone", func(m *fakeMachine) {
			m.files["/proc/sys/kernel/unprivileged_userns_clone"] = "0\n"
			m.probeFails(stderrProc)
		}},
		{"max", func(m *fakeMachine) {
			m.files["/proc/sys/user/max_user_namespaces"] = "0\n"
			m.probeFails(stderrNoPerms)
		}},
		{"container", func(m *fakeMachine) {
			m.files["/.dockerenv"] = ""
			m.probeFails("bwrap: anything\n")
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := healthy(t)
			tt.setup(m)
			blocking := Blocking(Check(t.Context(), m.env()))
			names := make(map[string]bool)
			for _, f := range blocking {
				names[f.Check] = true
			}
			for _, f := range blocking {
				_, rest, ok := strings.Cut(f.Fix, "Fix the \"")
				if !ok {
					continue
				}
				ref, _, _ := strings.Cut(rest, "\"")
				if !names[ref] {
					t.Errorf("%s fix points at %q, which is not blocking; blocking: %v", f.Check, ref, names)
				}
			}
			if !names["userns"] {
				t.Errorf("userns is not blocking: %v", names)
			}
		})
	}
}

func TestBlocking(t *testing.T) {
	in := []Finding{
		{Check: "a", Severity: OK},
		{Check: "b", Severity: Fail, Fix: "x"},
		{Check: "c", Severity: Warn},
		{Check: "d", Severity: Fail, Fix: "y"},
	}
	want := []Finding{in[1], in[3]}
	if diff := cmp.Diff(want, Blocking(in)); diff != "" {
		t.Errorf("Blocking (-want +got):\n%s", diff)
	}
	if got := Blocking([]Finding{{Check: "a"}}); len(got) != 0 {
		t.Errorf("Blocking of an OK finding = %v, want none", got)
	}
}

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in   string
		want version
		ok   bool
	}{
		{"bubblewrap 0.8.0\n", version{0, 8, 0}, true},
		{"bubblewrap 0.11.0", version{0, 11, 0}, true},
		{"bubblewrap 0.10.0-rc1\n", version{0, 10, 0}, true},
		{"bubblewrap 1.2", version{1, 2, 0}, true},
		{"bubblewrap v0.9.0", version{0, 9, 0}, true},
		{"bubblewrap 0.9.0\nextra line\n", version{0, 9, 0}, true},
		{"", version{}, false},
		{"bubblewrap", version{}, false},
		{"bubblewrap x.y.z", version{}, false},
		{"bubblewrap 1.2.3.4", version{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := parseVersion(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Errorf("parseVersion(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestSeverityString(t *testing.T) {
	got := []string{OK.String(), Warn.String(), Fail.String(), Severity(7).String()}
	want := []string{"ok", "warn", "fail", "Severity(7)"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("String (-want +got):\n%s", diff)
	}
}
