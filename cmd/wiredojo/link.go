package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/wiredojo/wiredojo/internal/sandbox"
	"github.com/wiredojo/wiredojo/udpcast/link"
)

func init() { register(linkCommand) }

// linkStateDir holds one JSON state file per running link, written by the
// `link up` process that owns the relay (`link down` and `link status` read
// it).
var linkStateDir = "/run/wiredojo"

// linkState is the state file of a running link.
type linkState struct {
	PID        int           `json:"pid"`
	Name       string        `json:"name"`
	NamespaceA string        `json:"namespace_a"`
	NamespaceB string        `json:"namespace_b"`
	AddrA      string        `json:"addr_a"`
	AddrB      string        `json:"addr_b"`
	AtoB       string        `json:"a_to_b"`
	BtoA       string        `json:"b_to_a"`
	Congestion string        `json:"congestion"`
	Offloads   string        `json:"offloads"`
	RealTime   bool          `json:"relay_realtime"`
	Started    time.Time     `json:"started"`
	Updated    time.Time     `json:"updated"`
	CountersAB link.Counters `json:"counters_a_to_b"`
	CountersBA link.Counters `json:"counters_b_to_a"`
}

func linkStatePath(name string) string { return filepath.Join(linkStateDir, "link-"+name+".json") }

func writeLinkState(st linkState) error {
	if err := os.MkdirAll(linkStateDir, 0o755); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(st, "", "  ")
	tmp := linkStatePath(st.Name) + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, linkStatePath(st.Name))
}

func readLinkState(name string) (linkState, bool) {
	var st linkState
	b, err := os.ReadFile(linkStatePath(name))
	if err != nil || json.Unmarshal(b, &st) != nil {
		return st, false
	}
	return st, true
}

func processAlive(pid int) bool {
	return pid > 0 && syscall.Kill(pid, 0) == nil
}

func linkCommand() *cli.Command {
	nameFlag := &cli.StringFlag{Name: "name", Value: link.DefaultName, Usage: "link `NAME`: namespaces NAME-a and NAME-b"}
	return &cli.Command{
		Name:  "link",
		Usage: "an impaired link between two network namespaces for real TCP and UDP (root, or the sandbox)",
		Description: "`link up` creates namespaces <name>-a (10.77.0.1) and <name>-b (10.77.0.2)\n" +
			"joined by TUN devices and relays every packet through wiredojo's impairment\n" +
			"pipeline. It runs in the foreground: Ctrl-C (or `link down` from another\n" +
			"terminal) removes everything. Run programs on each side with `ip netns exec`.\n" +
			"Not as root, it runs inside the wiredojo sandbox (see `wiredojo sandbox`):\n" +
			"run the programs there too, `wiredojo sandbox -- ip netns exec wd-a ...`.",
		Subcommands: []*cli.Command{
			{
				Name:  "up",
				Usage: "create the link and relay through the impairment until Ctrl-C",
				Flags: append([]cli.Flag{
					nameFlag,
					&cli.StringFlag{Name: "direction", Value: "both", Usage: "impair `a-to-b`, b-to-a or both"},
				}, impairFlags("rate")...),
				Action: linkUp,
			},
			{
				Name:   "down",
				Usage:  "stop the relay and remove the namespaces",
				Flags:  []cli.Flag{nameFlag},
				Action: linkDown,
			},
			{
				Name:   "status",
				Usage:  "show whether the link is up, its settings and counters",
				Flags:  []cli.Flag{nameFlag, &cli.BoolFlag{Name: "json", Usage: "print the state as JSON"}},
				Action: linkStatus,
			},
		},
	}
}

func linkUp(c *cli.Context) error {
	cfg, err := impairConfig(c)
	if err != nil {
		return err
	}
	if handled, err := inSandbox(c, capNetAdmin, "link up"); handled { // sandbox.go
		return err
	}
	lc := link.Config{Name: c.String("name")}
	back := cfg
	back.Seed = cfg.Seed + 1 // independent decisions in each direction
	switch c.String("direction") {
	case "both":
		lc.AtoB, lc.BtoA = cfg, back
	case "a-to-b", "ab":
		lc.AtoB = cfg
	case "b-to-a", "ba":
		lc.BtoA = back
	default:
		return usagef("--direction %q: choose a-to-b, b-to-a or both", c.String("direction"))
	}
	l, err := link.Up(c.Context, lc)
	if err != nil {
		if errors.Is(err, link.ErrName) {
			return usagef("%v", err)
		}
		return err
	}
	defer l.Close()
	info := l.Info()
	st := linkState{
		PID: os.Getpid(), Name: info.Name, NamespaceA: info.NamespaceA, NamespaceB: info.NamespaceB,
		AddrA: info.AddrA.String(), AddrB: info.AddrB.String(), AtoB: info.AtoB, BtoA: info.BtoA,
		Congestion: info.Congestion, Offloads: info.Offloads, RealTime: info.RealTime, Started: time.Now().UTC(),
	}
	st.Updated = st.Started
	if err := writeLinkState(st); err != nil {
		fmt.Fprintf(c.App.ErrWriter, "wiredojo: cannot write %s (link down from another terminal will not find the relay): %v\n", linkStatePath(info.Name), err)
	}
	defer os.Remove(linkStatePath(info.Name))
	w := c.App.Writer
	printLinkInfo(w, st, info.CongestionNote)
	px := sandboxPrefix()
	fmt.Fprintf(w, "\nRun a program on each side, for example:\n")
	fmt.Fprintf(w, "  %sip netns exec %s iperf3 -s\n", px, info.NamespaceB)
	fmt.Fprintf(w, "  %sip netns exec %s iperf3 -c %s -C cubic          # TCP\n", px, info.NamespaceA, info.AddrB)
	fmt.Fprintf(w, "  %sip netns exec %s iperf3 -c %s -u -b 10M         # UDP\n", px, info.NamespaceA, info.AddrB)
	fmt.Fprintf(w, "  %sip netns exec %s wiredojo udp recv --addr %s:9999\n", px, info.NamespaceB, info.AddrB)
	fmt.Fprintf(w, "  %sip netns exec %s wiredojo udp send --to %s:9999 --count 10000 --rate 2000\n", px, info.NamespaceA, info.AddrB)
	fmt.Fprintf(w, "\n%s\n", styleDim.Sprint("Relaying. Ctrl-C here (or `wiredojo link down --name "+info.Name+"`) removes everything."))
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-c.Context.Done():
			ab, ba := l.Counters()
			fmt.Fprintf(w, "\nlink %s going down\n", info.Name)
			printLinkCounters(w, ab, ba)
			return l.Close()
		case <-tick.C:
			st.CountersAB, st.CountersBA = l.Counters()
			st.Updated = time.Now().UTC()
			_ = writeLinkState(st)
		}
	}
}

func printLinkInfo(w io.Writer, st linkState, note string) {
	fmt.Fprintf(w, "%s link %s: %s (%s) <-> %s (%s)\n", styleOK.Sprint("●"), styleName.Sprint(st.Name),
		styleName.Sprint(st.NamespaceA), st.AddrA, styleName.Sprint(st.NamespaceB), st.AddrB)
	fmt.Fprintf(w, "  a -> b: %s\n", st.AtoB)
	fmt.Fprintf(w, "  b -> a: %s\n", st.BtoA)
	cc := st.Congestion
	if note != "" {
		cc += styleWarn.Sprint(" — " + note)
	}
	fmt.Fprintf(w, "  TCP congestion control (namespace default): %s\n", cc)
	fmt.Fprintf(w, "  offloads: %s\n", st.Offloads)
	if st.RealTime {
		fmt.Fprintf(w, "  relay: real-time priority (SCHED_FIFO), so the delays stay accurate on a busy machine\n")
	} else {
		fmt.Fprintf(w, "  relay: normal priority (SCHED_FIFO refused); delays may stretch on a busy machine\n")
	}
}

func printLinkCounters(w io.Writer, ab, ba link.Counters) {
	row := func(name string, c link.Counters) {
		s := c.Impair
		fmt.Fprintf(w, "  %-6s in %d, lost %d, duplicated %d, reordered %d, delayed %d, rate-delayed %d, queue-dropped %d, out %d",
			name, s.In, s.Lost, s.Duplicated, s.Reordered, s.Delayed, s.RateDelayed, s.QueueDropped, s.Out)
		if c.ReadErrors+c.WriteErrors > 0 {
			fmt.Fprintf(w, ", relay errors %d/%d", c.ReadErrors, c.WriteErrors)
		}
		fmt.Fprintln(w)
	}
	row("a -> b", ab)
	row("b -> a", ba)
}

// relayPID names the relay's process. In the persistent sandbox its pid is
// one of the sandbox's PID namespace, which means another process (or
// none) outside it: say so.
func relayPID(pid int) string {
	if sandbox.InsidePersistent() {
		return fmt.Sprintf("pid %d in the sandbox", pid)
	}
	return fmt.Sprintf("pid %d", pid)
}

func linkDown(c *cli.Context) error {
	if handled, err := inRunningSandbox(c, capNetAdmin); handled { // sandbox.go
		return err
	}
	name := c.String("name")
	w := c.App.Writer
	if st, ok := readLinkState(name); ok && processAlive(st.PID) && st.PID != os.Getpid() {
		if err := syscall.Kill(st.PID, syscall.SIGTERM); err != nil {
			return fmt.Errorf("link: stop relay (pid %d): %w", st.PID, err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) && (processAlive(st.PID) || link.Exists(name)) {
			time.Sleep(50 * time.Millisecond)
		}
		if !link.Exists(name) {
			fmt.Fprintf(w, "%s link %s is down (relay %s stopped)\n", styleOK.Sprint("✓"), name, relayPID(st.PID))
			return nil
		}
	}
	os.Remove(linkStatePath(name))
	if err := link.Remove(name); err != nil {
		if errors.Is(err, link.ErrName) {
			return usagef("%v", err)
		}
		if errors.Is(err, link.ErrNotUp) {
			return fmt.Errorf("link: no link named %q is up (see `wiredojo link status`)", name)
		}
		return err
	}
	fmt.Fprintf(w, "%s link %s is down (namespaces removed)\n", styleOK.Sprint("✓"), name)
	return nil
}

func linkStatus(c *cli.Context) error {
	if handled, err := inRunningSandbox(c, capNetAdmin); handled { // sandbox.go
		return err
	}
	name := c.String("name")
	w := c.App.Writer
	st, ok := readLinkState(name)
	running := ok && processAlive(st.PID)
	exists := link.Exists(name)
	if c.Bool("json") {
		out := struct {
			Up      bool       `json:"up"`
			Relay   bool       `json:"relay_running"`
			Name    string     `json:"name"`
			State   *linkState `json:"state,omitempty"`
			Message string     `json:"message,omitempty"`
		}{Up: exists && running, Relay: running, Name: name}
		if ok {
			out.State = &st
		}
		if exists && !running {
			out.Message = "namespaces exist but no relay runs; run `wiredojo link down`"
		}
		return json.NewEncoder(w).Encode(out)
	}
	switch {
	case exists && running:
		printLinkInfo(w, st, "")
		fmt.Fprintf(w, "  relay: %s, up since %s, counters as of %s\n", relayPID(st.PID), st.Started.Format(time.RFC3339), st.Updated.Format(time.TimeOnly))
		printLinkCounters(w, st.CountersAB, st.CountersBA)
	case exists:
		a, b := link.Names(name)
		fmt.Fprintf(w, "%s namespaces %s and %s exist but no relay runs: packets do not cross. Run `wiredojo link down --name %s`.\n", styleWarn.Sprint("!"), a, b, name)
	default:
		fmt.Fprintf(w, "link %s is down (start it with `wiredojo link up --name %s`)\n", name, name)
	}
	return nil
}
