package gitguard

import (
	"errors"
	"fmt"
	"io"
)

// maxPktLen is the largest pkt-line git reads or writes (LARGE_PACKET_MAX),
// its four length digits included.
const maxPktLen = 65520

// pktKind tells data from the special packets.
type pktKind int

const (
	pktData        pktKind = iota
	pktFlush               // 0000
	pktDelim               // 0001 (protocol v2)
	pktResponseEnd         // 0002 (protocol v2)
)

// errPkt is a malformed pkt-line.
var errPkt = errors.New("malformed pkt-line")

// readPkt reads one pkt-line from r. The payload is in buf, which must
// hold maxPktLen bytes, and is valid until the next call. A stream that
// ends between packets is io.EOF; one that ends inside a packet is
// io.ErrUnexpectedEOF.
func readPkt(r io.Reader, buf []byte) (pktKind, []byte, error) {
	var h [4]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	n := 0
	for _, c := range h {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, nil, fmt.Errorf("%w: length %q is not hexadecimal", errPkt, h[:])
		}
		n = n<<4 | int(d)
	}
	switch {
	case n == 0:
		return pktFlush, nil, nil
	case n == 1:
		return pktDelim, nil, nil
	case n == 2:
		return pktResponseEnd, nil, nil
	case n < 4:
		return 0, nil, fmt.Errorf("%w: length %d", errPkt, n)
	case n > maxPktLen:
		return 0, nil, fmt.Errorf("%w: length %d is more than %d", errPkt, n, maxPktLen)
	}
	p := buf[:n-4]
	if _, err := io.ReadFull(r, p); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	return pktData, p, nil
}

// appendPkt appends payload as a pkt-line; a payload too long for one is
// cut (the messages sandbar writes are short).
func appendPkt(dst []byte, payload string) []byte {
	if len(payload) > maxPktLen-4 {
		payload = payload[:maxPktLen-4]
	}
	return append(fmt.Appendf(dst, "%04x", len(payload)+4), payload...)
}

func appendFlush(dst []byte) []byte { return append(dst, "0000"...) }
func appendDelim(dst []byte) []byte { return append(dst, "0001"...) }

// maxSidebandData is what one side-band-64k packet carries after its band
// byte.
const maxSidebandData = maxPktLen - 5

// appendSideband appends data on band (1 data, 2 progress, 3 error) as
// side-band packets; side-band (without 64k) allows only 1000 bytes a
// packet.
func appendSideband(dst []byte, band byte, data []byte, small bool) []byte {
	max := maxSidebandData
	if small {
		max = 1000 - 5
	}
	for len(data) > 0 {
		n := min(len(data), max)
		dst = fmt.Appendf(dst, "%04x", n+5)
		dst = append(dst, band)
		dst = append(dst, data[:n]...)
		data = data[n:]
	}
	return dst
}
