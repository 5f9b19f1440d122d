package tcpchat_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/wiredojo/wiredojo/internal/testdep"
	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/builtin"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
)

// browserTimeout bounds the whole browser test: starting Chromium, two
// pages, and every wait.
const browserTimeout = 90 * time.Second

// newBrowser starts headless Chromium (stopped when the test ends) and
// returns its context; each chromedp.NewContext of it is a new tab.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path := testdep.Require(t, "chromium", "apt-get install chromium")
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox, // the tests may run as root
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	if err := chromedp.Do(browserCtx); err != nil { // starts the browser
		cancelBrowser()
		cancelAlloc()
		cancel()
		t.Fatalf("start %s: %v", path, err)
	}
	t.Cleanup(func() {
		cancelBrowser() // closes the browser
		cancelAlloc()   // waits for the process to end
		cancel()
	})
	return browserCtx
}

// page is one browser tab on the chat page.
type page struct {
	ctx  context.Context
	name string
	mu   sync.Mutex
	logs []string // console messages and exceptions, for failures
	bad  []string // HTTP responses with an error status (a 404 in the console)
}

func openPage(t *testing.T, browser context.Context, url, name, room string, setup ...chromedp.Action[chromedp.Void]) *page {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	p := &page{ctx: ctx, name: name}
	err := chromedp.Listen(ctx, func(ev any) {
		var line string
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			line = fmt.Sprintf("console.%s:", ev.Type)
			for _, a := range ev.Args {
				line += " " + string(a.Value)
			}
		case *runtime.EventExceptionThrown:
			line = "exception: " + ev.ExceptionDetails.Text
			if e := ev.ExceptionDetails.Exception; e != nil {
				line += " " + e.Description
			}
		case *network.EventResponseReceived:
			if ev.Response.Status < 400 {
				return
			}
			p.mu.Lock()
			p.bad = append(p.bad, fmt.Sprintf("%d %s", ev.Response.Status, ev.Response.URL))
			p.mu.Unlock()
			return
		default:
			return
		}
		p.mu.Lock()
		p.logs = append(p.logs, line)
		p.mu.Unlock()
	})
	if err != nil {
		t.Fatalf("%s: open a tab: %v", name, err)
	}
	p.run(t, "open the page and join", append(setup,
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.CSS(`#join`)),
		chromedp.SetValue(chromedp.CSS(`#name`), name),
		chromedp.SetValue(chromedp.CSS(`#room`), room),
		chromedp.Click(chromedp.CSS(`#join`)),
	)...)
	p.waitLog(t, "joined room "+room)
	return p
}

// noBadResponses fails if the page got an HTTP error status for anything
// it loaded (a favicon, a script).
func (p *page) noBadResponses(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.bad) > 0 {
		t.Errorf("%s: HTTP errors while loading the page: %q", p.name, p.bad)
	}
}

// waitStatus waits until the status badge contains text.
func (p *page) waitStatus(t *testing.T, text string) {
	t.Helper()
	p.run(t, "wait for the status "+strconv.Quote(text),
		chromedp.Poll[chromedp.Void](`document.getElementById("status").innerText.includes(`+strconv.Quote(text)+`)`,
			chromedp.WithPollingMutation(), chromedp.WithPollingTimeout(30*time.Second)))
}

// eval evaluates a JavaScript expression in the tab.
func (p *page) eval(t *testing.T, expr string) any {
	t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[any](expr))
	if err != nil {
		t.Fatalf("%s: evaluate %s: %v", p.name, expr, err)
	}
	return v
}

// screenshot saves the tab as PNG in $WIREDOJO_SCREENSHOTS, when set, so
// a person can look at the page as the test left it.
func (p *page) screenshot(t *testing.T, file string) {
	t.Helper()
	dir := os.Getenv("WIREDOJO_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("%s: screenshot: %v", p.name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, file), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// run runs actions in the tab, failing with the page's console on error.
func (p *page) run(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(p.ctx, actions...); err != nil {
		// What the page showed when it failed: its status and the end of its log.
		shown, evalErr := chromedp.Run(p.ctx, chromedp.Evaluate[any](
			`(document.getElementById("status")?.innerText ?? "") + " | log: " + (document.getElementById("log")?.innerText ?? "").slice(-400)`))
		if evalErr != nil {
			shown = "(not read: " + evalErr.Error() + ")"
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		t.Fatalf("%s: %s: %v\npage status: %v\npage console: %q", p.name, what, err, shown, p.logs)
	}
}

// waitLog waits until the page's message list contains text.
func (p *page) waitLog(t *testing.T, text string) {
	t.Helper()
	p.run(t, "wait for "+strconv.Quote(text),
		chromedp.Poll[chromedp.Void](`document.getElementById("log").innerText.includes(`+strconv.Quote(text)+`)`,
			chromedp.WithPollingMutation(), chromedp.WithPollingTimeout(30*time.Second)))
}

// say types a message and sends it, then waits for its ack to be shown.
func (p *page) say(t *testing.T, text string, delivered int) {
	t.Helper()
	p.run(t, "send "+strconv.Quote(text),
		chromedp.WaitEnabled(chromedp.CSS(`#text`)),
		chromedp.SetValue(chromedp.CSS(`#text`), text),
		chromedp.Click(chromedp.CSS(`#send`)),
	)
	switch delivered {
	case 0:
		p.waitLog(t, text+"delivered to nobody else")
	case 1:
		p.waitLog(t, text+"✓ delivered to 1 other")
	default:
		p.waitLog(t, text+"✓ delivered to "+strconv.Itoa(delivered)+" others")
	}
}

// TestBrowserChat: two headless Chromium pages and one framed-TCP Go client
// chat in one room through the page served at GET /.
func TestBrowserChat(t *testing.T) {
	addr := chatServer(t, tcpchat.Options{})
	browser := newBrowser(t)
	url := "http://" + addr + "/"

	ann := openPage(t, browser, url, "ann", "dojo")
	bea := openPage(t, browser, url, "bea", "dojo")
	ann.waitLog(t, "bea joined dojo (2 here)")
	tia := join(t, addr, "tia", "dojo", tcpchat.ClientOptions{})
	ann.waitLog(t, "tia joined dojo (3 here)")
	bea.waitLog(t, "tia joined dojo (3 here)")
	zed := openPage(t, browser, url, "zed", "elsewhere") // another room hears nothing
	zed.say(t, "anyone?", 0)

	ann.say(t, "hello from ann", 2)
	bea.waitLog(t, "ann: hello from ann")
	tia.hears(t, "ann", "hello from ann")

	tia.say(t, "hi browsers", 2)
	ann.waitLog(t, "tia: hi browsers")
	bea.waitLog(t, "tia: hi browsers")

	bea.say(t, "bea here", 2)
	ann.waitLog(t, "bea: bea here")
	tia.hears(t, "bea", "bea here")

	select {
	case r := <-tia.rec:
		t.Fatalf("unexpected event %+v", r)
	default:
	}

	// Every line carries its time; a member that goes is announced.
	if v := ann.eval(t, `[...document.querySelectorAll("#log li")].every(li => /^\d\d:\d\d:\d\d /.test(li.innerText))`); v != true {
		t.Errorf("a log line without its time: %v", ann.eval(t, `document.getElementById("log").innerText`))
	}
	if err := tia.sock.Client().Close(); err != nil {
		t.Fatal(err)
	}
	ann.waitLog(t, "tia left dojo (2 here)")
	ann.screenshot(t, "chat.png")
	for _, p := range []*page{ann, bea, zed} {
		p.noBadResponses(t)
	}
	if strings.Contains(zed.eval(t, `document.getElementById("log").innerText`).(string), "joined dojo") {
		t.Errorf("zed, in another room, heard dojo's presence")
	}
}

// TestBrowserReconnects: the page comes back by itself, with backoff, after
// the server restarts on the same address, and says so in its status.
func TestBrowserReconnects(t *testing.T) {
	browser := newBrowser(t) // first: it skips without a browser (go test -short)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	serve := func(l net.Listener) (stop func()) {
		srv := tcpchat.NewServer(tcpchat.Options{})
		builtin.Install(srv.Of("/chat"))
		done := make(chan error, 1)
		go func() { done <- srv.Serve(l) }()
		return func() {
			srv.Close()
			if err := chattest.Recv(t, "Serve to return", done); !errors.Is(err, tcpchat.ErrServerClosed) {
				t.Errorf("Serve returned %v", err)
			}
		}
	}
	stop := serve(l)
	ann := openPage(t, browser, "http://"+addr+"/", "ann", "dojo")
	ann.waitStatus(t, "connected as ann")

	stop()
	// While the server is down its port stays taken, by a listener that
	// closes every connection at once: the page's attempts fail as they
	// would against a closed port, and no other test's listener can be
	// given the port and take the page's connection.
	l2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen again on %s: %v", addr, err)
	}
	t.Cleanup(func() { l2.Close() }) // ends the goroutine below if the test fails before serve(l2)
	refused := make(chan struct{})
	go func() {
		defer close(refused)
		for {
			c, err := l2.Accept()
			if err != nil {
				return // the deadline below
			}
			c.Close()
		}
	}()
	ann.waitLog(t, "connection lost")
	ann.waitStatus(t, "retrying in")
	ann.screenshot(t, "reconnecting.png")
	// A second failed attempt makes the wait longer.
	ann.waitStatus(t, "(attempt 2)")

	tl := l2.(*net.TCPListener)
	if err := tl.SetDeadline(time.Now()); err != nil {
		t.Fatal(err)
	}
	chattest.Recv(t, "the refusing listener to stop", refused)
	if err := tl.SetDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	stop2 := serve(l2)
	defer stop2()
	ann.waitStatus(t, "connected as ann")
	ann.waitLog(t, "reconnected; joined room dojo")
	bob := join(t, addr, "bob", "dojo", tcpchat.ClientOptions{})
	ann.say(t, "back again", 1)
	bob.hears(t, "ann", "back again")
	ann.noBadResponses(t)
}

// TestBrowserNarrow: at 390 px wide (a phone) the page has no horizontal
// scrolling, even with a long word in the log and a long name.
func TestBrowserNarrow(t *testing.T) {
	addr := chatServer(t, tcpchat.Options{})
	browser := newBrowser(t)
	url := "http://" + addr + "/"
	ann := openPage(t, browser, url, "ann", "dojo", chromedp.EmulateViewport(390, 844))
	long := strings.Repeat("supercalifragilistic", 12)
	ann.say(t, long, 0)
	bea := join(t, addr, "bea-with-a-rather-long-name-for-a-phone", "dojo", tcpchat.ClientOptions{})
	bea.say(t, "https://example.com/"+strings.Repeat("a/very/long/path/", 10), 1)
	ann.waitLog(t, "a/very/long/path")
	ann.screenshot(t, "narrow-390.png")
	if v := ann.eval(t, `document.documentElement.scrollWidth <= window.innerWidth && window.innerWidth === 390`); v != true {
		t.Errorf("horizontal scroll at 390 px: scrollWidth %v, innerWidth %v", ann.eval(t, `document.documentElement.scrollWidth`), ann.eval(t, `window.innerWidth`))
	}
	ann.noBadResponses(t)
}
