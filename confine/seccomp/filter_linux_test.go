package seccomp

import (
	"encoding/binary"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

func TestDisassembleGolden(t *testing.T) {
	tests := []struct {
		file string
		arch Arch
		opts Options
	}{
		{"amd64.golden", AMD64, Options{}},
		{"arm64.golden", ARM64, Options{}},
		{"amd64-allow-unix.golden", AMD64, Options{AllowUnixSockets: true}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			prog, err := Build(tt.arch, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			got := Disassemble(prog)
			path := filepath.Join("testdata", tt.file)
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("reading golden file (regenerate with `go test ./confine/seccomp -update`): %v", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("Disassemble(Build(%v, %+v)) mismatch (-want +got); if the change is intended, run `go test ./confine/seccomp -update`:\n%s", tt.arch, tt.opts, diff)
			}
		})
	}
}

// seccompData is the record the kernel hands the filter.
type seccompData struct {
	nr   uint32
	arch uint32
	args [6]uint64
}

func (d seccompData) word(off uint32) uint32 {
	b := make([]byte, 64)
	binary.LittleEndian.PutUint32(b[0:], d.nr)
	binary.LittleEndian.PutUint32(b[4:], d.arch)
	for i, a := range d.args {
		binary.LittleEndian.PutUint64(b[16+8*i:], a)
	}
	return binary.LittleEndian.Uint32(b[off:])
}

// evaluate runs prog on d the way the kernel does for the instructions
// Build emits, and fails the test on any other instruction.
func evaluate(t *testing.T, prog []unix.SockFilter, d seccompData) uint32 {
	t.Helper()
	var a uint32
	for pc := 0; pc < len(prog); pc++ {
		in := prog[pc]
		var cond bool
		switch in.Code {
		case opLoad:
			a = d.word(in.K)
			continue
		case opRet:
			return in.K
		case opAnd:
			a &= in.K
			continue
		case opJEQ:
			cond = a == in.K
		case opJGE:
			cond = a >= in.K
		case opJSET:
			cond = a&in.K != 0
		default:
			t.Fatalf("instruction %d: unexpected code %#x", pc, in.Code)
		}
		if cond {
			pc += int(in.Jt)
		} else {
			pc += int(in.Jf)
		}
	}
	t.Fatalf("program ran off its end")
	return 0
}

// TestFilterDecisions runs the program in an interpreter, so the ARM64
// filter is checked too, not only the one this machine's kernel can run.
func TestFilterDecisions(t *testing.T) {
	type call struct {
		name string
		args [6]uint64
	}
	tests := []struct {
		name string
		opts Options
		call call
		want uint32
	}{
		{"getpid allowed", Options{}, call{name: "getpid"}, retAllow},
		{"unshare CLONE_NEWUSER", Options{}, call{"unshare", [6]uint64{unix.CLONE_NEWUSER}}, retEPERM},
		{"unshare CLONE_NEWTIME", Options{}, call{"unshare", [6]uint64{unix.CLONE_NEWTIME}}, retEPERM},
		{"unshare CLONE_FILES allowed", Options{}, call{"unshare", [6]uint64{unix.CLONE_FILES}}, retAllow},
		{"unshare CLONE_NEWNET with high bits", Options{}, call{"unshare", [6]uint64{1<<40 | unix.CLONE_NEWNET}}, retEPERM},
		{"clone thread allowed", Options{}, call{"clone", [6]uint64{unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND | unix.CLONE_THREAD | unix.CLONE_SYSVSEM}}, retAllow},
		{"clone fork allowed", Options{}, call{"clone", [6]uint64{uint64(unix.SIGCHLD)}}, retAllow},
		{"clone CLONE_NEWPID", Options{}, call{"clone", [6]uint64{unix.CLONE_NEWPID | uint64(unix.SIGCHLD)}}, retEPERM},
		{"clone3", Options{}, call{name: "clone3"}, retENOSYS},
		{"setns", Options{}, call{name: "setns"}, retEPERM},
		{"mount", Options{}, call{name: "mount"}, retEPERM},
		{"io_uring_setup", Options{}, call{name: "io_uring_setup"}, retEPERM},
		{"ioctl TIOCSTI", Options{}, call{"ioctl", [6]uint64{0, tiocsti}}, retEPERM},
		{"ioctl TIOCSTI with high bits", Options{}, call{"ioctl", [6]uint64{0, 1<<32 | tiocsti}}, retEPERM},
		{"ioctl TIOCLINUX", Options{}, call{"ioctl", [6]uint64{0, tioclinux}}, retEPERM},
		{"ioctl TIOCGWINSZ allowed", Options{}, call{"ioctl", [6]uint64{0, 0x5413}}, retAllow},
		{"ioctl fd equal to TIOCSTI allowed", Options{}, call{"ioctl", [6]uint64{tiocsti, 0x5413}}, retAllow},
		{"socket AF_UNIX", Options{}, call{"socket", [6]uint64{afUnix, unix.SOCK_STREAM}}, retEPERM},
		{"socket AF_UNIX with high bits", Options{}, call{"socket", [6]uint64{1<<32 | afUnix, unix.SOCK_STREAM}}, retEPERM},
		{"socket AF_UNIX when allowed", Options{AllowUnixSockets: true}, call{"socket", [6]uint64{afUnix, unix.SOCK_STREAM}}, retAllow},
		{"socket AF_INET allowed", Options{}, call{"socket", [6]uint64{unix.AF_INET, unix.SOCK_STREAM}}, retAllow},
		{"socket AF_NETLINK allowed", Options{}, call{"socket", [6]uint64{unix.AF_NETLINK, unix.SOCK_RAW}}, retAllow},
		{"socketpair AF_UNIX allowed", Options{}, call{"socketpair", [6]uint64{afUnix, unix.SOCK_STREAM}}, retAllow},
		{"bpf", Options{}, call{name: "bpf"}, retEPERM},
		{"keyctl", Options{}, call{name: "keyctl"}, retEPERM},
		{"personality allowed", Options{}, call{"personality", [6]uint64{0xffffffff}}, retAllow},
	}
	// Numbers of calls the filter does not name, so not in archs.
	extra := map[Arch]map[string]uint32{
		AMD64: {"getpid": 39, "socketpair": 53, "personality": 135},
		ARM64: {"getpid": 172, "socketpair": 199, "personality": 92},
	}
	for _, arch := range []Arch{AMD64, ARM64} {
		for _, tt := range tests {
			t.Run(arch.String()+"/"+tt.name, func(t *testing.T) {
				prog, err := Build(arch, tt.opts)
				if err != nil {
					t.Fatal(err)
				}
				nr, ok := archs[arch].syscalls[tt.call.name]
				if !ok {
					nr, ok = extra[arch][tt.call.name]
				}
				if !ok {
					t.Fatalf("no number for %s on %v", tt.call.name, arch)
				}
				got := evaluate(t, prog, seccompData{nr: nr, arch: archs[arch].auditArch, args: tt.call.args})
				if got != tt.want {
					t.Errorf("%s(%#x) = %s, want %s", tt.call.name, tt.call.args, actionName(got), actionName(tt.want))
				}
			})
		}
	}
}

func TestFilterArchChecks(t *testing.T) {
	amd64, err := Build(AMD64, Options{})
	if err != nil {
		t.Fatal(err)
	}
	arm64, err := Build(ARM64, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		prog []unix.SockFilter
		data seccompData
		want uint32
	}{
		{"i386 call on amd64 filter", amd64, seccompData{nr: 20, arch: unix.AUDIT_ARCH_I386}, retKill},
		{"arm32 call on arm64 filter", arm64, seccompData{nr: 20, arch: unix.AUDIT_ARCH_ARM}, retKill},
		{"aarch64 call on amd64 filter", amd64, seccompData{nr: 172, arch: unix.AUDIT_ARCH_AARCH64}, retKill},
		{"x32 getpid", amd64, seccompData{nr: x32Bit | 39, arch: unix.AUDIT_ARCH_X86_64}, retKill},
		{"x32 unshare", amd64, seccompData{nr: x32Bit | 272, arch: unix.AUDIT_ARCH_X86_64, args: [6]uint64{unix.CLONE_NEWUSER}}, retKill},
		{"syscall -1 on amd64", amd64, seccompData{nr: 0xffffffff, arch: unix.AUDIT_ARCH_X86_64}, retAllow},
		{"syscall -1 on arm64", arm64, seccompData{nr: 0xffffffff, arch: unix.AUDIT_ARCH_AARCH64}, retAllow},
		{"bit 30 on arm64 is just a number", arm64, seccompData{nr: x32Bit | 172, arch: unix.AUDIT_ARCH_AARCH64}, retAllow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := evaluate(t, tt.prog, tt.data); got != tt.want {
				t.Errorf("got %s, want %s", actionName(got), actionName(tt.want))
			}
		})
	}
}

func TestBuildUnknownArch(t *testing.T) {
	if _, err := Build(Arch(0), Options{}); err == nil {
		t.Error("Build(Arch(0)) succeeded, want an error")
	}
}

func TestNativeArch(t *testing.T) {
	arch, err := NativeArch()
	if err != nil {
		t.Fatal(err)
	}
	if got := arch.String(); got != runtime.GOARCH {
		t.Errorf("NativeArch() = %s, want %s", got, runtime.GOARCH)
	}
}

func TestAssemblerErrors(t *testing.T) {
	tests := []struct {
		name string
		emit func(a *assembler)
		want string
	}{
		{"jump too far", func(a *assembler) {
			a.jump(opJEQ, 1, "far", "")
			for range 256 {
				a.stmt(opLoad, 0)
			}
			a.label("far")
			a.stmt(opRet, retAllow)
		}, `cannot reach label "far"`},
		{"backward jump", func(a *assembler) {
			a.label("back")
			a.stmt(opLoad, 0)
			a.jump(opJEQ, 1, "back", "")
			a.stmt(opRet, retAllow)
		}, `jumps backward to label "back"`},
		{"undefined label", func(a *assembler) {
			a.jump(opJEQ, 1, "nowhere", "")
			a.stmt(opRet, retAllow)
		}, `undefined label "nowhere"`},
		{"duplicate label", func(a *assembler) {
			a.label("twice")
			a.stmt(opLoad, 0)
			a.label("twice")
			a.stmt(opRet, retAllow)
		}, `label "twice" defined twice`},
		{"label past the end", func(a *assembler) {
			a.stmt(opRet, retAllow)
			a.label("end")
		}, `label "end" names no instruction`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a assembler
			tt.emit(&a)
			_, err := a.assemble()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("assemble() error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestAssemblerLongestJump(t *testing.T) {
	var a assembler
	a.jump(opJEQ, 1, "far", "")
	for range 255 {
		a.stmt(opLoad, 0)
	}
	a.label("far")
	a.stmt(opRet, retAllow)
	prog, err := a.assemble()
	if err != nil {
		t.Fatal(err)
	}
	if prog[0].Jt != 255 {
		t.Errorf("jt = %d, want 255", prog[0].Jt)
	}
}

// TestMarshal checks Marshal against the in-memory layout of the array,
// which is what the kernel and bwrap read.
func TestMarshal(t *testing.T) {
	prog, err := Build(AMD64, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := unsafe.Slice((*byte)(unsafe.Pointer(&prog[0])), len(prog)*int(unsafe.Sizeof(prog[0])))
	if diff := cmp.Diff(want, Marshal(prog)); diff != "" {
		t.Errorf("Marshal mismatch (-want +got):\n%s", diff)
	}
}

// TestDocsTable keeps the table in docs/seccomp.md and the filter in step.
func TestDocsTable(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "seccomp.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	begin, end := strings.Index(text, "<!-- refused:begin -->"), strings.Index(text, "<!-- refused:end -->")
	if begin < 0 || end < begin {
		t.Fatal("docs/seccomp.md has no <!-- refused:begin --> ... <!-- refused:end --> section")
	}
	row := regexp.MustCompile("(?m)^\\| `([a-z0-9_]+)`")
	var documented []string
	for _, m := range row.FindAllStringSubmatch(text[begin:end], -1) {
		documented = append(documented, m[1])
	}
	filtered := []string{"clone", "unshare", "ioctl", "socket"}
	for _, r := range refusals {
		filtered = append(filtered, r.syscall)
	}
	// ioctl has a row per command.
	documented = slices.Compact(slices.Sorted(slices.Values(documented)))
	slices.Sort(filtered)
	if diff := cmp.Diff(filtered, documented); diff != "" {
		t.Errorf("syscalls in the filter vs in the docs/seccomp.md table (-filter +docs):\n%s", diff)
	}
}
