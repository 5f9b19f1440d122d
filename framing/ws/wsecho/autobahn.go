package wsecho

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/wiredojo/wiredojo/framing/ws"
)

// AutobahnClient drives the Autobahn|Testsuite fuzzingserver at base
// (ws://host:port) with our client: it asks for the number of cases, runs
// each one by echoing every message until the server closes, then asks the
// server to write its reports for agent. Progress lines go to progress.
// `wiredojo ws autobahn` runs it; see docs/CONFORMANCE.md.
func AutobahnClient(ctx context.Context, base, agent string, opts *ws.DialOptions, progress io.Writer) error {
	base = strings.TrimSuffix(base, "/")
	count, err := autobahnCount(ctx, base, opts)
	if err != nil {
		return err
	}
	for i := 1; i <= count; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		u := fmt.Sprintf("%s/runCase?case=%d&agent=%s", base, i, url.QueryEscape(agent))
		c, err := ws.Dial(ctx, u, opts)
		if err != nil {
			fmt.Fprintf(progress, "case %d/%d: dial: %v\n", i, count, err)
			continue
		}
		err = Echo(c)
		var ce *ws.CloseError
		var pe *ws.ProtocolError
		if errors.As(err, &ce) || errors.As(err, &pe) {
			err = nil
		}
		if err != nil {
			fmt.Fprintf(progress, "case %d/%d: %v\n", i, count, err)
		} else if i%50 == 0 || i == count {
			fmt.Fprintf(progress, "case %d/%d done\n", i, count)
		}
	}
	c, err := ws.Dial(ctx, fmt.Sprintf("%s/updateReports?agent=%s", base, url.QueryEscape(agent)), opts)
	if err != nil {
		return fmt.Errorf("wsecho: asking the fuzzingserver for its reports: %w", err)
	}
	c.Close(ws.StatusNormalClosure, "")
	return nil
}

// autobahnCount reads the number of cases from /getCaseCount.
func autobahnCount(ctx context.Context, base string, opts *ws.DialOptions) (int, error) {
	c, err := ws.Dial(ctx, base+"/getCaseCount", opts)
	if err != nil {
		return 0, fmt.Errorf("wsecho: asking the fuzzingserver for its case count: %w", err)
	}
	defer c.CloseNow()
	_, msg, err := c.ReadMessage()
	if err != nil {
		return 0, fmt.Errorf("wsecho: reading the case count: %w", err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(msg)))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("wsecho: the fuzzingserver sent %q as its case count", msg)
	}
	c.Close(ws.StatusNormalClosure, "")
	return n, nil
}
