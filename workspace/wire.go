package workspace

import (
	"encoding/binary"
	"errors"
)

// sandbar's own state files (the scan cache, run journals) are a header
// line naming the format and its version, then varints and
// length-prefixed strings in a fixed order. They were gob streams; gob
// cost every start of the binary, the sandbox's init included, about
// 0.2 ms in package initialisation alone, and its first encoding or
// decoding in a process as much again, on every run.

// wireWriter appends values to a state file.
type wireWriter struct{ b []byte }

func newWireWriter(header string) *wireWriter {
	return &wireWriter{b: append([]byte(header), '\n')}
}

func (w *wireWriter) uint(v uint64) { w.b = binary.AppendUvarint(w.b, v) }
func (w *wireWriter) int(v int64)   { w.b = binary.AppendVarint(w.b, v) }

func (w *wireWriter) bool(v bool) {
	if v {
		w.uint(1)
	} else {
		w.uint(0)
	}
}

func (w *wireWriter) string(s string) {
	w.uint(uint64(len(s)))
	w.b = append(w.b, s...)
}

func (w *wireWriter) strings(ss []string) {
	w.uint(uint64(len(ss)))
	for _, s := range ss {
		w.string(s)
	}
}

// wireReader reads what a wireWriter wrote. The first error sticks: every
// later read returns a zero value, and err says what went wrong. The file
// is held as one string, so that the strings read from it are slices of
// it rather than an allocation each (a scan cache holds thousands).
type wireReader struct {
	s   string
	err error
}

var errWire = errors.New("truncated or damaged")

func newWireReader(b []byte, header string) *wireReader {
	h := header + "\n"
	if len(b) < len(h) || string(b[:len(h)]) != h {
		return &wireReader{err: errors.New("not a " + header + " file")}
	}
	return &wireReader{s: string(b[len(h):])}
}

// uint reads what binary.AppendUvarint wrote.
func (r *wireReader) uint() uint64 {
	if r.err != nil {
		return 0
	}
	var v uint64
	for i := 0; i < len(r.s) && i < binary.MaxVarintLen64; i++ {
		c := r.s[i]
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				break // overflows 64 bits
			}
			r.s = r.s[i+1:]
			return v | uint64(c)<<(7*i)
		}
		v |= uint64(c&0x7f) << (7 * i)
	}
	r.err = errWire
	return 0
}

// int reads what binary.AppendVarint wrote.
func (r *wireReader) int() int64 {
	u := r.uint()
	v := int64(u >> 1)
	if u&1 != 0 {
		v = ^v
	}
	return v
}

func (r *wireReader) bool() bool { return r.uint() != 0 }

func (r *wireReader) string() string {
	n := r.uint()
	if r.err != nil {
		return ""
	}
	if n > uint64(len(r.s)) {
		r.err = errWire
		return ""
	}
	s := r.s[:n]
	r.s = r.s[n:]
	return s
}

// count reads a number of items that follow, each at least one byte
// long, so that a damaged count cannot make the caller allocate more
// than the file holds.
func (r *wireReader) count() int {
	n := r.uint()
	if r.err == nil && n > uint64(len(r.s)) {
		r.err = errWire
	}
	if r.err != nil {
		return 0
	}
	return int(n)
}

func (r *wireReader) strings() []string {
	n := r.count()
	if n == 0 {
		return nil
	}
	out := make([]string, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		out = append(out, r.string())
	}
	return out
}

// end reports the first error, or trailing bytes nothing read.
func (r *wireReader) end() error {
	if r.err == nil && len(r.s) > 0 {
		r.err = errWire
	}
	return r.err
}
