package labs

import (
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// A lab's text is the single source of its steps: every ```sh block is a
// step, run as written (after LABDIR is replaced by the lab's folder and
// each <PLACEHOLDER> by what the learner found). Blocks of any other kind
// (```text) are output to read, never run. The first line of a block says
// where it runs, as a comment a reader understands and the tests follow:
//
//	# terminal 2: leave it running; go on when it prints "listening on"
//	# terminal 2: once it has printed "news", press Ctrl-C
//	# terminal 2: press Ctrl-C
//	# terminals 1, 2 and 3: press Ctrl-C in each
//
// A block without such a line runs in the learner's own terminal and ends
// by itself. A line that starts with `sudo ` needs root.

// Step is one ```sh block of a lab's text.
type Step struct {
	Terminal int    // the terminal it runs in; 0: the learner's own, to the end
	Ready    string // Terminal > 0 and not Interrupt: what it prints once ready
	// Interrupt: press Ctrl-C in Terminal, once it has printed Ready (when
	// set).
	Interrupt bool
	Code      string // the commands, placeholders and LABDIR as written
}

// Placeholders returns the <NAMES> in the step's code that the learner
// replaces, in order, each once.
func (s Step) Placeholders() []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range placeholderRE().FindAllString(s.Code, -1) {
		if !seen[m] {
			seen[m] = true
			out = append(out, m)
		}
	}
	return out
}

// Privileged reports whether a line of the step starts with sudo.
func (s Step) Privileged() bool {
	for _, line := range strings.Split(s.Code, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "sudo ") {
			return true
		}
	}
	return false
}

var (
	placeholderRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`<[A-Z][A-Z0-9-]*>`) })
	backgroundRE  = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^# terminal (\d+): leave it running; go on when it prints "([^"]+)"$`)
	})
	interruptRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^# terminal (\d+): (?:once it has printed "([^"]+)", )?press Ctrl-C$`)
	})
	digitsRE     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\d+`) })
	interruptsRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^# terminals ((?:\d+, )*\d+ and \d+): press Ctrl-C in each$`)
	})
)

// Steps returns the ```sh blocks of a text in order. Fences must carry a
// kind (sh or text); BadFences lists those that do not.
func Steps(text string) []Step {
	var steps []Step
	for _, b := range fencedBlocks(text) {
		if b.kind != "sh" {
			continue
		}
		s := Step{Code: b.code}
		first, _, _ := strings.Cut(b.code, "\n")
		first = strings.TrimSpace(first)
		if m := backgroundRE().FindStringSubmatch(first); m != nil {
			s.Terminal, _ = strconv.Atoi(m[1])
			s.Ready = m[2]
		} else if m := interruptRE().FindStringSubmatch(first); m != nil {
			s.Terminal, _ = strconv.Atoi(m[1])
			s.Ready, s.Interrupt = m[2], true
		} else if m := interruptsRE().FindStringSubmatch(first); m != nil {
			for _, f := range digitsRE().FindAllString(m[1], -1) {
				n, _ := strconv.Atoi(f)
				steps = append(steps, Step{Terminal: n, Interrupt: true, Code: b.code})
			}
			continue
		}
		steps = append(steps, s)
	}
	return steps
}

// BadFences returns the first line of every fenced block of text whose
// kind is neither sh nor text, and of every "# terminal" comment that
// does not follow the convention.
func BadFences(text string) []string {
	var bad []string
	for _, b := range fencedBlocks(text) {
		if b.kind != "sh" && b.kind != "text" {
			bad = append(bad, "```"+b.kind+" (want ```sh or ```text)")
			continue
		}
		first, _, _ := strings.Cut(b.code, "\n")
		first = strings.TrimSpace(first)
		if b.kind == "sh" && strings.HasPrefix(first, "# terminal") && !backgroundRE().MatchString(first) && !interruptRE().MatchString(first) && !interruptsRE().MatchString(first) {
			bad = append(bad, first)
		}
	}
	return bad
}

type fenced struct {
	kind string // the word after the opening ```
	code string // the lines inside, without their common indentation
}

func fencedBlocks(text string) []fenced {
	var out []fenced
	var cur *fenced
	var lines []string
	for _, line := range strings.Split(text, "\n") {
		t := strings.TrimSpace(line)
		if !strings.HasPrefix(t, "```") {
			if cur != nil {
				lines = append(lines, line)
			}
			continue
		}
		if cur == nil {
			cur = &fenced{kind: strings.TrimSpace(strings.TrimPrefix(t, "```"))}
			lines = nil
			continue
		}
		cur.code = dedent(lines)
		out = append(out, *cur)
		cur = nil
	}
	return out
}

// dedent removes the indentation common to every non-blank line.
func dedent(lines []string) string {
	common := -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		n := len(l) - len(strings.TrimLeft(l, " \t"))
		if common < 0 || n < common {
			common = n
		}
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		if len(l) >= common && common > 0 {
			l = l[common:]
		}
		out[i] = l
	}
	return strings.TrimRight(strings.Join(out, "\n"), "\n") + "\n"
}
