package render

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// documentedSchema reads the "Capture JSON" section of docs/ARCHITECTURE.md:
// the packet keys named in its prose and, from its table, the keys of each
// proto.
func documentedSchema(t *testing.T) (packetKeys map[string]bool, layerKeys map[string]map[string]bool) {
	t.Helper()
	doc, err := os.ReadFile("../../docs/ARCHITECTURE.md")
	if err != nil {
		t.Fatal(err)
	}
	sec := string(doc)
	start := strings.Index(sec, "## Capture JSON")
	if start < 0 {
		t.Fatal(`docs/ARCHITECTURE.md has no "## Capture JSON" section`)
	}
	sec = sec[start+3:]
	if end := strings.Index(sec, "\n## "); end >= 0 {
		sec = sec[:end]
	}
	tick := regexp.MustCompile("`([^`]+)`")
	names := func(s string) []string {
		var out []string
		for _, m := range tick.FindAllStringSubmatch(s, -1) {
			out = append(out, m[1])
		}
		return out
	}
	packetKeys = map[string]bool{}
	if i := strings.Index(sec, "Packet keys:"); i >= 0 {
		para := sec[i:]
		para = para[:strings.Index(para, "\n\n")]
		for _, k := range names(para) {
			packetKeys[k] = true
		}
	}
	layerKeys = map[string]map[string]bool{}
	common := map[string]bool{"osi": true, "tcpip": true, "proto": true, "disputed": true}
	for _, line := range strings.Split(sec, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) != 4 || strings.HasPrefix(strings.TrimSpace(cells[1]), "---") {
			continue
		}
		keys := map[string]bool{}
		for k := range common {
			keys[k] = true
		}
		for _, k := range names(cells[2]) {
			keys[k] = true
		}
		for _, p := range names(cells[1]) {
			layerKeys[p] = keys
		}
	}
	if len(packetKeys) == 0 || len(layerKeys) == 0 {
		t.Fatal("could not read the packet keys or the proto table of docs/ARCHITECTURE.md's Capture JSON section")
	}
	return packetKeys, layerKeys
}

// TestSchemaDocumented: every key the capture JSON writes, on every packet
// of every committed capture, is listed in docs/ARCHITECTURE.md for its
// proto, so the document that other tools read stays true.
func TestSchemaDocumented(t *testing.T) {
	packetKeys, layerKeys := documentedSchema(t)
	files, _ := filepath.Glob("../../testdata/captures/*.pcap*")
	if len(files) == 0 {
		t.Fatal("no captures in testdata/captures")
	}
	missing := map[string]bool{}
	for _, f := range files {
		for _, p := range packets(t, filepath.Base(f)) {
			var v map[string]json.RawMessage
			line := AppendJSON(nil, p)
			if err := json.Unmarshal(line, &v); err != nil {
				t.Fatalf("%s #%d: %v", f, p.No, err)
			}
			for k := range v {
				if !packetKeys[k] {
					missing["packet key "+k] = true
				}
			}
			var layers []map[string]json.RawMessage
			if err := json.Unmarshal(v["layers"], &layers); err != nil {
				t.Fatalf("%s #%d: %v", f, p.No, err)
			}
			for _, l := range layers {
				var proto string
				_ = json.Unmarshal(l["proto"], &proto)
				keys, ok := layerKeys[proto]
				if !ok {
					missing["proto "+proto] = true
					continue
				}
				for k := range l {
					if !keys[k] {
						missing[proto+" key "+k] = true
					}
				}
			}
		}
	}
	var list []string
	for m := range missing {
		list = append(list, m)
	}
	sort.Strings(list)
	for _, m := range list {
		t.Errorf("the capture JSON writes %s, which docs/ARCHITECTURE.md (Capture JSON) does not list: document it there", m)
	}
}
