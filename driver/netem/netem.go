// Package netem wraps any driver with the network faults of a storm, on the
// client side: Drop cuts devices' transports without a close frame (each
// device sees its connection end, the target sees the socket go), and
// Partition blackholes devices' traffic for a time, then heals: their calls
// and new connects wait (and time out), pushes to them are held, and
// nothing reaches the target until the partition heals. It knows nothing of
// the target, so it works for every driver.
package netem

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/imload/imload/clock"
	"github.com/imload/imload/driver"
)

// Driver wraps another driver; it is safe for concurrent use.
type Driver struct {
	inner driver.Driver
	clk   clock.Clock

	mu    sync.Mutex
	conns map[string]map[*Conn]struct{} // live connections by instance
	parts map[string]*partition         // instances partitioned now
}

type partition struct {
	healed chan struct{}
}

// Wrap wraps d; clk times partitions (nil: the real clock).
func Wrap(d driver.Driver, clk clock.Clock) *Driver {
	if clk == nil {
		clk = clock.Real{}
	}
	return &Driver{inner: d, clk: clk, conns: map[string]map[*Conn]struct{}{}, parts: map[string]*partition{}}
}

// Inner is the wrapped driver.
func (d *Driver) Inner() driver.Driver { return d.inner }

// Name is the wrapped driver's.
func (d *Driver) Name() string { return d.inner.Name() }

// Close closes the wrapped driver and heals every partition.
func (d *Driver) Close() error {
	d.mu.Lock()
	for inst, p := range d.parts {
		close(p.healed)
		delete(d.parts, inst)
	}
	d.mu.Unlock()
	return d.inner.Close()
}

// partitioned returns the channel closed when instance heals, nil when it
// is not partitioned.
func (d *Driver) partitioned(instance string) <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	if p := d.parts[instance]; p != nil {
		return p.healed
	}
	return nil
}

// blackhole waits while instance is partitioned: nil once it heals, an
// error wrapping driver.ErrTimeout when ctx ends first (the request never
// left), driver.ErrClosed when stop is closed first.
func (d *Driver) blackhole(ctx context.Context, instance, op string, stop <-chan struct{}) error {
	healed := d.partitioned(instance)
	if healed == nil {
		return nil
	}
	select {
	case <-healed:
		return nil
	case <-stop:
		return fmt.Errorf("netem: %s: %w", op, driver.ErrClosed)
	case <-ctx.Done():
		return fmt.Errorf("netem: %s: partitioned: %w (%w)", op, driver.ErrTimeout, ctx.Err())
	}
}

// Connect connects through the wrapped driver once the device's partition,
// if any, has healed.
func (d *Driver) Connect(ctx context.Context, dev driver.Device) (driver.Conn, error) {
	if err := d.blackhole(ctx, dev.Instance, "connect", nil); err != nil {
		return nil, err
	}
	ic, err := d.inner.Connect(ctx, dev)
	if err != nil {
		return nil, err
	}
	c := &Conn{d: d, inner: ic, dev: dev, out: make(chan *driver.Push, 8),
		done: make(chan struct{}), drop: make(chan struct{}), fwdDone: make(chan struct{})}
	d.mu.Lock()
	m := d.conns[dev.Instance]
	if m == nil {
		m = map[*Conn]struct{}{}
		d.conns[dev.Instance] = m
	}
	m[c] = struct{}{}
	d.mu.Unlock()
	go c.forward()
	return c, nil
}

func (d *Driver) forget(c *Conn) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if m := d.conns[c.dev.Instance]; m != nil {
		delete(m, c)
		if len(m) == 0 {
			delete(d.conns, c.dev.Instance)
		}
	}
}

// instances lists the instances with a live connection that pick chooses.
func (d *Driver) instances(pick func(string) bool) map[string][]*Conn {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string][]*Conn{}
	for inst, m := range d.conns {
		if !pick(inst) {
			continue
		}
		for c := range m {
			out[inst] = append(out[inst], c)
		}
	}
	return out
}

// Live lists the instances with a live connection that pick chooses.
func (d *Driver) Live(pick func(instance string) bool) []string {
	var out []string
	for inst := range d.instances(pick) {
		out = append(out, inst)
	}
	return out
}

// Drop cuts the live connections of the instances pick chooses, at once and
// without a close frame, and returns those instances. Each device is told
// that its connection ended (PushClosed, reason "network drop").
func (d *Driver) Drop(pick func(instance string) bool) []string {
	var out []string
	for inst, cs := range d.instances(pick) {
		for _, c := range cs {
			c.cut()
		}
		out = append(out, inst)
	}
	return out
}

// Partition blackholes the instances with a live connection that pick
// chooses, for dur, and returns them. Their connections stay open but carry
// nothing: calls wait and time out, pushes are held, new connects wait;
// when the partition heals what was held goes through.
func (d *Driver) Partition(pick func(instance string) bool, dur time.Duration) []string {
	hit := d.instances(pick)
	p := &partition{healed: make(chan struct{})}
	var out []string
	d.mu.Lock()
	for inst := range hit {
		if old := d.parts[inst]; old != nil {
			close(old.healed) // the newer partition takes over
		}
		d.parts[inst] = p
		out = append(out, inst)
	}
	d.mu.Unlock()
	t := d.clk.NewTimer(dur)
	go func() {
		<-t.C()
		d.mu.Lock()
		defer d.mu.Unlock()
		for _, inst := range out {
			if d.parts[inst] == p {
				delete(d.parts, inst)
			}
		}
		select {
		case <-p.healed:
		default:
			close(p.healed)
		}
	}()
	return out
}

// Conn is a wrapped connection.
type Conn struct {
	d     *Driver
	inner driver.Conn
	dev   driver.Device
	out   chan *driver.Push
	driver.Notify
	done    chan struct{} // closed by Close
	drop    chan struct{} // closed by cut
	fwdDone chan struct{}
	once    sync.Once
	cutOnce sync.Once
	cutDone atomic.Bool
}

// forward passes the wrapped connection's pushes on, holding them while
// the device is partitioned; a cut ends the stream with its own PushClosed.
func (c *Conn) forward() {
	defer close(c.fwdDone)
	defer c.Pushed()
	defer close(c.out)
	in := c.inner.Pushes()
	for {
		select {
		case <-c.drop:
			c.send(&driver.Push{Kind: driver.PushClosed, At: c.d.clk.Now(), Reason: "network drop"})
			return
		case <-c.done:
			return
		case p, ok := <-in:
			if !ok {
				return
			}
			if c.d.blackhole(context.Background(), c.dev.Instance, "push", c.stopped()) != nil {
				return
			}
			if c.cutDone.Load() {
				c.send(&driver.Push{Kind: driver.PushClosed, At: c.d.clk.Now(), Reason: "network drop"})
				return
			}
			c.send(p)
			if p.Kind == driver.PushClosed {
				return
			}
		}
	}
}

// stopped is closed when the device closed or the connection was cut.
func (c *Conn) stopped() <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		select {
		case <-c.done:
		case <-c.drop:
		case <-c.fwdDone:
		}
		close(ch)
	}()
	return ch
}

func (c *Conn) send(p *driver.Push) {
	select {
	case c.out <- p:
		c.Pushed()
	case <-c.done:
	}
}

// cut drops the transport without a close frame.
func (c *Conn) cut() {
	c.cutOnce.Do(func() {
		c.cutDone.Store(true)
		c.closeInner()
		close(c.drop)
	})
}

// closeInner closes the wrapped connection, draining what it still pushes.
func (c *Conn) closeInner() {
	go func() {
		for range c.inner.Pushes() {
		}
	}()
	c.inner.Close()
	c.d.forget(c)
}

func (c *Conn) call(ctx context.Context, op string) error {
	if c.cutDone.Load() {
		return fmt.Errorf("netem: %s: %w", op, driver.ErrClosed)
	}
	return c.d.blackhole(ctx, c.dev.Instance, op, c.done)
}

// Login implements driver.Conn.
func (c *Conn) Login(ctx context.Context, req driver.LoginRequest) (driver.LoginResult, error) {
	if err := c.call(ctx, "login"); err != nil {
		return driver.LoginResult{}, err
	}
	return c.inner.Login(ctx, req)
}

// Logout implements driver.Conn.
func (c *Conn) Logout(ctx context.Context) (int, error) {
	if err := c.call(ctx, "logout"); err != nil {
		return 0, err
	}
	return c.inner.Logout(ctx)
}

// Resume implements driver.Conn.
func (c *Conn) Resume(ctx context.Context, token string) (driver.ResumeResult, error) {
	if err := c.call(ctx, "resume"); err != nil {
		return driver.ResumeResult{}, err
	}
	return c.inner.Resume(ctx, token)
}

// Ping implements driver.Conn.
func (c *Conn) Ping(ctx context.Context) error {
	if err := c.call(ctx, "ping"); err != nil {
		return err
	}
	return c.inner.Ping(ctx)
}

// Pushes implements driver.Conn.
func (c *Conn) Pushes() <-chan *driver.Push { return c.out }

// Close implements driver.Conn: the wrapped connection closes at once.
func (c *Conn) Close() error {
	c.once.Do(func() {
		close(c.done)
		c.cutOnce.Do(func() { c.closeInner() })
	})
	<-c.fwdDone
	return nil
}
