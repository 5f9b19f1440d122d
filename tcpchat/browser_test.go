package tcpchat_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/wiredojo/wiredojo/internal/testdep"
	"github.com/wiredojo/wiredojo/tcpchat"
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
}

func openPage(t *testing.T, browser context.Context, url, name, room string) *page {
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
	p.run(t, "open the page and join",
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.CSS(`#join`)),
		chromedp.SetValue(chromedp.CSS(`#name`), name),
		chromedp.SetValue(chromedp.CSS(`#room`), room),
		chromedp.Click(chromedp.CSS(`#join`)),
	)
	p.waitLog(t, "joined room "+room)
	return p
}

// run runs actions in the tab, failing with the page's console on error.
func (p *page) run(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(p.ctx, actions...); err != nil {
		p.mu.Lock()
		defer p.mu.Unlock()
		t.Fatalf("%s: %s: %v\npage console: %q", p.name, what, err, p.logs)
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
	p.waitLog(t, text+"✓ delivered to "+strconv.Itoa(delivered))
}

// TestBrowserChat: two headless Chromium pages and one framed-TCP Go client
// chat in one room through the page served at GET /.
func TestBrowserChat(t *testing.T) {
	addr := chatServer(t, tcpchat.Options{})
	browser := newBrowser(t)
	url := "http://" + addr + "/"

	ann := openPage(t, browser, url, "ann", "dojo")
	bea := openPage(t, browser, url, "bea", "dojo")
	tia := join(t, addr, "tia", "dojo", tcpchat.ClientOptions{})
	openPage(t, browser, url, "zed", "elsewhere") // another room hears nothing

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
}
