package pipeline_test

import (
	"context"
	"fmt"

	"github.com/wiredojo/wiredojo/capture"
	"github.com/wiredojo/wiredojo/capture/pipeline"
	"github.com/wiredojo/wiredojo/capture/source"
)

// Read the first 20 packets of a capture of the framed chat and print the
// chat packets decoded inside the reassembled TCP stream, each with its
// place on the OSI model.
func ExampleRun() {
	src, err := source.OpenFile("../../testdata/captures/chat-tcp.pcap")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer src.Close()
	shown := 0
	_, err = pipeline.Run(context.Background(), src, pipeline.Options{
		Count: 20,
		Handle: func(p *capture.Packet) error {
			for _, l := range p.Layers {
				if l.Proto == capture.ProtoEvent && shown < 3 {
					shown++
					fmt.Printf("#%d OSI %d %s %s\n", p.No, capture.Place(l.Proto).OSI, l.Proto, l.Kind)
				}
			}
			return nil
		},
	})
	if err != nil {
		fmt.Println(err)
	}
	// Output:
	// #4 OSI 7 wiredojo-event handshake
	// #6 OSI 7 wiredojo-event welcome
	// #8 OSI 7 wiredojo-event connect
}
