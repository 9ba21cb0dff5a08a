package seccomp

import (
	"fmt"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// Disassemble returns a listing of prog, one instruction a line:
//
//	004  jeq  #16           jt 051  jf 005  ; ioctl
//
// that is: the instruction's index, the operation, its operand, for a
// conditional jump the absolute index of the instruction taken when the
// condition holds (jt) and when it does not (jf), and after ';' what the
// operand means. The meaning comes from following the program: the arch
// comparison names the ABI, which names the syscall numbers compared after
// it, and an argument compared after "jeq #16" (ioctl) is read as an ioctl
// command. Instructions Build never emits are still listed, by raw code.
func Disassemble(prog []unix.SockFilter) string {
	states := flow(prog)
	var info *archInfo
	var b strings.Builder
	for pc, in := range prog {
		s := states[pc]
		op, operand, jumps, note := "", "", "", ""
		switch in.Code {
		case opLoad:
			op, operand = "ld", fmt.Sprintf("[%d]", in.K)
			note = "A = " + fieldName(in.K)
			if s.callsKnown && (in.K >= 16 || in.K == offNR) {
				note += " of " + callNames(info, s.calls)
			}
		case unix.BPF_LD | unix.BPF_W | unix.BPF_LEN:
			op, operand, note = "ld", "#len", "A = sizeof(seccomp_data)"
		case unix.BPF_LD | unix.BPF_IMM:
			op, operand = "ld", fmt.Sprintf("#%#x", in.K)
		case opAnd:
			op, operand = "and", fmt.Sprintf("#%#x", in.K)
			if s.kind == accArgLow && s.callsKnown && callNames(info, s.calls) == "socket" && s.arg == 1 && in.K == sockTypeMask {
				note = "A &= SOCK_TYPE_MASK"
			}
		case unix.BPF_MISC | unix.BPF_TAX:
			op = "tax"
		case unix.BPF_MISC | unix.BPF_TXA:
			op = "txa"
		case unix.BPF_JMP | unix.BPF_JA:
			op, operand = "ja", fmt.Sprintf("%03d", pc+1+int(in.K))
		case opJEQ, opJGE, opJSET, unix.BPF_JMP | unix.BPF_JGT | unix.BPF_K:
			op = map[uint16]string{opJEQ: "jeq", opJGE: "jge", opJSET: "jset", unix.BPF_JMP | unix.BPF_JGT | unix.BPF_K: "jgt"}[in.Code]
			jumps = fmt.Sprintf("jt %03d  jf %03d", pc+1+int(in.Jt), pc+1+int(in.Jf))
			operand = fmt.Sprintf("#%#x", in.K)
			switch s.kind {
			case accArch:
				if a, ok := archByAudit(in.K); ok {
					note = a.auditName
					if info == nil {
						info = &a
					}
				}
			case accNR:
				if in.K < x32Bit {
					// Syscall numbers in decimal, as tables list them.
					operand = fmt.Sprintf("#%d", in.K)
				}
				note = nrName(info, in.Code, in.K)
			case accArgLow, accArgHigh:
				note = argValueName(info, s, in.Code, in.K)
			}
		case opRet:
			op, operand, note = "ret", fmt.Sprintf("#%#08x", in.K), actionName(in.K)
		case unix.BPF_RET | unix.BPF_A:
			op, operand = "ret", "A"
		default:
			op = "raw"
			operand = fmt.Sprintf("code=%#04x k=%#x", in.Code, in.K)
			jumps = fmt.Sprintf("jt +%d  jf +%d", in.Jt, in.Jf)
		}
		if !s.reached {
			note = strings.TrimPrefix(note+"; unreachable", "; ")
		}
		line := fmt.Sprintf("%03d  %-4s %-13s %-15s", pc, op, operand, jumps)
		if note != "" {
			line += " ; " + note
		}
		b.WriteString(strings.TrimRight(line, " "))
		b.WriteByte('\n')
	}
	return b.String()
}

// accKind is what the accumulator A holds at an instruction.
type accKind int

const (
	accUnknown accKind = iota
	accNR
	accArch
	accArgLow
	accArgHigh
)

// accState is what is known at one instruction on every path reaching it.
type accState struct {
	reached bool
	kind    accKind
	arg     int // for accArgLow and accArgHigh
	// calls are the syscall numbers the paths reaching here are known to
	// be in (set by a taken "jeq" on the syscall number), when callsKnown.
	calls      []uint32
	callsKnown bool
}

func (s accState) merge(o accState) accState {
	if !s.reached {
		return o
	}
	if !o.reached {
		return s
	}
	m := accState{reached: true, kind: s.kind, arg: s.arg}
	if s.kind != o.kind || s.arg != o.arg {
		m.kind = accUnknown
	}
	if s.callsKnown && o.callsKnown {
		m.callsKnown = true
		m.calls = slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(s.calls), o.calls...))))
	}
	return m
}

// flow computes the state at each instruction. Classic BPF only jumps
// forward, so one pass in order sees every edge into an instruction before
// the instruction itself.
func flow(prog []unix.SockFilter) []accState {
	states := make([]accState, len(prog)+1)
	if len(prog) > 0 {
		states[0].reached = true
	}
	to := func(pc int, s accState) {
		if pc >= 0 && pc < len(states) {
			states[pc] = states[pc].merge(s)
		}
	}
	for pc, in := range prog {
		s := states[pc]
		if !s.reached {
			continue
		}
		switch {
		case in.Code == opLoad:
			n := s
			n.kind = accUnknown
			switch {
			case in.K == offNR:
				n.kind = accNR
			case in.K == offArch:
				n.kind = accArch
			case in.K >= 16 && in.K < 64 && in.K%8 == 0:
				n.kind, n.arg = accArgLow, int(in.K-16)/8
			case in.K >= 16 && in.K < 64 && in.K%8 == 4:
				n.kind, n.arg = accArgHigh, int(in.K-16)/8
			}
			to(pc+1, n)
		case in.Code == opAnd:
			// A masked argument is still that argument, for naming the
			// values compared with it.
			to(pc+1, s)
		case in.Code&0x07 == unix.BPF_RET:
		case in.Code == unix.BPF_JMP|unix.BPF_JA:
			to(pc+1+int(in.K), s)
		case in.Code&0x07 == unix.BPF_JMP:
			t := s
			if in.Code == opJEQ && s.kind == accNR {
				t.calls, t.callsKnown = []uint32{in.K}, true
			}
			to(pc+1+int(in.Jt), t)
			to(pc+1+int(in.Jf), s)
		default:
			n := s
			n.kind = accUnknown
			to(pc+1, n)
		}
	}
	return states[:len(prog)]
}

func fieldName(off uint32) string {
	switch {
	case off == offNR:
		return "syscall number"
	case off == offArch:
		return "arch"
	case off == 8:
		return "instruction pointer (low 32 bits)"
	case off == 12:
		return "instruction pointer (high 32 bits)"
	case off >= 16 && off < 64 && off%8 == 0:
		return fmt.Sprintf("args[%d] (low 32 bits)", (off-16)/8)
	case off >= 16 && off < 64 && off%8 == 4:
		return fmt.Sprintf("args[%d] (high 32 bits)", (off-16)/8)
	}
	return fmt.Sprintf("seccomp_data[%d]", off)
}

func syscallName(info *archInfo, nr uint32) (string, bool) {
	if info != nil {
		for name, n := range info.syscalls {
			if n == nr {
				return name, true
			}
		}
	}
	return "", false
}

func callNames(info *archInfo, calls []uint32) string {
	var names []string
	for _, nr := range calls {
		if name, ok := syscallName(info, nr); ok {
			names = append(names, name)
		} else {
			names = append(names, fmt.Sprintf("syscall %d", nr))
		}
	}
	return strings.Join(names, ", ")
}

func nrName(info *archInfo, code uint16, k uint32) string {
	if code == opJEQ {
		if name, ok := syscallName(info, k); ok {
			return name
		}
		if k == 0xffffffff {
			return "syscall -1"
		}
	}
	if info != nil && info.x32 && k == x32Bit && (code == opJGE || code == opJSET) {
		return "x32 ABI bit"
	}
	return ""
}

// argValueName names an argument value for the calls whose arguments the
// filter inspects.
func argValueName(info *archInfo, s accState, code uint16, k uint32) string {
	if !s.callsKnown {
		return ""
	}
	var names []string
	for _, nr := range s.calls {
		name, _ := syscallName(info, nr)
		names = append(names, name)
	}
	only := func(want ...string) bool {
		for _, n := range names {
			if !slices.Contains(want, n) {
				return false
			}
		}
		return true
	}
	switch {
	case only("ioctl") && s.arg == 1 && code == opJEQ:
		return map[uint32]string{tiocsti: "TIOCSTI", tioclinux: "TIOCLINUX"}[k]
	case only("socket") && s.arg == 0 && code == opJEQ:
		return map[uint32]string{afUnix: "AF_UNIX", afInet: "AF_INET", afInet6: "AF_INET6", afPacket: "AF_PACKET"}[k]
	case only("socket") && s.arg == 1 && code == opJEQ:
		return map[uint32]string{sockRaw: "SOCK_RAW", sockPacket: "SOCK_PACKET"}[k]
	case only("utimensat") && s.arg == 1 && code == opJEQ && k == 0:
		if s.kind == accArgHigh {
			return "NULL (high 32 bits)"
		}
		return "NULL (low 32 bits)"
	case only("clone", "unshare") && s.arg == 0 && code == opJSET:
		return cloneFlagNames(k)
	case (only("open") && s.arg == 1 || only("openat") && s.arg == 2) && code == opJSET:
		return openFlagNames(k)
	case only("seccomp") && s.arg == 1 && code == opJSET:
		return map[uint32]string{unix.SECCOMP_FILTER_FLAG_NEW_LISTENER: "SECCOMP_FILTER_FLAG_NEW_LISTENER"}[k]
	}
	return ""
}

func openFlagNames(k uint32) string {
	var names []string
	for _, f := range []struct {
		bit  uint32
		name string
	}{{oWronly, "O_WRONLY"}, {oRdwr, "O_RDWR"}, {oCreat, "O_CREAT"}, {oTrunc, "O_TRUNC"}} {
		if k&f.bit != 0 {
			names = append(names, f.name)
			k &^= f.bit
		}
	}
	if k != 0 {
		names = append(names, fmt.Sprintf("%#x", k))
	}
	return strings.Join(names, "|")
}

func cloneFlagNames(k uint32) string {
	flags := []struct {
		bit  uint32
		name string
	}{
		{unix.CLONE_NEWTIME, "CLONE_NEWTIME"},
		{unix.CLONE_NEWNS, "CLONE_NEWNS"},
		{unix.CLONE_NEWCGROUP, "CLONE_NEWCGROUP"},
		{unix.CLONE_NEWUTS, "CLONE_NEWUTS"},
		{unix.CLONE_NEWIPC, "CLONE_NEWIPC"},
		{unix.CLONE_NEWUSER, "CLONE_NEWUSER"},
		{unix.CLONE_NEWPID, "CLONE_NEWPID"},
		{unix.CLONE_NEWNET, "CLONE_NEWNET"},
	}
	var names []string
	for _, f := range flags {
		if k&f.bit != 0 {
			names = append(names, f.name)
			k &^= f.bit
		}
	}
	if k != 0 {
		names = append(names, fmt.Sprintf("%#x", k))
	}
	return strings.Join(names, "|")
}

func actionName(k uint32) string {
	data := k & unix.SECCOMP_RET_DATA
	switch k & unix.SECCOMP_RET_ACTION_FULL {
	case unix.SECCOMP_RET_KILL_PROCESS:
		return "KILL_PROCESS"
	case unix.SECCOMP_RET_KILL_THREAD:
		return "KILL_THREAD"
	case unix.SECCOMP_RET_TRAP:
		return "TRAP"
	case unix.SECCOMP_RET_ERRNO:
		if name := unix.ErrnoName(unix.Errno(data)); name != "" {
			return fmt.Sprintf("ERRNO(%s)", name)
		}
		return fmt.Sprintf("ERRNO(%d)", data)
	case unix.SECCOMP_RET_USER_NOTIF:
		return "USER_NOTIF"
	case unix.SECCOMP_RET_TRACE:
		return "TRACE"
	case unix.SECCOMP_RET_LOG:
		return "LOG"
	case unix.SECCOMP_RET_ALLOW:
		return "ALLOW"
	}
	return ""
}
