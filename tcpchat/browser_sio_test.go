package tcpchat_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/wiredojo/wiredojo/internal/testdep"
	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/builtin"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
	"github.com/wiredojo/wiredojo/tcpchat/sio"
)

// TestBrowserSocketIOPage: the page sio.html runs the official
// socket.io-client 4.8.4 (from testdata/node, served at
// /socket.io/socket.io.min.js as `chat serve --socketio-client` does) in
// headless Chromium; it chats in one room with the WebSocket page, a
// framed-TCP Go client and a Go client over Socket.IO. At 390 px wide it
// has no horizontal scrolling.
func TestBrowserSocketIOPage(t *testing.T) {
	js := filepath.Join(testdep.NodeDir(t, "socket.io-client"), "node_modules", "socket.io-client", "dist", "socket.io.min.js")
	srv := tcpchat.NewServer(tcpchat.Options{})
	builtin.Install(srv.Of("/chat"))
	h := sio.New(srv, sio.Options{})
	t.Cleanup(func() { h.Close() })
	srv.HandleHTTP(sio.Path, h)
	srv.HandleHTTP("GET "+sio.Path+"socket.io.min.js", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, js) }))
	addr := chattest.NewServer(t, srv)
	browser := newBrowser(t)

	ann := openPage(t, browser, "http://"+addr+"/sio.html", "ann", "dojo")
	ann.waitStatus(t, "connected as ann (websocket)") // polling first, then the upgrade
	bea := openPage(t, browser, "http://"+addr+"/", "bea", "dojo")
	ann.waitLog(t, "bea joined dojo (2 here)")
	tia := join(t, addr, "tia", "dojo", tcpchat.ClientOptions{})
	gus := join(t, "socketio://"+addr, "gus", "dojo", tcpchat.ClientOptions{})
	ann.waitLog(t, "gus joined dojo (4 here)")

	ann.say(t, "hello from socket.io", 3)
	bea.waitLog(t, "ann: hello from socket.io")
	tia.hears(t, "ann", "hello from socket.io")
	gus.hears(t, "ann", "hello from socket.io")
	gus.say(t, "hi from Go over socket.io", 3)
	ann.waitLog(t, "gus: hi from Go over socket.io")
	bea.waitLog(t, "gus: hi from Go over socket.io")
	tia.hears(t, "gus", "hi from Go over socket.io")
	ann.screenshot(t, "sio-chat.png")

	zoe := openPage(t, browser, "http://"+addr+"/sio.html", "zoe-with-a-rather-long-name", "elsewhere", chromedp.EmulateViewport(390, 844))
	zoe.say(t, strings.Repeat("supercalifragilistic", 12), 0)
	zoe.screenshot(t, "sio-narrow-390.png")
	if v := zoe.eval(t, `document.documentElement.scrollWidth <= window.innerWidth && window.innerWidth === 390`); v != true {
		t.Errorf("horizontal scroll at 390 px: scrollWidth %v", zoe.eval(t, `document.documentElement.scrollWidth`))
	}
	for _, p := range []*page{ann, bea, zoe} {
		p.noBadResponses(t)
	}
}

// Without the client script the page says how to serve it, at 1280 and
// 390 px wide with each command and flag on one line: the flag broken
// after its first hyphen read as "-" and "-socketio-client".
func TestBrowserSocketIOPageWithoutClient(t *testing.T) {
	addr := chatServer(t, tcpchat.Options{})
	browser := newBrowser(t)
	p := &page{name: "ann"}
	ctx, cancel := chromedp.NewContext(browser)
	defer cancel()
	p.ctx = ctx
	p.run(t, "open the page and join",
		chromedp.Navigate("http://"+addr+"/sio.html?name=ann&room=dojo"),
		chromedp.WaitVisible(chromedp.CSS(`#join`)))
	p.waitLog(t, "--socketio-client DIR")
	for _, width := range []int64{1280, 390} {
		p.run(t, "resize", chromedp.EmulateViewport(width, 844))
		p.screenshot(t, fmt.Sprintf("sio-without-client-%d.png", width))
		if v := p.eval(t, `[...document.querySelectorAll("#log code, footer code")].filter(c => c.textContent.includes("--socketio-client")).length`); v != float64(2) {
			t.Errorf("at %d px: --socketio-client in <code> %v times, want 2 (the log's error, the footer)", width, v)
		}
		if v := p.eval(t, `JSON.stringify([...document.querySelectorAll("code")].filter(c => c.getClientRects().length !== 1).map(c => c.textContent))`); v != "[]" {
			t.Errorf("at %d px: <code> broken across lines: %v", width, v)
		}
		if v := p.eval(t, `document.documentElement.scrollWidth <= window.innerWidth`); v != true {
			t.Errorf("horizontal scroll at %d px: scrollWidth %v", width, p.eval(t, `document.documentElement.scrollWidth`))
		}
	}
}
