package xmpp

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
)

// SASL mechanisms the driver implements, in its default order of preference.
const (
	MechSCRAMSHA1   = "SCRAM-SHA-1"
	MechSCRAMSHA256 = "SCRAM-SHA-256"
	MechPlain       = "PLAIN"
)

// DefaultMechanisms is the order in which the driver picks among the
// mechanisms a server offers.
var defaultMechanisms = []string{MechSCRAMSHA1, MechSCRAMSHA256, MechPlain}

// DefaultMechanisms returns the default preference order.
func DefaultMechanisms() []string { return append([]string(nil), defaultMechanisms...) }

func scramHash(mech string) func() hash.Hash {
	switch mech {
	case MechSCRAMSHA1:
		return sha1.New
	case MechSCRAMSHA256:
		return sha256.New
	}
	return nil
}

// gs2Header: no channel binding, no authorization identity.
const gs2Header = "n,,"

// scram is one SCRAM exchange (RFC 5802) on the client side, without channel
// binding.
type scram struct {
	h        func() hash.Hash
	user     string
	password string
	nonce    string // client nonce
	cache    *saltCache

	clientFirstBare string
	serverSig       []byte
}

// first returns the client-first-message.
func (s *scram) first() string {
	s.clientFirstBare = "n=" + saslName(s.user) + ",r=" + s.nonce
	return gs2Header + s.clientFirstBare
}

// final answers the server-first-message with the client-final-message.
func (s *scram) final(serverFirst string) (string, error) {
	attrs, err := scramAttrs(serverFirst)
	if err != nil {
		return "", err
	}
	if _, ok := attrs['m']; ok {
		return "", errors.New("scram: server-first-message requires an extension (m=) the client does not know")
	}
	nonce, salt64, iters := attrs['r'], attrs['s'], attrs['i']
	if !strings.HasPrefix(nonce, s.nonce) || len(nonce) == len(s.nonce) {
		return "", errors.New("scram: server nonce does not extend the client nonce")
	}
	salt, err := base64.StdEncoding.DecodeString(salt64)
	if err != nil || len(salt) == 0 {
		return "", fmt.Errorf("scram: bad salt %q", salt64)
	}
	iter, err := strconv.Atoi(iters)
	if err != nil || iter < 1 || iter > 1<<20 {
		return "", fmt.Errorf("scram: bad iteration count %q", iters)
	}
	salted, err := s.saltedPassword(salt, iter)
	if err != nil {
		return "", err
	}
	withoutProof := "c=" + base64.StdEncoding.EncodeToString([]byte(gs2Header)) + ",r=" + nonce
	authMessage := s.clientFirstBare + "," + serverFirst + "," + withoutProof

	clientKey := s.hmac(salted, "Client Key")
	hh := s.h()
	hh.Write(clientKey)
	storedKey := hh.Sum(nil)
	clientSig := s.hmac(storedKey, authMessage)
	proof := make([]byte, len(clientKey))
	for i := range proof {
		proof[i] = clientKey[i] ^ clientSig[i]
	}
	s.serverSig = s.hmac(s.hmac(salted, "Server Key"), authMessage)
	return withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof), nil
}

// verify checks the server-final-message (the additional data of
// <success/>): the server proves that it knows the password too.
func (s *scram) verify(serverFinal string) error {
	attrs, err := scramAttrs(serverFinal)
	if err != nil {
		return err
	}
	if e, ok := attrs['e']; ok {
		return fmt.Errorf("scram: server error %q", e)
	}
	v, err := base64.StdEncoding.DecodeString(attrs['v'])
	if err != nil || s.serverSig == nil || subtle.ConstantTimeCompare(v, s.serverSig) != 1 {
		return errors.New("scram: server signature does not verify (the server does not know the password)")
	}
	return nil
}

func (s *scram) hmac(key []byte, msg string) []byte {
	m := hmac.New(s.h, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// saltedPassword is Hi(password, salt, i), through the driver's cache: real
// clients keep it too, so that a login costs no PBKDF2 after the first.
func (s *scram) saltedPassword(salt []byte, iter int) ([]byte, error) {
	key := saltKey{user: s.user, password: s.password, salt: string(salt), iter: iter}
	if v, ok := s.cache.get(key); ok {
		return v, nil
	}
	out, err := pbkdf2.Key(s.h, s.password, salt, iter, s.h().Size())
	if err != nil {
		return nil, fmt.Errorf("scram: %w", err)
	}
	s.cache.put(key, out)
	return out, nil
}

// scramAttrs splits "a=x,b=y" into attributes; values may contain "=".
func scramAttrs(msg string) (map[byte]string, error) {
	out := make(map[byte]string, 4)
	for _, part := range strings.Split(msg, ",") {
		if len(part) < 2 || part[1] != '=' {
			return nil, fmt.Errorf("scram: malformed attribute %q in %q", part, msg)
		}
		out[part[0]] = part[2:]
	}
	return out, nil
}

// saslName escapes "=" and "," in a SCRAM user name (RFC 5802 section 5.1).
func saslName(user string) string {
	if !strings.ContainsAny(user, "=,") {
		return user
	}
	return strings.NewReplacer("=", "=3D", ",", "=2C").Replace(user)
}
