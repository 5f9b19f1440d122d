package tcpchat

import "testing"

func TestLastStringArg(t *testing.T) {
	for _, tc := range []struct {
		args, want string
		ok         bool
	}{
		{`["hi","1733-0"]`, "1733-0", true},
		{`[ "only" ]`, "only", true},
		{`["a", "say \"x\""]`, `say "x"`, true},
		{`["a","ends with \\"]`, `ends with \`, true},
		{`["a",7]`, "", false},
		{`[{"k":"v"}]`, "", false},
		{`["x",["in","array"]]`, "", false},
		{`[]`, "", false},
		{``, "", false},
		{`"]`, "", false},
	} {
		got, ok := lastStringArg([]byte(tc.args))
		if got != tc.want || ok != tc.ok {
			t.Errorf("lastStringArg(%s) = %q %v, want %q %v", tc.args, got, ok, tc.want, tc.ok)
		}
	}
}

// TestSocketIOResumeAuth checks the CONNECT auth a Socket.IO client sends
// after a server gave a pid and events with offsets.
func TestSocketIOResumeAuth(t *testing.T) {
	rec := new(sioRecovery)
	tr := &sioTransport{rec: rec, token: "tok"}
	auth := func(ns, args string) string {
		t.Helper()
		b, err := tr.auth(ns, []byte(args))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if got := auth("/", `{"name":"go"}`); got != `{"token":"tok","name":"go"}` {
		t.Errorf("first connect: %s", got)
	}
	rec.connected("/", "p1")
	rec.received("/", []byte(`["hi","o1"]`))
	rec.received("/chat", []byte(`["other namespace","o9"]`))
	if got := auth("/", `{"name":"go"}`); got != `{"token":"tok","pid":"p1","offset":"o1","name":"go"}` {
		t.Errorf("connect after a pid: %s", got)
	}
	rec.connected("/", "p1") // recovered: the offset stays
	if got := auth("/", ""); got != `{"token":"tok","pid":"p1","offset":"o1"}` {
		t.Errorf("connect after recovery: %s", got)
	}
	rec.connected("/", "p2") // a new session
	tr.token = ""
	if got := auth("/", "{}"); got != `{"pid":"p2"}` {
		t.Errorf("connect after a new session: %s", got)
	}
	rec.connected("/", "") // a server without recovery
	if got := auth("/", "{}"); got != `{}` {
		t.Errorf("connect without recovery: %s", got)
	}
}
