package labs

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// StateDir returns wiredojo's state directory: $XDG_STATE_HOME/wiredojo, or
// ~/.local/state/wiredojo.
func StateDir() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "wiredojo"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("labs: no state directory (set XDG_STATE_HOME): %w", err)
	}
	return filepath.Join(home, ".local", "state", "wiredojo"), nil
}

// LabProgress is what is remembered of one lab.
type LabProgress struct {
	Started time.Time `json:"started,omitzero"`
	Passed  time.Time `json:"passed,omitzero"`
	Checks  int       `json:"checks,omitempty"` // how many times it was checked
	Hints   int       `json:"hints,omitempty"`  // how many hint tiers were shown
}

// Status is a word for `lab list`.
func (p LabProgress) Status() string {
	switch {
	case !p.Passed.IsZero():
		return "passed"
	case !p.Started.IsZero() || p.Checks > 0 || p.Hints > 0:
		return "started"
	default:
		return "new"
	}
}

// Progress is the learner's progress through the labs, kept as JSON in the
// state directory.
type Progress struct {
	path string
	Labs map[int]LabProgress `json:"labs"`
}

// LoadProgress reads the progress file (a missing file is no progress).
func LoadProgress() (*Progress, error) {
	dir, err := StateDir()
	if err != nil {
		return nil, err
	}
	p := &Progress{path: filepath.Join(dir, "progress.json"), Labs: map[int]LabProgress{}}
	b, err := os.ReadFile(p.path)
	if errors.Is(err, fs.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return nil, fmt.Errorf("labs: reading progress: %w", err)
	}
	if err := json.Unmarshal(b, p); err != nil {
		return nil, fmt.Errorf("labs: progress file %s is damaged (delete it to start over): %w", p.path, err)
	}
	if p.Labs == nil {
		p.Labs = map[int]LabProgress{}
	}
	return p, nil
}

// Update changes lab n's record with f and saves the file.
func (p *Progress) Update(n int, f func(*LabProgress)) error {
	lp := p.Labs[n]
	f(&lp)
	p.Labs[n] = lp
	return p.save()
}

// Forget forgets lab n's progress.
func (p *Progress) Forget(n int) error {
	delete(p.Labs, n)
	return p.save()
}

func (p *Progress) save() error {
	if err := os.MkdirAll(filepath.Dir(p.path), 0o755); err != nil {
		return fmt.Errorf("labs: saving progress: %w", err)
	}
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("labs: saving progress: %w", err)
	}
	tmp := p.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("labs: saving progress: %w", err)
	}
	if err := os.Rename(tmp, p.path); err != nil {
		return fmt.Errorf("labs: saving progress: %w", err)
	}
	return nil
}
