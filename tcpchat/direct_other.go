//go:build !unix

package tcpchat

// directState is empty where writes that do not wait are not available.
type directState struct{}

func (t *framedTransport) CanWriteDirect() bool { return false }

func (t *framedTransport) TryWritePackets([][]byte) (bool, error) { return false, nil }

func (t *framedTransport) flushRest() error { return nil }
