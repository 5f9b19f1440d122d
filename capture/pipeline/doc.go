// Package pipeline owns the capture loop: read packets from a source, keep
// those a filter matches, save them (--write), decode them and hand each to
// the caller, until the source ends, a count is reached or the context is
// cancelled. It ties capture/source, capture/decode and a filter together;
// it does not print (capture/render) or analyse (capture/analysis).
//
//	n, err := pipeline.Run(ctx, src, pipeline.Options{
//		Handle: func(p *capture.Packet) error { ...; return nil },
//	})
package pipeline
