package wire

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestAttachmentsRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		sio    string
		atts   [][]byte
		inline string
	}{
		{`["a",{"_placeholder":true,"num":0}]`, [][]byte{{1, 2, 3}}, `["a",{"$binary":"AQID"}]`},
		{`["message",{"_placeholder":true,"num":0},{"x":{ "num" : 1 , "_placeholder" : true }}]`, [][]byte{{1}, {2}},
			`["message",{"$binary":"AQ=="},{"x":{"$binary":"Ag=="}}]`},
		{`["s","{\"_placeholder\":true,\"num\":0}",{"_placeholder":true,"num":0}]`, [][]byte{{}}, `["s","{\"_placeholder\":true,\"num\":0}",{"$binary":""}]`},
		{`[{"_placeholder":false,"num":0},{"num":0}]`, nil, `[{"_placeholder":false,"num":0},{"num":0}]`},
	} {
		got, err := InlineAttachments([]byte(tc.sio), tc.atts)
		if err != nil || string(got) != tc.inline {
			t.Errorf("inline %s = %s, %v; want %s", tc.sio, got, err, tc.inline)
		}
		back, atts := ExtractAttachments(got)
		if len(atts) != len(tc.atts) {
			t.Fatalf("extract %s: %d attachments, want %d", got, len(atts), len(tc.atts))
		}
		for i := range atts {
			if !bytes.Equal(atts[i], tc.atts[i]) {
				t.Errorf("extract %s: attachment %d = % x", got, i, atts[i])
			}
		}
		if _, err := InlineAttachments(back, atts); err != nil {
			t.Errorf("extracted %s does not inline again: %v", back, err)
		}
	}
	for _, bad := range []struct {
		sio  string
		atts int
	}{
		{`[{"_placeholder":true,"num":1}]`, 1}, // missing attachment
		{`["a"]`, 1},                           // attachment without placeholder
	} {
		if _, err := InlineAttachments([]byte(bad.sio), make([][]byte, bad.atts)); err == nil {
			t.Errorf("inline %s with %d attachments: no error", bad.sio, bad.atts)
		}
	}
}

func TestExtractWithoutBinaryAllocatesNothing(t *testing.T) {
	data := []byte(`["message",{"from":"a","text":"hi"}]`)
	if n := testing.AllocsPerRun(100, func() { ExtractAttachments(data) }); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

func TestAppendJSONStringAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "message", `a"b\c`, "tab\there\x00\x1f", "é ✓"} {
		got := AppendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil || back != s {
			t.Errorf("AppendJSONString(%q) = %s: decodes to %q, %v", s, got, back, err)
		}
	}
}

func TestAppendEventArray(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		event, args, want string
	}{
		{"message", `["hi",{"a":1}]`, `["message","hi",{"a":1}]`},
		{"ping", `[]`, `["ping"]`},
		{"ping", ``, `["ping"]`},
		{`say "x"`, `[1]`, `["say \"x\"",1]`},
	} {
		got := AppendEventArray([]byte("prefix:"), tc.event, []byte(tc.args))
		if string(got) != "prefix:"+tc.want {
			t.Errorf("AppendEventArray(%q, %q) = %q, want %q", tc.event, tc.args, got, "prefix:"+tc.want)
		}
		if !json.Valid(got[len("prefix:"):]) {
			t.Errorf("%q is not JSON", got)
		}
	}
}
