package filter

import (
	"net"
	"strconv"
	"strings"
	"unicode/utf8"
)

// tokKind is the kind of a lexical token.
type tokKind int

const (
	tEOF  tokKind = iota
	tNum          // a number: decimal, 0x hex or leading-0 octal
	tHID          // a dotted IPv4 address or prefix of one: 10, 10.1, 10.1.2.3
	tHID6         // an IPv6 address
	tEID          // an Ethernet address xx:xx:xx:xx:xx:xx
	tID           // a name (keywords are tKw); \name is always a tID
	tKw           // a keyword: and, host, tcp, ...
	tOp           // punctuation and operators: ( ) [ ] : + - * / % & | ^ << >> = != < <= > >= !
)

// token is one lexical token of a filter expression.
type token struct {
	kind tokKind
	text string // keyword, operator (normalised: "&&" is "and", "==" is "="), or the source text
	pos  int    // byte offset in the expression
	num  uint32 // tNum
	ip   net.IP // tHID6
	mac  net.HardwareAddr
}

// keywords of the language. Keywords that exist in tcpdump but are not
// supported here are still keywords, so the error can say so.
var keywords = map[string]bool{
	"and": true, "or": true, "not": true,
	"host": true, "net": true, "mask": true, "port": true, "portrange": true, "gateway": true, "proto": true,
	"src": true, "dst": true,
	"ether": true, "link": true, "ip": true, "ip6": true, "arp": true, "rarp": true,
	"tcp": true, "udp": true, "icmp": true, "icmp6": true, "sctp": true, "igmp": true,
	"less": true, "greater": true, "len": true, "broadcast": true, "multicast": true,
	// recognised but unsupported
	"vlan": true, "mpls": true, "pppoed": true, "pppoes": true, "geneve": true, "inbound": true, "outbound": true,
	"ifindex": true, "protochain": true, "byte": true, "decnet": true, "fddi": true, "tr": true, "wlan": true,
	"atalk": true, "aarp": true, "iso": true, "esis": true, "isis": true, "clnp": true, "stp": true, "ipx": true,
	"netbeui": true, "lat": true, "mopdl": true, "moprc": true, "sca": true, "pim": true, "vrrp": true, "carp": true,
	"igrp": true, "ah": true, "esp": true, "radio": true, "llc": true, "ppp": true, "slip": true, "type": true,
	"subtype": true, "dir": true, "addr1": true, "addr2": true, "addr3": true, "addr4": true, "ra": true, "ta": true,
	"on": true, "ifname": true, "rnr": true, "rulenum": true, "reason": true, "rset": true, "ruleset": true,
	"srnr": true, "subrulenum": true, "action": true, "lane": true, "llc2": true, "oam": true, "oamf4": true,
	"metac": true, "bcc": true, "sc": true, "ilmic": true, "connectmsg": true, "metaconnect": true,
	"vpi": true, "vci": true, "fisu": true, "lssu": true, "msu": true, "sio": true, "opc": true, "dpc": true, "sls": true,
}

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isHex(c byte) bool    { return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') }
func isAlnum(c byte) bool  { return isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
func isWordCh(c byte) bool { return isAlnum(c) || c == '-' || c == '_' || c == '.' }

// lex tokenises src; the result always ends with a tEOF token.
func lex(src string) ([]token, *SyntaxError) {
	var toks []token
	i := 0
	for {
		for i < len(src) && (src[i] == ' ' || src[i] == '\t' || src[i] == '\n' || src[i] == '\r') {
			i++
		}
		if i >= len(src) {
			toks = append(toks, token{kind: tEOF, pos: i})
			return toks, nil
		}
		c := src[i]
		start := i
		switch {
		case c == '\\':
			j := i + 1
			for j < len(src) && !strings.ContainsRune(" \t\r\n!()", rune(src[j])) {
				j++
			}
			if j == i+1 {
				return nil, &SyntaxError{Expr: src, Col: i + 1, Msg: "a name must follow the backslash"}
			}
			toks = append(toks, token{kind: tID, text: src[i+1 : j], pos: start})
			i = j
			continue
		case isAlnum(c) || c == ':':
			if t, n, ok := lexColon(src[i:]); ok {
				t.pos = start
				toks = append(toks, t)
				i += n
				continue
			}
			if !isAlnum(c) {
				break
			}
			j := i + 1
			for j < len(src) && isWordCh(src[j]) {
				j++
			}
			// A word must end in a letter, digit or dot (as in tcpdump).
			for j > i+1 && (src[j-1] == '-' || src[j-1] == '_') {
				j--
			}
			word := src[i:j]
			t, err := classifyWord(word)
			if err != nil {
				return nil, &SyntaxError{Expr: src, Col: start + 1, Msg: err.Error()}
			}
			t.pos = start
			toks = append(toks, t)
			i = j
			continue
		}
		// operators
		op := ""
		two := ""
		if i+1 < len(src) {
			two = src[i : i+2]
		}
		switch two {
		case "&&":
			op = "and"
		case "||":
			op = "or"
		case "==":
			op = "="
		case "!=", "<=", ">=", "<<", ">>":
			op = two
		}
		if op != "" {
			toks = append(toks, token{kind: tOp, text: op, pos: start})
			if op == "and" || op == "or" {
				toks[len(toks)-1].kind = tKw
			}
			i += 2
			continue
		}
		if strings.IndexByte("()[]:+-*/%&|^=<>!", c) >= 0 {
			toks = append(toks, token{kind: tOp, text: string(c), pos: start})
			i++
			continue
		}
		r, _ := utf8.DecodeRuneInString(src[i:])
		return nil, &SyntaxError{Expr: src, Col: start + 1, Msg: "unexpected character " + strconv.QuoteRune(r)}
	}
}

// lexColon recognises an IPv6 address or an Ethernet address at the start of
// s. It takes the longest run of hex digits, colons and dots that contains a
// colon and parses as one of them.
func lexColon(s string) (token, int, bool) {
	j := 0
	for j < len(s) && (isHex(s[j]) || s[j] == ':' || s[j] == '.') {
		j++
	}
	// the run must not continue into a word (e.g. "add:" followed by letters)
	if j < len(s) && isWordCh(s[j]) {
		return token{}, 0, false
	}
	for ; j > 0; j-- {
		w := s[:j]
		if !strings.Contains(w, ":") {
			return token{}, 0, false
		}
		if j < len(s) && (isHex(s[j]) || s[j] == ':') {
			// only whole runs (or runs cut before a dot) may be addresses
			continue
		}
		if mac, ok := parseMAC(w); ok {
			return token{kind: tEID, text: w, mac: mac}, j, true
		}
		if ip := net.ParseIP(w); ip != nil && strings.Contains(w, ":") {
			return token{kind: tHID6, text: w, ip: ip}, j, true
		}
	}
	return token{}, 0, false
}

// parseMAC parses xx:xx:xx:xx:xx:xx with one or two hex digits per byte.
func parseMAC(s string) (net.HardwareAddr, bool) {
	parts := strings.Split(s, ":")
	if len(parts) != 6 {
		return nil, false
	}
	mac := make(net.HardwareAddr, 6)
	for i, p := range parts {
		if len(p) < 1 || len(p) > 2 {
			return nil, false
		}
		v, err := strconv.ParseUint(p, 16, 8)
		if err != nil {
			return nil, false
		}
		mac[i] = byte(v)
	}
	return mac, true
}

// parseNum parses a tcpdump number: decimal, 0x hex, or octal with a
// leading 0. ok is false if s is not a number; err is set if it is one but
// does not fit in 32 bits.
func parseNum(s string) (v uint32, ok bool, err error) {
	base := 10
	digits := s
	switch {
	case len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X"):
		base, digits = 16, s[2:]
	case len(s) > 1 && s[0] == '0':
		base, digits = 8, s[1:]
	}
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		if (base == 16 && !isHex(c)) || (base != 16 && !isDigit(c)) {
			return 0, false, nil
		}
	}
	if digits == "" {
		return 0, false, nil
	}
	n, perr := strconv.ParseUint(digits, base, 32)
	if perr != nil {
		if base == 8 {
			if _, derr := strconv.ParseUint(digits, 10, 64); derr == nil {
				return 0, true, errf("number %q is not a valid octal number (a leading 0 means octal)", s)
			}
		}
		return 0, true, errf("number %q does not fit in 32 bits", s)
	}
	return uint32(n), true, nil
}

// classifyWord turns a word into a number, dotted address, keyword or name.
func classifyWord(w string) (token, error) {
	if v, ok, err := parseNum(w); ok {
		if err != nil {
			return token{}, err
		}
		return token{kind: tNum, text: w, num: v}, nil
	}
	if isDigit(w[0]) && strings.Contains(w, ".") {
		parts := strings.Split(w, ".")
		dotted := len(parts) <= 4
		for _, p := range parts {
			if _, ok, err := parseNum(p); !ok || err != nil {
				dotted = false
			}
		}
		if dotted {
			return token{kind: tHID, text: w}, nil
		}
	}
	if keywords[w] {
		return token{kind: tKw, text: w}, nil
	}
	return token{kind: tID, text: w}, nil
}
