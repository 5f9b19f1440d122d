package labs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/wiredojo/wiredojo/framing"
)

// readRecord is one line of lab 2's reads.log.
type readRecord struct {
	Conn   int      `json:"conn"`
	Read   string   `json:"read,omitempty"`   // the bytes of one read call
	Closed bool     `json:"closed,omitempty"` // the connection ended
	Frames []string `json:"frames,omitempty"` // its bytes decoded as frames
	Rest   int      `json:"rest,omitempty"`   // bytes left that are not a whole frame
	Error  string   `json:"error,omitempty"`
}

// readDelay is how long the lab's server waits before each read.
const readDelay = 100 * time.Millisecond

// runByteStream serves a TCP port that logs every read and what the bytes
// are when read as length-prefixed frames.
func runByteStream(ctx context.Context, env *Env) error {
	addr := env.Addr("127.0.0.1:7072")
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s (is another lab running?): %w", addr, err)
	}
	logf, err := os.OpenFile(env.Path("reads.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		ln.Close()
		return fmt.Errorf("opening reads.log: %w", err)
	}
	defer logf.Close()
	fmt.Fprintf(env.Out, "listening on %s; every read is printed here and logged to %s\n", addr, env.Path("reads.log"))
	fmt.Fprintln(env.Out, "ready; follow the lab's steps in another terminal (Ctrl-C here stops it)")
	var mu sync.Mutex
	enc := json.NewEncoder(logf)
	record := func(r readRecord) {
		mu.Lock()
		defer mu.Unlock()
		_ = enc.Encode(r)
		switch {
		case r.Read != "":
			fmt.Fprintf(env.Out, "conn %d: read %d bytes: %q\n", r.Conn, len(r.Read), r.Read)
		case r.Closed:
			fmt.Fprintf(env.Out, "conn %d: closed; as frames: %q (%d bytes left over)\n", r.Conn, r.Frames, r.Rest)
		}
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	for n := 1; ; n++ {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("accepting: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			serveByteStream(ctx, n, c, record)
		}()
	}
}

func serveByteStream(ctx context.Context, n int, c net.Conn, record func(readRecord)) {
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	var all []byte
	buf := make([]byte, 64<<10)
	for {
		// A busy reader: what arrives meanwhile piles up in the socket.
		select {
		case <-time.After(readDelay):
		case <-ctx.Done():
			return
		}
		m, err := c.Read(buf)
		if m > 0 {
			record(readRecord{Conn: n, Read: string(buf[:m])})
			all = append(all, buf[:m]...)
		}
		if err != nil {
			r := readRecord{Conn: n, Closed: true}
			if !errors.Is(err, io.EOF) && ctx.Err() == nil {
				r.Error = err.Error()
			}
			rest := all
			for {
				p, next, ok, ferr := framing.Split(rest, framing.DefaultMaxFrame)
				if ferr != nil || !ok {
					break
				}
				r.Frames = append(r.Frames, string(p))
				rest = next
			}
			r.Rest = len(rest)
			record(r)
			return
		}
	}
}

func checkByteStream(_ context.Context, env *Env) Result {
	b, err := readEvidence(env, "reads.log", "run `wiredojo lab run 2` and send to it while it runs")
	if err != nil {
		return Fail("reads.log", err.Error())
	}
	var res Result
	reads, best := 0, []string(nil)
	framed := false
	perConn := map[int]int{}    // reads of each connection
	bytesOf := map[int]string{} // what each connection carried
	for _, m := range jsonLines(b) {
		var r readRecord
		raw, _ := json.Marshal(m)
		if json.Unmarshal(raw, &r) != nil {
			continue
		}
		if r.Read != "" {
			reads++
			perConn[r.Conn]++
			bytesOf[r.Conn] += r.Read
		}
		if r.Closed && r.Rest == 0 && len(r.Frames) == 3 {
			best = r.Frames
			if r.Frames[0] == "one" && r.Frames[1] == "two" && r.Frames[2] == "three" {
				framed = true
			}
		}
	}
	switch {
	case reads == 0:
		res.Add("something was sent", false, "reads.log has no read yet: send to 127.0.0.1:7072 while `lab run 2` runs")
		return res
	case framed:
		res.Add("three frames one, two, three on one connection", true, "")
	case best != nil:
		res.Add("three frames one, two, three on one connection", false, fmt.Sprintf("a connection carried three frames, but they were %q: check the words and their order", best))
	default:
		res.Add("three frames one, two, three on one connection", false, "no connection decoded as exactly three whole frames: each frame is a 4-byte big-endian length, then that many bytes (`lab hint 2`)")
	}
	var want []string
	for c, s := range bytesOf {
		if s == "one\ntwo\nthree\n" {
			want = append(want, strconv.Itoa(perConn[c]))
		}
	}
	if want == nil {
		res.Add("the reads of the three lines", false, "no connection carried exactly \"one\\ntwo\\nthree\\n\": send them with the `tcp send` of step 2")
		return res
	}
	answers, err := readAnswers(env, "answers.txt", "write how many reads the three lines took (step 4 of `lab show 2`)")
	if err != nil {
		res.Add("the reads of the three lines", false, err.Error())
		return res
	}
	answerItem(&res, answers, "reads of the first connection", "the reads of the three lines", want,
		"count the `read` lines of the connection that carried one, two and three as lines (terminal 1 or reads.log)")
	return res
}
