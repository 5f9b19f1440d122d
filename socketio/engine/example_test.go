package engine_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/wiredojo/wiredojo/socketio/engine"
)

// An echo server, driven by hand over HTTP long-polling: the handshake, a
// POST with a message, a poll that brings it back.
func ExampleServer() {
	srv := engine.NewServer(engine.Options{}, func(s *engine.Session) {
		for {
			p, err := s.Read()
			if err != nil {
				return
			}
			s.Send(p)
		}
	})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Close()

	get := func(url string) string {
		res, err := http.Get(url)
		if err != nil {
			return err.Error()
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	open := get(hs.URL + "/engine.io/?EIO=4&transport=polling")
	sid := open[len(`0{"sid":"`) : strings.IndexByte(open, ',')-1]
	fmt.Println(open[:1], "open packet,", len(sid), "character sid")

	url := hs.URL + "/engine.io/?EIO=4&transport=polling&sid=" + sid
	res, err := http.Post(url, "text/plain", strings.NewReader("4hello"))
	if err != nil {
		fmt.Println(err)
		return
	}
	res.Body.Close()
	fmt.Printf("%q\n", get(url))
	// Output:
	// 0 open packet, 20 character sid
	// "4hello"
}
