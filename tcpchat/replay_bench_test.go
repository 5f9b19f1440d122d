package tcpchat_test

import (
	"encoding/json"
	"testing"

	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/store"
)

// BenchmarkRecordBroadcast: a broadcast to an empty room on a server with a
// memory recovery store, so an op is what recording one broadcast in the
// replay log costs (plus the adapter's empty lookup). Steady state: the
// log is at its entry bound, each append trims one entry and reuses its
// buffer; allocs/op must be 0.
func BenchmarkRecordBroadcast(b *testing.B) {
	rec := store.NewMemory(store.Options{Limits: store.Limits{ReplayMax: 1000}})
	defer rec.Close()
	srv := tcpchat.NewServer(tcpchat.Options{RecoveryStore: rec})
	defer srv.Close()
	op := srv.Of("/chat").To("r")
	args := json.RawMessage(`["` + string(make([]byte, 100)) + `"]`)
	for i := range args[2 : len(args)-2] {
		args[2+i] = 'x'
	}
	for range 2000 { // fill the log: steady state
		op.EmitRaw("tick", args)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		op.EmitRaw("tick", args)
	}
}
