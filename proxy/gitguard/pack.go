package gitguard

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"strconv"
)

// Pack object types.
const (
	objCommit   = 1
	objTree     = 2
	objBlob     = 3
	objTag      = 4
	objOfsDelta = 6
	objRefDelta = 7
)

// Limits on what reading a pushed pack may cost. Only commits are kept:
// trees and blobs are inflated to find where they end, and dropped.
const (
	maxCommitSize  = 1 << 20
	maxCommitBytes = 256 << 20
	maxPackObjects = 10_000_000
)

var errPack = errors.New("malformed pack")

// commitGraph maps each commit of a pack to its parents.
type commitGraph map[string][]string

// packEntry is one object of a pack, as its header describes it.
type packEntry struct {
	off     int64 // of the header
	data    int64 // of the zlib stream
	typ     int
	size    int64
	baseOff int64  // objOfsDelta
	baseOID string // objRefDelta
	// resolved is the type after following deltas, 0 if unknown (a
	// delta against an object the pack does not hold).
	resolved int
}

// countReader counts what flate reads from it; flate reads a stream
// that implements io.ByteReader one byte at a time, so it never reads
// past the end of a zlib stream.
type countReader struct {
	r *bufio.Reader
	n int64
}

func (c *countReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

func (c *countReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}

// readPackCommits reads the pack in r (from its start to size) and
// returns the commits it holds, each named by the hash of its content as
// the guard computes it: what the pack says about an object's name is
// never taken on trust. Commits stored as deltas are rebuilt; a commit
// stored as a delta against an object the pack does not hold (a thin
// pack) is left out, which can only make a push look less like a
// fast-forward, never more.
func readPackCommits(r io.ReaderAt, size int64, hexLen int) (commitGraph, error) {
	p := &packReader{
		r: r, size: size, hexLen: hexLen,
		newHash: sha1.New,
		graph:   commitGraph{},
		content: map[int64][]byte{},
		byOID:   map[string]int64{},
		oidOf:   map[int64]string{},
	}
	if hexLen == 64 {
		p.newHash = sha256.New
	}
	if err := p.read(); err != nil {
		return nil, err
	}
	if err := p.resolvePending(); err != nil {
		return nil, err
	}
	return p.graph, nil
}

// packReader is the state of readPackCommits.
type packReader struct {
	r       io.ReaderAt
	size    int64
	hexLen  int
	newHash func() hash.Hash

	// offs and types are every object's offset and type (0 while a
	// delta's base is unknown), in pack order, for the bases of
	// offset deltas, which always come earlier.
	offs  []int64
	types []int8
	// pending are the deltas whose base was not known when they were
	// read.
	pending []packEntry

	content map[int64][]byte // commits, by offset
	kept    int64
	graph   commitGraph
	byOID   map[string]int64
	oidOf   map[int64]string
}

func (p *packReader) read() error {
	cr := &countReader{r: bufio.NewReaderSize(io.NewSectionReader(p.r, 0, p.size), 64<<10)}
	var hdr [12]byte
	if _, err := io.ReadFull(cr, hdr[:]); err != nil {
		return fmt.Errorf("%w: %v", errPack, err)
	}
	if string(hdr[:4]) != "PACK" {
		return fmt.Errorf("%w: no PACK signature", errPack)
	}
	if v := binary.BigEndian.Uint32(hdr[4:8]); v != 2 && v != 3 {
		return fmt.Errorf("%w: version %d", errPack, v)
	}
	count := binary.BigEndian.Uint32(hdr[8:12])
	if count > maxPackObjects {
		return fmt.Errorf("a push of %d objects; sandbar checks pushes of up to %d", count, maxPackObjects)
	}
	var zr io.ReadCloser
	for i := uint32(0); i < count; i++ {
		e, err := p.header(cr)
		if err != nil {
			return fmt.Errorf("%w: object %d of %d: %v", errPack, i+1, count, err)
		}
		if zr == nil {
			zr, err = zlib.NewReader(cr)
		} else {
			err = zr.(zlib.Resetter).Reset(cr, nil)
		}
		if err != nil {
			return fmt.Errorf("%w: object at %d: %v", errPack, e.off, err)
		}
		var base []byte
		switch e.typ {
		case objOfsDelta:
			j, ok := slices.BinarySearch(p.offs, e.baseOff)
			if !ok {
				return fmt.Errorf("%w: the delta at %d has no object at its base %d", errPack, e.off, e.baseOff)
			}
			e.resolved = int(p.types[j])
			base = p.content[e.baseOff]
		case objRefDelta:
			if off, ok := p.byOID[e.baseOID]; ok {
				e.resolved = objCommit
				base = p.content[off]
			}
		}
		switch {
		case e.resolved == objCommit:
			b, err := inflateAtMost(zr, e.size)
			if err != nil {
				return fmt.Errorf("%w: object at %d: %v", errPack, e.off, err)
			}
			if e.typ != objCommit {
				if b, err = applyDelta(base, b); err != nil {
					return fmt.Errorf("%w: object at %d: %v", errPack, e.off, err)
				}
			}
			if err := p.keep(e.off, b); err != nil {
				return err
			}
		default:
			if n, err := io.Copy(io.Discard, zr); err != nil || n != e.size {
				return fmt.Errorf("%w: object at %d: inflated %d bytes of %d: %v", errPack, e.off, n, e.size, err)
			}
			if e.resolved == 0 {
				p.pending = append(p.pending, e)
			}
		}
		p.offs = append(p.offs, e.off)
		p.types = append(p.types, int8(e.resolved))
	}
	return nil
}

// header reads an object's header, up to its zlib stream.
func (p *packReader) header(cr *countReader) (packEntry, error) {
	e := packEntry{off: cr.n}
	c, err := cr.ReadByte()
	if err != nil {
		return e, err
	}
	e.typ = int(c>>4) & 7
	e.size = int64(c & 15)
	for shift := 4; c&0x80 != 0; shift += 7 {
		if shift > 60 {
			return e, errors.New("object size too large")
		}
		if c, err = cr.ReadByte(); err != nil {
			return e, err
		}
		e.size |= int64(c&0x7f) << shift
	}
	switch e.typ {
	case objCommit, objTree, objBlob, objTag:
		e.resolved = e.typ
	case objOfsDelta:
		c, err := cr.ReadByte()
		if err != nil {
			return e, err
		}
		rel := int64(c & 0x7f)
		for n := 0; c&0x80 != 0; n++ {
			if n > 8 {
				return e, errors.New("delta offset too large")
			}
			if c, err = cr.ReadByte(); err != nil {
				return e, err
			}
			rel = (rel+1)<<7 | int64(c&0x7f)
		}
		e.baseOff = e.off - rel
		if rel <= 0 || e.baseOff < 12 {
			return e, errors.New("delta base offset out of range")
		}
	case objRefDelta:
		b := make([]byte, p.hexLen/2)
		if _, err := io.ReadFull(cr, b); err != nil {
			return e, err
		}
		e.baseOID = hex.EncodeToString(b)
	default:
		return e, fmt.Errorf("object type %d", e.typ)
	}
	e.data = cr.n
	return e, nil
}

// keep stores and names a commit.
func (p *packReader) keep(off int64, b []byte) error {
	p.kept += int64(len(b))
	if p.kept > maxCommitBytes {
		return fmt.Errorf("the commits of the push are larger than %d bytes; sandbar cannot check it", maxCommitBytes)
	}
	p.content[off] = b
	oid := objectName(p.newHash(), "commit", b)
	p.oidOf[off] = oid
	p.byOID[oid] = off
	p.graph[oid] = parents(b, p.hexLen)
	return nil
}

// resolvePending resolves the deltas whose base came later in the pack
// (reference deltas) or was itself such a delta, from their bases
// outwards, each once.
func (p *packReader) resolvePending() error {
	waitOff := map[int64][]int{}
	waitOID := map[string][]int{}
	for i, e := range p.pending {
		if e.typ == objOfsDelta {
			waitOff[e.baseOff] = append(waitOff[e.baseOff], i)
		} else {
			waitOID[e.baseOID] = append(waitOID[e.baseOID], i)
		}
	}
	// What resolved pending deltas wait on: every commit (by name) and
	// every pending delta, once resolved (by offset).
	type base struct {
		off  int64
		typ  int
		name string
	}
	var queue []base
	for oid, off := range p.byOID {
		if len(waitOID[oid]) > 0 {
			queue = append(queue, base{off, objCommit, oid})
		}
	}
	for len(queue) > 0 {
		b := queue[0]
		queue = queue[1:]
		deps := append(waitOff[b.off], waitOID[b.name]...)
		delete(waitOff, b.off)
		if b.name != "" {
			delete(waitOID, b.name)
		}
		for _, i := range deps {
			e := &p.pending[i]
			if e.resolved != 0 {
				continue
			}
			e.resolved = b.typ
			next := base{off: e.off, typ: b.typ}
			if b.typ == objCommit {
				delta, err := readObject(p.r, p.size, e)
				if err != nil {
					return err
				}
				c, err := applyDelta(p.content[b.off], delta)
				if err != nil {
					return fmt.Errorf("%w: object at %d: %v", errPack, e.off, err)
				}
				if err := p.keep(e.off, c); err != nil {
					return err
				}
				next.name = p.oidOf[e.off]
			}
			queue = append(queue, next)
		}
	}
	return nil
}

// inflateAtMost reads exactly size bytes from zr, a commit or a delta
// of one, and checks it ends there.
func inflateAtMost(zr io.Reader, size int64) ([]byte, error) {
	if size > maxCommitSize {
		return nil, fmt.Errorf("a commit of %d bytes; sandbar checks commits of up to %d", size, maxCommitSize)
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(zr, b); err != nil {
		return nil, err
	}
	if n, _ := io.Copy(io.Discard, io.LimitReader(zr, 1)); n != 0 {
		return nil, errors.New("longer than its header says")
	}
	return b, nil
}

// readObject inflates e's data again, from r.
func readObject(r io.ReaderAt, size int64, e *packEntry) ([]byte, error) {
	cr := &countReader{r: bufio.NewReader(io.NewSectionReader(r, e.data, size-e.data))}
	zr, err := zlib.NewReader(cr)
	if err != nil {
		return nil, fmt.Errorf("%w: object at %d: %v", errPack, e.off, err)
	}
	b, err := inflateAtMost(zr, e.size)
	if err != nil {
		return nil, fmt.Errorf("%w: object at %d: %v", errPack, e.off, err)
	}
	return b, nil
}

// objectName is git's name for an object: the hash of its type, size and
// content.
func objectName(h hash.Hash, typ string, content []byte) string {
	h.Write([]byte(typ + " " + strconv.Itoa(len(content)) + "\x00"))
	h.Write(content)
	return hex.EncodeToString(h.Sum(nil))
}

// parents reads a commit's parent lines, which follow its tree line. A
// commit git would not parse has none here, which can only make a push
// look less like a fast-forward.
func parents(commit []byte, hexLen int) []string {
	var out []string
	header, _, _ := bytes.Cut(commit, []byte("\n\n"))
	lines := bytes.Split(header, []byte("\n"))
	if len(lines) == 0 || !bytes.HasPrefix(lines[0], []byte("tree ")) {
		return nil
	}
	for _, l := range lines[1:] {
		oid, ok := bytes.CutPrefix(l, []byte("parent "))
		if !ok {
			break
		}
		if len(oid) != hexLen || len(bytes.Trim(oid, "0123456789abcdef")) != 0 {
			return nil
		}
		out = append(out, string(oid))
	}
	return out
}

// applyDelta builds an object from base and a git delta.
func applyDelta(base, delta []byte) ([]byte, error) {
	varint := func() (int, error) {
		v, shift := 0, 0
		for {
			if len(delta) == 0 || shift > 56 {
				return 0, errors.New("truncated delta header")
			}
			c := delta[0]
			delta = delta[1:]
			v |= int(c&0x7f) << shift
			shift += 7
			if c&0x80 == 0 {
				return v, nil
			}
		}
	}
	srcSize, err := varint()
	if err != nil {
		return nil, err
	}
	dstSize, err := varint()
	if err != nil {
		return nil, err
	}
	if srcSize != len(base) {
		return nil, fmt.Errorf("delta for a base of %d bytes applied to %d", srcSize, len(base))
	}
	if dstSize > maxCommitSize {
		return nil, fmt.Errorf("delta makes %d bytes", dstSize)
	}
	out := make([]byte, 0, dstSize)
	for len(delta) > 0 {
		op := delta[0]
		delta = delta[1:]
		switch {
		case op&0x80 != 0:
			var off, n int
			for i := range 4 {
				if op&(1<<i) != 0 {
					if len(delta) == 0 {
						return nil, errors.New("truncated copy")
					}
					off |= int(delta[0]) << (8 * i)
					delta = delta[1:]
				}
			}
			for i := range 3 {
				if op&(0x10<<i) != 0 {
					if len(delta) == 0 {
						return nil, errors.New("truncated copy")
					}
					n |= int(delta[0]) << (8 * i)
					delta = delta[1:]
				}
			}
			if n == 0 {
				n = 0x10000
			}
			if off+n > len(base) || off+n < off {
				return nil, errors.New("copy out of the base")
			}
			out = append(out, base[off:off+n]...)
		case op != 0:
			if int(op) > len(delta) {
				return nil, errors.New("truncated insert")
			}
			out = append(out, delta[:op]...)
			delta = delta[op:]
		default:
			return nil, errors.New("reserved delta opcode 0")
		}
		if len(out) > dstSize {
			return nil, errors.New("delta makes more than it says")
		}
	}
	if len(out) != dstSize {
		return nil, fmt.Errorf("delta made %d bytes of %d", len(out), dstSize)
	}
	return out, nil
}

// reaches walks from tip through the parents the pack holds. It reports
// whether it met old, and if not, the commits it stopped at (parents not
// in the pack, or tip itself): whatever else connects tip to old lies on
// the server.
func (g commitGraph) reaches(tip, old string) (bool, []string) {
	seen := map[string]bool{tip: true}
	queue := []string{tip}
	var boundary []string
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		if c == old {
			return true, nil
		}
		ps, ok := g[c]
		if !ok {
			boundary = append(boundary, c)
			continue
		}
		for _, p := range ps {
			if !seen[p] {
				seen[p] = true
				queue = append(queue, p)
			}
		}
	}
	return false, boundary
}
