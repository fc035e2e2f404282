package ws

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/imload/imload/driver"
	"github.com/imload/imload/protocol"
)

// FuzzDispatch feeds arbitrary server frames to a Conn's frame handler: it
// must never panic or block, must hand a waiting call only its own answer
// (or a connection-level error), and must turn only kicked_offline and
// user_sig_expired into pushes.
func FuzzDispatch(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("testdata", "frames", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c := newConn(nil, Config{}.withDefaults(), driver.Device{}, protocol.Frame{})
		close(c.closing) // pushes beyond the buffer are dropped, never block
		ch := make(chan protocol.Frame, 1)
		c.pending[7] = ch
		at := time.Unix(1700000000, 0)
		c.dispatch(b, at)
		select {
		case got := <-ch:
			if got.ID != 7 && !(got.Op == protocol.OpError && got.ID == 0) {
				t.Fatalf("call 7 was handed %+v", got)
			}
		default:
		}
		for len(c.pushes) > 0 {
			p := <-c.pushes
			if p.Kind != driver.PushKicked && p.Kind != driver.PushSigExpired {
				t.Fatalf("frame %q became push %+v", b, p)
			}
			if !p.At.Equal(at) {
				t.Fatalf("push stamped %v, want the receive time %v", p.At, at)
			}
		}
	})
}
