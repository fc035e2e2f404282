package xmpp

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"
)

// PasswordTickets gives each user a password derived from a secret, so that
// a scenario needs only the secret (target.key_env or target.key_file) to
// log in, and to register, any number of users: the password of a user is
// the first 32 hex digits of HMAC-SHA256(Secret, "imload-xmpp:" + UserID).
// It satisfies agent.Tickets.
type PasswordTickets struct {
	Secret []byte
}

// Ticket returns userID's password; now is not used (XMPP passwords do not
// expire).
func (p PasswordTickets) Ticket(userID string, now time.Time) (string, error) {
	if len(p.Secret) == 0 {
		return "", errors.New("xmpp: PasswordTickets.Secret is empty; give the scenario target.key_env or target.key_file")
	}
	m := hmac.New(sha256.New, p.Secret)
	m.Write([]byte("imload-xmpp:"))
	m.Write([]byte(userID))
	return hex.EncodeToString(m.Sum(nil)[:16]), nil
}
