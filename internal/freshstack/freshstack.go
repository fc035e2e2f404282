// Package freshstack runs a call on a goroutine of its own and waits for it.
//
// A goroutine that lives as long as a held device (the device's session
// loop, a connection's reader) keeps the largest stack it ever grew until
// the garbage collector halves it, which it does only while the goroutine
// uses under a quarter of it. Deep calls (a dial, a login, decoding a frame)
// grow a stack to 8 KiB or more, and a parked loop then uses too much of
// it to be shrunk. Made through Call, the deep calls grow a short-lived
// goroutine's stack, which goes back to the runtime when it returns, and the
// long-lived goroutine stays at the 2 KiB it started with.
package freshstack

// Call runs fn on a new goroutine and returns when fn has returned. fn's
// effects happen before Call returns, as if it ran inline.
func Call(fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	<-done
}
