//go:build !unix

package tcpchat

// directState is empty where writes that do not wait are not available.
type directState struct{}

func (t *framedTransport) canWriteDirect() bool { return false }

func (t *framedTransport) tryWritePackets([][]byte) (bool, error) { return false, nil }

func (t *framedTransport) flushRest() error { return nil }
