package wire

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

var jsonCases = []string{
	``, ` `, `[]`, `{}`, ` [ ] `, `[1,2,3]`, `[1,]`, `[,1]`, `{"a":1}`, `{"a":1,}`, `{"a"}`, `{"a":}`,
	`{1:2}`, `{"a":1 "b":2}`, `[1 2]`, `"x"`, `"x`, `"\u00e9"`, `"\u00g9"`, `"\x"`, `"\"\\\/\b\f\n\r\t"`,
	"\"a\tb\"", "\"\x7f\"", "\"\xff\xfe\"", `true`, `tru`, `truex`, `false`, `null`, `nul`, `0`, `-0`, `01`,
	`-`, `1.`, `1.5`, `.5`, `1e5`, `1E+5`, `1e-5`, `1e`, `1e+`, `-1.5e10`, `[[[]]]`, `[[[]]`, `[]]`,
	`{"a":[{"b":null}],"c":"d"}`, `[1]x`, `[1] [2]`, `{"a":1}}`, `["a",{"b":[true,false,null]}]`,
	"[\n\t1\r]", `[-]`, `[--1]`, `[+1]`, `[NaN]`, `"` + strings.Repeat("y", 300) + `"`,
	strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
	strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	strings.Repeat(`{"a":`, 9999) + `[]` + strings.Repeat("}", 9999),
	strings.Repeat(`{"a":`, 10000) + `[]` + strings.Repeat("}", 10000),
	strings.Repeat("[", 100) + strings.Repeat("]", 99),
	// around the one word of nesting bits validJSON tries first
	strings.Repeat("[", 63) + strings.Repeat("]", 63), strings.Repeat("[", 64) + strings.Repeat("]", 64),
	strings.Repeat(`{"a":`, 64) + `[]` + strings.Repeat("}", 64), strings.Repeat("[", 65) + strings.Repeat("]", 64),
	// UTF-8, valid and not, in strings and outside them
	`["héllo, wörld ✓ 😀"]`, "[\"\xc3\x28\"]", "[\"\xe2\x82\"]", "[\"\xed\xa0\x80\"]", "[\"\xf4\x90\x80\x80\"]",
	"[\"\xc0\xaf\"]", "[\"abcdefgh\xffijklmnop\"]", "[\"\xef\xbf\xbd\"]", "[\xc3\xa9]", `{"ключ":"значение"}`,
	"{\"k\xff\":1}",
}

func TestValidJSONAgreesWithEncodingJSON(t *testing.T) {
	for _, c := range jsonCases {
		if got, want := ValidJSON([]byte(c)), json.Valid([]byte(c)); got != want {
			t.Errorf("ValidJSON(%.60q) = %v, encoding/json says %v", c, got, want)
		}
	}
}

func TestValidJSONTextIsValidJSONAndUTF8(t *testing.T) {
	for _, c := range jsonCases {
		if got, want := ValidJSONText([]byte(c)), json.Valid([]byte(c)) && utf8.ValidString(c); got != want {
			t.Errorf("ValidJSONText(%.60q) = %v, encoding/json and utf8 say %v", c, got, want)
		}
	}
}

func FuzzValidJSON(f *testing.F) {
	for _, c := range jsonCases {
		if len(c) < 1000 {
			f.Add([]byte(c))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := ValidJSON(b), json.Valid(b); got != want {
			t.Fatalf("ValidJSON(%q) = %v, encoding/json says %v", b, got, want)
		}
		if got, want := ValidJSONText(b), json.Valid(b) && utf8.Valid(b); got != want {
			t.Fatalf("ValidJSONText(%q) = %v, encoding/json and utf8 say %v", b, got, want)
		}
	})
}

func TestValidJSONAllocs(t *testing.T) {
	b := []byte(`[1,"two",{"three":[true,null,-4.5e6]}]`)
	if n := testing.AllocsPerRun(100, func() { ValidJSON(b); ValidJSONText(b) }); n != 0 {
		t.Fatalf("%v allocs per call", n)
	}
}

func BenchmarkValidJSON(b *testing.B) {
	args := []byte(`[{"from":"ann","room":"lobby","text":"` + strings.Repeat("hello ", 14) + `","n":12345}]`)
	b.Run("ours", func(b *testing.B) {
		b.SetBytes(int64(len(args)))
		b.ReportAllocs()
		for b.Loop() {
			ValidJSON(args)
		}
	})
	b.Run("text", func(b *testing.B) { // and UTF-8: what the server checks
		b.SetBytes(int64(len(args)))
		b.ReportAllocs()
		for b.Loop() {
			ValidJSONText(args)
		}
	})
	b.Run("ours+utf8.Valid", func(b *testing.B) { // what it checked before ValidJSONText
		b.SetBytes(int64(len(args)))
		b.ReportAllocs()
		for b.Loop() {
			_ = ValidJSON(args) && utf8.Valid(args)
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(args)))
		b.ReportAllocs()
		for b.Loop() {
			json.Valid(args)
		}
	})
}

// BenchmarkValidJSONString is the event chatbench sends (bench/nats
// payload.go): an array of one 124-byte ASCII string, which the server
// checks with ValidJSONText for every event.
func BenchmarkValidJSONString(b *testing.B) {
	args := []byte(`["` + strings.Repeat("0123456789abcdef", 2) + strings.Repeat("x", 92) + `"]`)
	b.SetBytes(int64(len(args)))
	b.ReportAllocs()
	for b.Loop() {
		ValidJSONText(args)
	}
}

// TestValidJSONStringWords puts each byte that the word-at-a-time string
// scan must stop at (and its neighbours, which it must not) at every
// position of strings of up to 40 bytes, against encoding/json and utf8.
func TestValidJSONStringWords(t *testing.T) {
	special := []byte{0x00, 0x01, 0x1f, 0x20, 0x21, '"', 0x23, '\\', 0x5b, 0x5d, 0x7f, 0x80, 0xbf, 0xc3, 0xe2, 0xff}
	for n := 1; n <= 40; n++ {
		for pos := 0; pos < n; pos++ {
			for _, c := range special {
				for _, second := range []int{-1, pos + 1, pos + 8, n - 1} {
					s := []byte(`"` + strings.Repeat("a", n) + `"`)
					s[1+pos] = c
					if second >= 0 && second < n && second != pos {
						s[1+second] = '"'
					}
					if got, want := ValidJSON(s), json.Valid(s); got != want {
						t.Fatalf("ValidJSON(%q) = %v, encoding/json says %v", s, got, want)
					}
					if got, want := ValidJSONText(s), json.Valid(s) && utf8.Valid(s); got != want {
						t.Fatalf("ValidJSONText(%q) = %v, encoding/json and utf8 say %v", s, got, want)
					}
				}
			}
		}
	}
}

// TestValidJSONOneString covers the shortcut for an array of one string
// and the shapes next to it, which the scanner must judge.
func TestValidJSONOneString(t *testing.T) {
	for _, c := range []string{`[""]`, `["a"]`, `["a"`, `["a"]]`, `["a"] `, `["a" ]`, `["a",1]`, `["a"]x`, `["\"]`, `["\""]`, `["a\u00"]`, "[\"\x01\"]", "[\"\xff\"]", `[" ]`, `["`, `[]`} {
		if got, want := ValidJSON([]byte(c)), json.Valid([]byte(c)); got != want {
			t.Errorf("ValidJSON(%q) = %v, encoding/json says %v", c, got, want)
		}
		if got, want := ValidJSONText([]byte(c)), json.Valid([]byte(c)) && utf8.ValidString(c); got != want {
			t.Errorf("ValidJSONText(%q) = %v, encoding/json and utf8 say %v", c, got, want)
		}
	}
}
