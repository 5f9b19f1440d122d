package ws

import (
	"encoding/binary"
	"strconv"
)

// StatusCode is a close status code (RFC 6455 section 7.4).
type StatusCode uint16

// Close status codes of RFC 6455 section 7.4.1.
const (
	StatusNormalClosure       StatusCode = 1000
	StatusGoingAway           StatusCode = 1001
	StatusProtocolError       StatusCode = 1002
	StatusUnsupportedData     StatusCode = 1003
	StatusNoStatus            StatusCode = 1005 // never sent: no code in the close frame
	StatusAbnormalClosure     StatusCode = 1006 // never sent: connection dropped without a close frame
	StatusInvalidPayload      StatusCode = 1007
	StatusPolicyViolation     StatusCode = 1008
	StatusMessageTooBig       StatusCode = 1009
	StatusMandatoryExtension  StatusCode = 1010
	StatusInternalError       StatusCode = 1011
	StatusTLSHandshakeFailure StatusCode = 1015 // never sent
)

// String returns the RFC's name for the code, or "application" (3000-4999)
// or "unknown".
func (c StatusCode) String() string {
	switch c {
	case StatusNormalClosure:
		return "normal closure"
	case StatusGoingAway:
		return "going away"
	case StatusProtocolError:
		return "protocol error"
	case StatusUnsupportedData:
		return "unsupported data"
	case StatusNoStatus:
		return "no status"
	case StatusAbnormalClosure:
		return "abnormal closure"
	case StatusInvalidPayload:
		return "invalid payload data"
	case StatusPolicyViolation:
		return "policy violation"
	case StatusMessageTooBig:
		return "message too big"
	case StatusMandatoryExtension:
		return "mandatory extension"
	case StatusInternalError:
		return "internal error"
	case StatusTLSHandshakeFailure:
		return "TLS handshake failure"
	}
	if c >= 3000 && c <= 4999 {
		return "application " + strconv.Itoa(int(c))
	}
	return "unknown"
}

// ValidCloseCode reports whether code may appear in a close frame: 1000-1003,
// 1007-1011 and 3000-4999. 1005, 1006 and 1015 are never sent.
func ValidCloseCode(code StatusCode) bool {
	switch {
	case code >= 1000 && code <= 1003:
		return true
	case code >= 1007 && code <= 1011:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// ParseClosePayload decodes the payload of a close frame. An empty payload
// gives StatusNoStatus. ok is false when the payload is malformed: one byte
// long, a code ValidCloseCode refuses, or a reason that is not UTF-8. The
// reason is a sub-slice of p.
func ParseClosePayload(p []byte) (code StatusCode, reason []byte, ok bool) {
	switch {
	case len(p) == 0:
		return StatusNoStatus, nil, true
	case len(p) == 1:
		return 0, nil, false
	}
	code = StatusCode(binary.BigEndian.Uint16(p))
	reason = p[2:]
	return code, reason, ValidCloseCode(code) && validUTF8(reason)
}

// AppendClosePayload appends a close payload (code, then reason cut to fit
// a control frame at a UTF-8 boundary) to dst. A code ValidCloseCode refuses
// gives an empty payload.
func AppendClosePayload(dst []byte, code StatusCode, reason string) []byte {
	if !ValidCloseCode(code) {
		return dst
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(code))
	if len(reason) > MaxControlPayload-2 {
		cut := MaxControlPayload - 2
		for cut > 0 && reason[cut]&0xC0 == 0x80 {
			cut--
		}
		reason = reason[:cut]
	}
	return append(dst, reason...)
}
