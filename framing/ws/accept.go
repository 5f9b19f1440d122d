package ws

import (
	"crypto/sha1"
	"encoding/base64"
)

// keyGUID is the fixed GUID of RFC 6455 section 1.3.
const keyGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// acceptLen is the length of a Sec-WebSocket-Accept value.
const acceptLen = 28

// AcceptKey returns the Sec-WebSocket-Accept value for a Sec-WebSocket-Key:
// base64(SHA-1(key + GUID)).
func AcceptKey(key string) string {
	var b [acceptLen]byte
	putAccept(b[:], []byte(key))
	return string(b[:])
}

// putAccept writes the accept value for key into dst[:acceptLen] without
// allocating (keys are 24 bytes; longer ones are hashed all the same).
func putAccept(dst, key []byte) {
	var buf [24 + len(keyGUID)]byte
	var sum [sha1.Size]byte
	if len(key) == 24 {
		copy(buf[:], key)
		copy(buf[24:], keyGUID)
		sum = sha1.Sum(buf[:])
	} else {
		h := sha1.New()
		h.Write(key)
		h.Write([]byte(keyGUID))
		h.Sum(sum[:0])
	}
	base64.StdEncoding.Encode(dst, sum[:])
}

// validKey reports whether key is the base64 encoding of 16 bytes: 22
// characters of the standard alphabet and "==" (what
// base64.StdEncoding.Decode accepts, without decoding).
func validKey(key []byte) bool {
	if len(key) != 24 || key[22] != '=' || key[23] != '=' {
		return false
	}
	for _, c := range key[:22] {
		if !base64Char[c] {
			return false
		}
	}
	return true
}

// base64Char marks the characters of the standard base64 alphabet.
var base64Char = func() (t [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") {
		t[c] = true
	}
	return t
}()
