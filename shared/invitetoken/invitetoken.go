// Package invitetoken derives and checks invitation tokens (R15). A token names an invitation
// and carries an HMAC-SHA256, under the stage's signing key, of the invitation's account id, id
// and current per-send nonce. Only the nonce is stored, so a dump of the table or its stream
// holds nothing from which a link can be made; a resend changes the nonce and so invalidates
// every earlier link.
package invitetoken

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"
)

// ErrMalformed is returned for a token that is not of rollcall's form.
var ErrMalformed = errors.New("invitetoken: malformed token")

// MinKeyBytes is the shortest signing key accepted.
const MinKeyBytes = 32

// Signer derives tokens under the current signing key and verifies them under the current or
// the previous one (the stage keeps both, so that a rotation does not kill the links already
// sent: see infra/README.md, "Rotating the invitation signing key"). Each token carries the id
// of its key, so a link made under a key that is neither is refused. Safe for concurrent use.
type Signer struct {
	mu     sync.RWMutex
	keys   []signingKey // current first, then previous
	reload func() ([][]byte, error)
	last   time.Time // of the last reload
}

type signingKey struct {
	id  string
	key []byte
}

// KeyID is the id tokens carry for key: the first 8 hex digits of its SHA-256, which names the
// key without revealing it.
func KeyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:4])
}

// NewSigner returns a Signer that signs with current and also accepts tokens signed with
// previous keys (at most one is kept; empty ones are ignored). It returns an error when a key is
// shorter than MinKeyBytes.
func NewSigner(current []byte, previous ...[]byte) (*Signer, error) {
	keys, err := signingKeys(current, previous...)
	if err != nil {
		return nil, err
	}
	return &Signer{keys: keys}, nil
}

func signingKeys(current []byte, previous ...[]byte) ([]signingKey, error) {
	all := [][]byte{current}
	for _, p := range previous {
		if len(p) > 0 && len(all) < 2 {
			all = append(all, p)
		}
	}
	var keys []signingKey
	for _, k := range all {
		if len(k) < MinKeyBytes {
			return nil, errors.New("invitetoken: signing key must be at least 32 bytes")
		}
		keys = append(keys, signingKey{id: KeyID(k), key: append([]byte(nil), k...)})
	}
	return keys, nil
}

// ReloadEvery makes the Signer fetch its keys again with load (current first, then previous)
// when it meets a token whose key it does not know, at most once per interval: a function that
// started before a rotation then learns the new key from the first link made with it.
func (s *Signer) ReloadEvery(interval time.Duration, load func() ([][]byte, error)) *Signer {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reload = func() ([][]byte, error) {
		if time.Since(s.last) < interval {
			return nil, nil
		}
		s.last = time.Now()
		return load()
	}
	return s
}

// Token is the token for the invitation's current send, under the current key:
// "<accountId>.<invitationId>.<keyId>.<mac>".
func (s *Signer) Token(accountID, invitationID, nonce string) string {
	s.mu.RLock()
	k := s.keys[0]
	s.mu.RUnlock()
	return accountID + "." + invitationID + "." + k.id + "." + base64.RawURLEncoding.EncodeToString(mac(k.key, accountID, invitationID, nonce))
}

// Parse returns the account and invitation ids a token names, without checking its MAC; it
// returns ErrMalformed for anything else. Tokens made before key ids (three parts) still parse.
func Parse(token string) (accountID, invitationID string, err error) {
	parts := strings.Split(token, ".")
	if (len(parts) != 3 && len(parts) != 4) || slices.Contains(parts, "") {
		return "", "", ErrMalformed
	}
	return parts[0], parts[1], nil
}

// Verify reports whether token is the current token of the invitation (accountID,
// invitationID, nonce) under the current or the previous key. A token without a key id (made
// before key ids) is checked under both.
func (s *Signer) Verify(token, accountID, invitationID, nonce string) bool {
	acc, inv, err := Parse(token)
	if err != nil || acc != accountID || inv != invitationID {
		return false
	}
	parts := strings.Split(token, ".")
	got, err := base64.RawURLEncoding.DecodeString(parts[len(parts)-1])
	// Only the canonical spelling: the decoder skips \r and \n, so other strings would decode to
	// the same MAC and one invitation would have many valid tokens (found by FuzzToken; its
	// input is kept in testdata/fuzz/FuzzToken).
	if err != nil || base64.RawURLEncoding.EncodeToString(got) != parts[len(parts)-1] {
		return false
	}
	kid := ""
	if len(parts) == 4 {
		kid = parts[2]
	}
	if ok, known := s.check(kid, got, accountID, invitationID, nonce); known || kid == "" {
		return ok
	}
	if s.refresh() {
		ok, _ := s.check(kid, got, accountID, invitationID, nonce)
		return ok
	}
	return false
}

// check verifies got under the key kid ("": every key); known says whether the Signer has it.
func (s *Signer) check(kid string, got []byte, accountID, invitationID, nonce string) (ok, known bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, k := range s.keys {
		if kid != "" && k.id != kid {
			continue
		}
		known = true
		if hmac.Equal(got, mac(k.key, accountID, invitationID, nonce)) {
			return true, true
		}
	}
	return false, known
}

// refresh reloads the keys when a reload is set up and due; it reports whether they changed.
func (s *Signer) refresh() bool {
	s.mu.RLock()
	reload := s.reload
	s.mu.RUnlock()
	if reload == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	loaded, err := reload()
	if err != nil || len(loaded) == 0 {
		return false
	}
	keys, err := signingKeys(loaded[0], loaded[1:]...)
	if err != nil {
		return false
	}
	s.keys = keys
	return true
}

func mac(key []byte, accountID, invitationID, nonce string) []byte {
	m := hmac.New(sha256.New, key)
	for _, part := range []string{accountID, invitationID, nonce} {
		m.Write([]byte{byte(len(part) >> 8), byte(len(part))})
		m.Write([]byte(part))
	}
	return m.Sum(nil)
}

// NewNonce returns a fresh random per-send nonce (128 bits, hex).
func NewNonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
