package labs

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// readEvidence reads a file from the lab's folder, explaining what to do
// when it is missing.
func readEvidence(env *Env, name, how string) ([]byte, error) {
	b, err := os.ReadFile(env.Path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s is missing from %s: %s", name, env.Dir, how)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", env.Path(name), err)
	}
	return b, nil
}

// jsonLines decodes every JSON object line of b into maps; other lines
// (progress text) are ignored.
func jsonLines(b []byte) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		var m map[string]any
		if json.Unmarshal(line, &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// lastJSONObject returns the last JSON object in b, whether it spans one
// line or several (indented output).
func lastJSONObject(b []byte) (map[string]any, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	var last map[string]any
	found := false
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			break
		}
		last, found = m, true
	}
	if !found {
		// Fall back to line by line, skipping non-JSON lines.
		if ls := jsonLines(b); len(ls) > 0 {
			return ls[len(ls)-1], true
		}
	}
	return last, found
}

// number reads a JSON number field (0, false when absent or not a number).
func number(m map[string]any, key string) (float64, bool) {
	v, ok := m[key].(float64)
	return v, ok
}

// jsonEqual compares two decoded JSON values.
func jsonEqual(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}

// readAnswers reads the learner's answers: lines "name: value" (names
// compared in lower case). A value still reading <...> is left out, so the
// check can say that placeholder was not replaced.
func readAnswers(env *Env, name, how string) (map[string]string, error) {
	b, err := readEvidence(env, name, how)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		if placeholderRE().MatchString(v) {
			continue
		}
		out[strings.ToLower(strings.TrimSpace(k))] = v
	}
	return out, nil
}

// answerItem compares one answer with the value the evidence shows; want
// is what is right (several when the evidence allows more than one).
func answerItem(res *Result, answers map[string]string, key, what string, want []string, wrong string) {
	got, ok := answers[key]
	if !ok {
		res.Add(what, false, fmt.Sprintf("no answer %q: write the line `%s: VALUE` (replace the <...> of the lab's text with what you found)", key, key))
		return
	}
	for _, w := range want {
		if strings.EqualFold(strings.TrimSpace(got), w) {
			res.Add(what, true, "")
			return
		}
	}
	res.Add(what, false, fmt.Sprintf("%s: %q is not what your evidence shows; %s", key, got, wrong))
}
