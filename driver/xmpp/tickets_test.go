package xmpp

import (
	"testing"
	"time"
)

func TestPasswordTickets(t *testing.T) {
	p := PasswordTickets{Secret: []byte("secret")}
	a1, err := p.Ticket("alice", time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := p.Ticket("alice", time.Unix(1e9, 0))
	b, _ := p.Ticket("bob", time.Unix(0, 0))
	other, _ := PasswordTickets{Secret: []byte("other")}.Ticket("alice", time.Unix(0, 0))
	if a1 != a2 {
		t.Errorf("the password changed with time: %q, %q", a1, a2)
	}
	if a1 == b || a1 == other {
		t.Errorf("passwords collide: alice %q, bob %q, alice under another secret %q", a1, b, other)
	}
	if len(a1) != 32 {
		t.Errorf("password %q has %d characters, want 32", a1, len(a1))
	}
	if _, err := (PasswordTickets{}).Ticket("alice", time.Time{}); err == nil {
		t.Error("an empty secret gave a password")
	}
}
