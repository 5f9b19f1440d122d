package natsbench

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv(spinEnv) != "" {
		spin() // the child of TestTreeCPUKeepsEndedChildren
		os.Exit(0)
	}
	if spec := os.Getenv(IdleClientsEnv); spec != "" {
		os.Exit(IdleClientsMain(spec, os.Stdin, os.Stdout, os.Stderr))
	}
	goleak.VerifyTestMain(m)
}
