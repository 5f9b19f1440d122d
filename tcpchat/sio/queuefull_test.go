package sio

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/socketio/engine"
	"github.com/wiredojo/wiredojo/socketio/engineio"
	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
)

// A polling session that never polls while its room is flooded ends at a
// bound of its own send queue (engine.Options.SendQueue or SendQueueBytes),
// which the chat server counts as a slow consumer, as it counts a
// connection cut over its own queue, with a log line naming the bound
// (its option: the library names no flag). Without the count the session ended with nothing counted and
// no line saying why.
func TestPollingSessionQueueFullIsASlowConsumer(t *testing.T) {
	for _, tc := range []struct {
		name   string
		engine engine.Options
		arg    string
		want   []string // in the log line
	}{
		{"packets", engine.Options{SendQueue: 8}, `"x"`,
			[]string{tcpchat.ErrSlowConsumer.Error(), "its Socket.IO session's own queue: ", "over the bound of 8 packets (Options.SendQueue)"}},
		{"bytes", engine.Options{SendQueueBytes: 4 << 10}, `"` + strings.Repeat("x", 1<<10) + `"`,
			[]string{tcpchat.ErrSlowConsumer.Error(), "its Socket.IO session's own queue: ", "over the bound of 4096 bytes (Options.SendQueueBytes)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs := make(chan string, 256)
			srv := tcpchat.NewServer(tcpchat.Options{Logf: func(format string, args ...any) {
				select {
				case logs <- fmt.Sprintf(format, args...):
				default:
				}
			}})
			srv.Of("/").OnConnection(func(s *tcpchat.Socket) { s.Join("flood") })
			s := New(srv, Options{Engine: tc.engine})
			srv.HandleHTTP(Path, s)
			t.Cleanup(func() { s.Close() })
			addr := chattest.NewServer(t, srv)

			connectPolling(t, addr)
			// The session polls no more. One event at a time, each written
			// (to the session's queue) before the next: a batch that finds
			// the session's queue empty is taken whatever its size. 64 are
			// over either bound.
			for i := 0; srv.Connections() > 0; i++ {
				if i == 64 {
					t.Fatalf("the session is still open after %d events to its room", i)
				}
				out := srv.Stats().PacketsOut
				srv.Of("/").To("flood").EmitRaw("flood", json.RawMessage("["+tc.arg+"]"))
				chattest.Eventually(t, fmt.Sprintf("event %d written to the session, or its connection ended", i),
					func() bool { return srv.Stats().PacketsOut > out || srv.Connections() == 0 })
			}
			// The session's end (its reader) can be seen before its
			// writer, which met the bound, counts and logs the cut.
			chattest.Eventually(t, "one slow consumer cut (the session that met its queue's bound)",
				func() bool { return srv.Stats().SlowConsumerCuts >= 1 })
			if got := srv.Stats().SlowConsumerCuts; got != 1 {
				t.Errorf("slow consumer cuts: %d, want 1 (the session that met its queue's bound)", got)
			}
			var lines []string
			for {
				select {
				case l := <-logs:
					lines = append(lines, l)
					ok := true
					for _, w := range tc.want {
						ok = ok && strings.Contains(l, w)
					}
					if ok {
						return
					}
				case <-time.After(chattest.Timeout):
					t.Fatalf("no log line with %q within %v; the lines:\n%s", tc.want, chattest.Timeout, strings.Join(lines, "\n"))
				}
			}
		})
	}
}

// connectPolling opens a polling session to addr's Socket.IO transport and
// connects it to "/" (POST, then the poll that gets the answer); it
// returns the session's URL.
func connectPolling(t *testing.T, addr string) string {
	t.Helper()
	base := "http://" + addr + Path + "?EIO=4&transport=polling"
	_, open := httpDo(t, http.MethodGet, base, "", http.StatusOK)
	p, err := engineio.DecodeText([]byte(open))
	if err != nil {
		t.Fatal(err)
	}
	hs, err := engineio.ParseHandshake(p)
	if err != nil {
		t.Fatal(err)
	}
	url := base + "&sid=" + hs.SID
	httpDo(t, http.MethodPost, url, "40", http.StatusOK)
	if _, got := httpDo(t, http.MethodGet, url, "", http.StatusOK); !strings.HasPrefix(got, "40{") {
		t.Fatalf("poll after CONNECT: %q, want the connect answer", got)
	}
	return url
}

// httpDo makes a request and returns its answer, which must have the
// status want (0: any).
func httpDo(t *testing.T, method, url, body string, want int) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if want != 0 && resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", method, url, resp.StatusCode, b, want)
	}
	return resp.StatusCode, string(b)
}
