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
	"strings"
)

// ErrMalformed is returned for a token that is not of rollcall's form.
var ErrMalformed = errors.New("invitetoken: malformed token")

// MinKeyBytes is the shortest signing key accepted.
const MinKeyBytes = 32

// Signer derives and verifies tokens under one signing key.
type Signer struct{ key []byte }

// NewSigner returns a Signer for key; it returns an error when key is shorter than MinKeyBytes.
func NewSigner(key []byte) (*Signer, error) {
	if len(key) < MinKeyBytes {
		return nil, errors.New("invitetoken: signing key must be at least 32 bytes")
	}
	return &Signer{key: append([]byte(nil), key...)}, nil
}

// Token is the token for the invitation's current send: "<accountId>.<invitationId>.<mac>".
func (s *Signer) Token(accountID, invitationID, nonce string) string {
	return accountID + "." + invitationID + "." + base64.RawURLEncoding.EncodeToString(s.mac(accountID, invitationID, nonce))
}

// Parse returns the account and invitation ids a token names, without checking its MAC; it
// returns ErrMalformed when the token is not of rollcall's form.
func Parse(token string) (accountID, invitationID string, err error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return "", "", ErrMalformed
	}
	return parts[0], parts[1], nil
}

// Verify reports whether token is the token of the invitation's send with nonce, comparing the
// MAC in constant time.
func (s *Signer) Verify(token, accountID, invitationID, nonce string) bool {
	acc, inv, err := Parse(token)
	if err != nil || acc != accountID || inv != invitationID {
		return false
	}
	got, err := base64.RawURLEncoding.DecodeString(token[strings.LastIndex(token, ".")+1:])
	if err != nil {
		return false
	}
	return hmac.Equal(got, s.mac(accountID, invitationID, nonce))
}

func (s *Signer) mac(accountID, invitationID, nonce string) []byte {
	m := hmac.New(sha256.New, s.key)
	// Length-prefix each part so that no two (account, invitation, nonce) triples share input.
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
