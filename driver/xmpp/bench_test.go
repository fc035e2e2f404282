package xmpp

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imload/imload/driver"
	"github.com/imload/imload/policy"
)

// benchLogins dials, logs in and drops a connection per iteration, from
// parallel goroutines, each with its own user, and reports logins/s.
func benchLogins(b *testing.B, url string, pw func(user string) string, cfg Config) {
	cfg.URL = url
	d, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	tag := runTag()
	var worker atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		user := fmt.Sprintf("bench%s_%d", tag, worker.Add(1))
		ctx := context.Background()
		for i := 0; pb.Next(); i++ {
			c, err := d.Dial(ctx, driver.Device{Platform: policy.Android, Instance: fmt.Sprint("d", i%2)})
			if err != nil {
				b.Error(err)
				return
			}
			res, err := c.Login(ctx, driver.LoginRequest{UserID: user, UserSig: pw(user)})
			if err != nil || res.Code != 0 {
				b.Errorf("login: %+v, %v", res, err)
			}
			c.Close()
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "logins/s")
}

// BenchmarkLoginFake measures the driver against the in-test server
// (connect, SCRAM-SHA-1 with the salted password cached, bind, drop).
func BenchmarkLoginFake(b *testing.B) {
	f := newFakeServer(b, func(f *fakeServer) { f.register = true })
	benchLogins(b, f.URL(), func(string) string { return "pw" }, Config{Domain: "localhost", Register: true})
}

// BenchmarkEjabberdLogin measures connect + login (SCRAM-SHA-1, bind) +
// drop against the ejabberd of IMLOAD_EJABBERD_URL.
func BenchmarkEjabberdLogin(b *testing.B) {
	url := os.Getenv("IMLOAD_EJABBERD_URL")
	if url == "" {
		b.Skip("IMLOAD_EJABBERD_URL is not set: start ejabberd with scripts/ejabberd/start")
	}
	tickets := PasswordTickets{Secret: []byte("imload-bench")}
	benchLogins(b, url, func(u string) string { p, _ := tickets.Ticket(u, time.Time{}); return p }, Config{Register: true})
}
