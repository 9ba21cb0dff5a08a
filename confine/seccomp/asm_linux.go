package seccomp

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// maxInsns is the kernel's limit on the length of a classic BPF program
// (BPF_MAXINSNS).
const maxInsns = 4096

// assembler collects classic BPF instructions whose jump targets are
// labels, and resolves the labels into the 8-bit relative offsets the
// instruction format has. Classic BPF only jumps forward, and jt/jf can
// skip at most 255 instructions; assemble reports an error instead of
// emitting a jump that does not reach its label.
type assembler struct {
	insns  []pendingInsn
	labels map[string]int // label -> index of the instruction it names
}

type pendingInsn struct {
	code   uint16
	k      uint32
	jt, jf string // labels; "" means the next instruction
}

// label names the next instruction emitted.
func (a *assembler) label(name string) {
	if a.labels == nil {
		a.labels = make(map[string]int)
	}
	if _, dup := a.labels[name]; dup {
		// Recorded as an impossible index so assemble reports it.
		a.labels[name] = -1
		return
	}
	a.labels[name] = len(a.insns)
}

// stmt emits a non-jump instruction.
func (a *assembler) stmt(code uint16, k uint32) {
	a.insns = append(a.insns, pendingInsn{code: code, k: k})
}

// jump emits a conditional jump (code is BPF_JMP|BPF_Jxx|BPF_K): to jt
// when the condition holds, to jf otherwise.
func (a *assembler) jump(code uint16, k uint32, jt, jf string) {
	a.insns = append(a.insns, pendingInsn{code: code, k: k, jt: jt, jf: jf})
}

// assemble resolves the labels and returns the program.
func (a *assembler) assemble() ([]unix.SockFilter, error) {
	if len(a.insns) == 0 {
		return nil, fmt.Errorf("assembling BPF: empty program")
	}
	if len(a.insns) > maxInsns {
		return nil, fmt.Errorf("assembling BPF: %d instructions exceed the kernel's limit of %d", len(a.insns), maxInsns)
	}
	for name, at := range a.labels {
		if at < 0 {
			return nil, fmt.Errorf("assembling BPF: label %q defined twice", name)
		}
		if at >= len(a.insns) {
			return nil, fmt.Errorf("assembling BPF: label %q names no instruction", name)
		}
	}
	prog := make([]unix.SockFilter, len(a.insns))
	for pc, in := range a.insns {
		jt, err := a.offset(pc, in.jt)
		if err != nil {
			return nil, err
		}
		jf, err := a.offset(pc, in.jf)
		if err != nil {
			return nil, err
		}
		prog[pc] = unix.SockFilter{Code: in.code, Jt: jt, Jf: jf, K: in.k}
	}
	return prog, nil
}

// offset turns a label into the jump offset from the instruction at pc.
func (a *assembler) offset(pc int, label string) (uint8, error) {
	if label == "" {
		return 0, nil
	}
	at, ok := a.labels[label]
	if !ok {
		return 0, fmt.Errorf("assembling BPF: instruction %d jumps to undefined label %q", pc, label)
	}
	d := at - pc - 1
	switch {
	case d < 0:
		return 0, fmt.Errorf("assembling BPF: instruction %d jumps backward to label %q at %d", pc, label, at)
	case d > 255:
		return 0, fmt.Errorf("assembling BPF: instruction %d cannot reach label %q at %d (%d instructions away, a jump skips at most 255)", pc, label, at, d)
	}
	return uint8(d), nil
}
