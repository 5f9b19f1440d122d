package main

import (
	"strings"
	"testing"
)

func TestDemoRunsToTheEnd(t *testing.T) {
	code, out, errs := chatRun(t, "", "demo", "--pace", "0s")
	if code != 0 {
		t.Fatalf("demo exited with %d: %s\n%s", code, errs, out)
	}
	for _, want := range []string{
		`bob      hears ann in lobby: "hi bob!"`,
		`echo acked with ["ping",42]`,
		`create-room /chat room "lobby"`,
		`delete-room /chat room "lobby"`,
		`GET /healthz → ok`,
		`server shutting down (code 7)`,
		`connected to ws://`,
		`head-of-line blocking`,
		`What to try next:`,
		`bob      receives event news ["durable: kept for bob"]`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, `bob      receives event news ["plain`) {
		t.Errorf("bob got the plain event sent while he was away:\n%s", out)
	}
	if strings.Contains(out, `bob      receives event tip`) {
		t.Errorf("the broadcast except bob reached bob:\n%s", out)
	}
}
