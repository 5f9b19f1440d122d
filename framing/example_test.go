package framing_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/wiredojo/wiredojo/framing"
)

// A Writer puts a 4-byte big-endian length before every payload; a Reader
// gives the payloads back, one per frame, however the bytes were split on
// the way.
func Example() {
	var wire bytes.Buffer
	w := framing.NewWriter(&wire)
	for _, msg := range []string{"one", "two", "three"} {
		if err := w.WriteFrame([]byte(msg)); err != nil {
			fmt.Println(err)
			return
		}
	}
	fmt.Printf("% x\n", wire.Bytes()[:7])

	r := framing.NewReader(&wire, framing.DefaultMaxFrame)
	for {
		p, err := r.ReadFrame()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%q\n", p)
	}
	// Output:
	// 00 00 00 03 6f 6e 65
	// "one"
	// "two"
	// "three"
}

// The limit is checked against the length prefix before anything is
// allocated: a peer that announces 4 GiB gets an error, not an allocation.
func ExampleReader_ReadFrame_tooLarge() {
	r := framing.NewReader(bytes.NewReader([]byte{0xff, 0xff, 0xff, 0xff}), 1024)
	_, err := r.ReadFrame()
	fmt.Println(errors.Is(err, framing.ErrFrameTooLarge))
	// Output:
	// true
}

// Split decodes frames from bytes already in memory (a captured stream)
// without a Reader.
func ExampleSplit() {
	b := framing.AppendFrame(nil, []byte("hi"))
	b = framing.AppendFrame(b, []byte("there"))
	for len(b) > 0 {
		p, rest, ok, err := framing.Split(b, framing.DefaultMaxFrame)
		if err != nil || !ok {
			fmt.Println("incomplete:", err)
			return
		}
		fmt.Println(string(p))
		b = rest
	}
	// Output:
	// hi
	// there
}
