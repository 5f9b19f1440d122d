package source

import (
	"errors"
	"fmt"
)

// Sentinel errors, wrapped in a *FileError for files.
var (
	ErrNotCapture      = errors.New("not a pcap or pcapng file (unknown magic number)")
	ErrTruncated       = errors.New("file ends in the middle of a record (truncated capture)")
	ErrRecordTooLarge  = errors.New("record length is absurd (corrupt file)")
	ErrCorrupt         = errors.New("corrupt record")
	ErrUnknownLinkType = errors.New("unsupported link type")
	ErrNoInterface     = errors.New("packet refers to an interface the file never described")
	ErrPermission      = errors.New("live capture needs root or CAP_NET_RAW")
	ErrAnyKernelFilter = errors.New(`a kernel filter cannot run on the "any" interface (cooked packets): filter in user space`)
)

// FileError is an error reading a capture file: the file, the byte offset of
// the record at fault, and what was wrong.
type FileError struct {
	File   string
	Offset int64
	Err    error
}

// Error says which file, at which byte offset, and what was wrong.
func (e *FileError) Error() string {
	return fmt.Sprintf("capture: %s: at byte offset %d: %v", e.File, e.Offset, e.Err)
}

// Unwrap returns the sentinel (ErrTruncated, ErrCorrupt, ...).
func (e *FileError) Unwrap() error { return e.Err }
