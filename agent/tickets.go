package agent

import (
	"fmt"
	"time"

	"github.com/imload/imload/usersig"
)

// Tickets makes the UserSig a device logs in with, as an app's own server
// would. A device asks for a new one at its first login as a user and
// whenever its ticket has expired.
type Tickets interface {
	Ticket(userID string, now time.Time) (string, error)
}

// SigTickets makes TLSSigAPIv2 tickets with usersig.Gen.
type SigTickets struct {
	SDKAppID uint64
	Key      []byte
	// Lifetime of each ticket (the scenario's ticket_lifetime; default 24h).
	Lifetime time.Duration
}

// DefaultTicketLifetime is the lifetime the documentation advises at least.
const DefaultTicketLifetime = 24 * time.Hour

// Ticket implements Tickets.
func (s *SigTickets) Ticket(userID string, now time.Time) (string, error) {
	life := s.Lifetime
	if life <= 0 {
		life = DefaultTicketLifetime
	}
	t, err := usersig.Gen(s.SDKAppID, s.Key, userID, life, now, nil)
	if err != nil {
		return "", fmt.Errorf("agent: ticket for %q: %w", userID, err)
	}
	return t, nil
}
