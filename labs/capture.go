package labs

import (
	"context"
	"fmt"
	"os"

	"github.com/wiredojo/wiredojo/capture"
	"github.com/wiredojo/wiredojo/capture/pipeline"
	"github.com/wiredojo/wiredojo/capture/source"
)

// readCapture decodes a capture file from the lab's folder.
func readCapture(ctx context.Context, env *Env, name, how string) ([]*capture.Packet, error) {
	if _, err := os.Stat(env.Path(name)); err != nil {
		return nil, fmt.Errorf("%s is missing from %s: %s", name, env.Dir, how)
	}
	src, err := source.OpenFile(env.Path(name))
	if err != nil {
		return nil, fmt.Errorf("%s cannot be read: %w", name, err)
	}
	var pkts []*capture.Packet
	_, err = pipeline.Run(ctx, src, pipeline.Options{Handle: func(p *capture.Packet) error {
		pkts = append(pkts, p.Clone())
		return nil
	}})
	if err != nil && len(pkts) == 0 {
		return nil, fmt.Errorf("%s cannot be decoded: %w", name, err)
	}
	return pkts, nil
}
