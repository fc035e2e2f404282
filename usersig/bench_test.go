package usersig

import (
	"testing"
	"time"
)

// BenchmarkVerify verifies the vectors round-robin, as a login server does
// for every login, and reports verifications per second.
func BenchmarkVerify(b *testing.B) {
	vs := loadVectors(b)
	type input struct {
		ticket   string
		sdkappid uint64
		key      []byte
		user     string
		userbuf  []byte
		now      time.Time
	}
	in := make([]input, len(vs))
	for i, v := range vs {
		in[i] = input{v.UserSig, v.SDKAppID, []byte(v.Key), v.Identifier, v.userBuf(b), time.Unix(v.Time, 0)}
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		c := &in[i%len(in)]
		if _, err := Verify(c.ticket, c.sdkappid, c.key, c.user, c.userbuf, c.now); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "verifications/s")
}

// BenchmarkVerifyParallel verifies on every core at once, as concurrent
// logins do.
func BenchmarkVerifyParallel(b *testing.B) {
	vs := loadVectors(b)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			v := &vs[i%len(vs)]
			i++
			if _, err := Verify(v.UserSig, v.SDKAppID, []byte(v.Key), v.Identifier, nil, time.Unix(v.Time, 0)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "verifications/s")
}

// BenchmarkGen makes tickets as an app server does, and reports tickets per
// second.
func BenchmarkGen(b *testing.B) {
	key := []byte("5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e")
	now := time.Unix(1700000000, 0)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := Gen(1400000000, key, "user_00001", 24*time.Hour, now, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "tickets/s")
}
