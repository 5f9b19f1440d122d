package tcpchat_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if addr := os.Getenv(idleClientsEnv); addr != "" {
		os.Exit(idleClientsMain(addr))
	}
	goleak.VerifyTestMain(m)
}
