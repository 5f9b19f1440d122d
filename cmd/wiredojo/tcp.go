package main

// `wiredojo tcp send|recv`: raw TCP writes and reads, one line per system
// call, so the byte stream is visible without nc or any other tool.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
)

func init() { register(tcpCommand) }

// writesFlag collects every --data as one write call; unlike a string
// slice flag it never splits a value at commas.
type writesFlag []string

// aliasCopy is what Serialize gives urfave/cli to copy the flag's value
// onto its other name (--data onto -d, or back): it calls Set with it on
// the same writesFlag after parsing, which must add no write (without
// Serialize it would pass String(), "", and add an empty one). A
// command-line argument cannot hold a NUL byte, so no --data is this.
const aliasCopy = "\x00wiredojo: alias copy"

func (w *writesFlag) Serialize() string { return aliasCopy }

func (w *writesFlag) Set(v string) error {
	if v == aliasCopy {
		return nil
	}
	b, err := unescape(v)
	if err != nil {
		return err
	}
	*w = append(*w, b)
	return nil
}

func (w *writesFlag) String() string { return "" }

// unescape reads the escapes a learner types in a shell argument: \n, \t,
// \\, \xHH and the other escapes of a Go string literal.
func unescape(s string) (string, error) {
	u, err := strconv.Unquote(`"` + strings.ReplaceAll(s, `"`, `\"`) + `"`)
	if err != nil {
		return "", fmt.Errorf("%q: a bad escape (use \\n, \\t, \\\\ or \\xHH)", s)
	}
	return u, nil
}

func tcpCommand() *cli.Command {
	return &cli.Command{
		Name:  "tcp",
		Usage: "raw TCP: send bytes in separate writes, receive and print every read",
		Description: "TCP carries a stream of bytes, not messages: what one side writes in several calls may be\n" +
			"read in one, and one write may be read in several. These two commands show it, one line per\n" +
			"system call (see the EXAMPLES: two terminals).",
		Subcommands: []*cli.Command{
			{
				Name:  "send",
				Usage: "connect, write each --data in its own write call, then close",
				Description: "Each --data is one write(2) on the socket, in order; escapes such as \\n, \\t and \\x00\n" +
					"are read, so a length prefix is --data '\\x00\\x00\\x00\\x03one'. (--write is capture's: a FILE.)",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "to", Required: true, Usage: "connect to `HOST:PORT`"},
					&cli.GenericFlag{Name: "data", Aliases: []string{"d"}, Value: &writesFlag{}, Usage: "send `BYTES` in one write call (repeat for several; escapes \\n \\t \\xHH)"},
					&cli.DurationFlag{Name: "gap", Usage: "wait `D` between writes (0: write back to back)"},
					&cli.BoolFlag{Name: "nagle", Usage: "leave Nagle's algorithm on (Go turns it off: TCP_NODELAY), so small writes wait to be coalesced"},
					&cli.DurationFlag{Name: "timeout", Value: 10 * time.Second, Usage: "give up on the connect, or on a write the peer does not take (it stopped reading), after `D`"},
				},
				Action: tcpSend,
			},
			{
				Name:  "recv",
				Usage: "accept connections and print every read: its size and its bytes",
				Description: "Prints one line per read(2) with at most --read-size bytes, and when the peer closes, the\n" +
					"connection's total. --read-delay waits before each read, as a busy program would, so bytes\n" +
					"written in several calls pile up and come out in one read. Runs until Ctrl-C or --conns.",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "addr", Value: "127.0.0.1:7000", Usage: "listen on `HOST:PORT`"},
					&cli.IntFlag{Name: "read-size", Value: 64 << 10, Usage: "read at most `N` bytes per read call"},
					&cli.DurationFlag{Name: "read-delay", Usage: "wait `D` before each read"},
					&cli.IntFlag{Name: "conns", Usage: "exit after `N` connections have closed (0: run until Ctrl-C)"},
				},
				Action: tcpRecv,
			},
		},
	}
}

func tcpSend(c *cli.Context) error {
	if c.Args().Len() > 0 {
		return usagef("tcp send takes no arguments, got %q (give the bytes with --data)", c.Args().First())
	}
	writes := *c.Generic("data").(*writesFlag)
	if len(writes) == 0 {
		return usagef("tcp send needs at least one --data")
	}
	if c.Duration("gap") < 0 {
		return usagef("--gap %v: give a duration of 0 or more", c.Duration("gap"))
	}
	timeout := c.Duration("timeout")
	if timeout <= 0 {
		return usagef("--timeout %v: give a positive duration", timeout)
	}
	ctx, cancel := context.WithTimeout(c.Context, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", c.String("to"))
	if err != nil {
		return fmt.Errorf("tcp send: %w", err)
	}
	defer conn.Close()
	if c.Bool("nagle") {
		if err := conn.(*net.TCPConn).SetNoDelay(false); err != nil {
			return fmt.Errorf("tcp send: %w", err)
		}
	}
	w := c.App.Writer
	fmt.Fprintf(w, "connected %s -> %s\n", conn.LocalAddr(), conn.RemoteAddr())
	for i, b := range writes {
		if i > 0 && c.Duration("gap") > 0 {
			select {
			case <-time.After(c.Duration("gap")):
			case <-c.Context.Done():
				return nil
			}
		}
		_ = conn.SetWriteDeadline(time.Now().Add(timeout))
		n, err := conn.Write([]byte(b))
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return fmt.Errorf("tcp send: write %d: the peer took %d of %d bytes in %v: it does not read, or reads slowly (raise --timeout to wait longer)", i+1, n, len(b), timeout)
		}
		if err != nil {
			return fmt.Errorf("tcp send: write %d: %w", i+1, err)
		}
		fmt.Fprintf(w, "write %d: %d bytes %q\n", i+1, n, b)
	}
	if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
		return fmt.Errorf("tcp send: %w", err)
	}
	// Wait for the peer to close too, so every byte was read before we go.
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.Copy(io.Discard, conn)
	fmt.Fprintf(w, "closed after %d writes\n", len(writes))
	return nil
}

func tcpRecv(c *cli.Context) error {
	if c.Args().Len() > 0 {
		return usagef("tcp recv takes no arguments, got %q", c.Args().First())
	}
	size, delay, conns := c.Int("read-size"), c.Duration("read-delay"), c.Int("conns")
	if size < 1 {
		return usagef("--read-size %d: read at least 1 byte", size)
	}
	if delay < 0 || conns < 0 {
		return usagef("--read-delay and --conns cannot be negative")
	}
	ln, err := net.Listen("tcp", c.String("addr"))
	if err != nil {
		return fmt.Errorf("tcp recv: %w", err)
	}
	stop := context.AfterFunc(c.Context, func() { ln.Close() })
	defer stop()
	defer ln.Close()
	w := &lockedWriter{w: c.App.Writer}
	fmt.Fprintf(c.App.ErrWriter, "tcp: listening on %s; every read is printed; Ctrl-C to stop\n", ln.Addr())
	buf := make([]byte, size)
	// One connection at a time: reads of different peers never interleave.
	for n := 1; conns == 0 || n <= conns; n++ {
		conn, err := ln.Accept()
		if err != nil {
			if c.Context.Err() != nil {
				return nil
			}
			return fmt.Errorf("tcp recv: %w", err)
		}
		if err := tcpRecvConn(c.Context, w, n, conn, buf, delay); err != nil {
			return err
		}
	}
	return nil
}

// tcpRecvConn prints the reads of one connection until the peer closes it.
func tcpRecvConn(ctx context.Context, w io.Writer, n int, conn net.Conn, buf []byte, delay time.Duration) error {
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	fmt.Fprintf(w, "conn %d from %s\n", n, conn.RemoteAddr())
	reads, total := 0, 0
	for {
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-ctx.Done():
				return nil
			}
		}
		m, err := conn.Read(buf)
		if m > 0 {
			reads++
			total += m
			fmt.Fprintf(w, "conn %d read %d: %d bytes %q\n", n, reads, m, buf[:m])
		}
		if errors.Is(err, io.EOF) {
			fmt.Fprintf(w, "conn %d closed: %d bytes in %d reads\n", n, total, reads)
			return nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			fmt.Fprintf(w, "conn %d: %v\n", n, err)
			return nil
		}
	}
}
