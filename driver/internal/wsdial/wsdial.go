// Package wsdial opens the WebSocket that the ws and xmpp drivers both start
// from: the upgrade within the caller's handshake deadline, the subprotocol
// the server must select, and errors that name the driver and the URL. It
// imports only driver of ours.
package wsdial

import (
	"context"
	"errors"
	"fmt"

	"github.com/gorilla/websocket"

	"github.com/imload/imload/driver"
)

// Dial upgrades a connection to url with dialer and checks that the server
// selected subprotocol. ctx bounds the whole handshake; when it ends the
// error wraps driver.ErrTimeout (deadline) or the context's error. Errors
// read "NAME: connect to URL: ...".
func Dial(ctx context.Context, dialer *websocket.Dialer, name, url, subprotocol string) (*websocket.Conn, error) {
	wsc, resp, err := dialer.DialContext(ctx, url, nil)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s: connect to %s: %w", name, url, CtxReason(ctx.Err()))
		}
		if errors.Is(err, websocket.ErrBadHandshake) && resp != nil {
			return nil, fmt.Errorf("%s: connect to %s: upgrade refused with HTTP %d: %w", name, url, resp.StatusCode, err)
		}
		return nil, fmt.Errorf("%s: connect to %s: %w", name, url, err)
	}
	if got := wsc.Subprotocol(); got != subprotocol {
		wsc.Close()
		return nil, fmt.Errorf("%s: connect to %s: server selected subprotocol %q, want %q", name, url, got, subprotocol)
	}
	return wsc, nil
}

// CtxReason turns a context's end into the driver's error: a deadline is a
// driver.ErrTimeout, a cancellation stays what it is.
func CtxReason(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w (%w)", driver.ErrTimeout, err)
	}
	return err
}
