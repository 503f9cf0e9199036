// Package idempotency holds the Idempotency-Key rule of POST requests (DESIGN §3): a repeat of a
// key by the same caller returns the first answer; the same key with a different request is 422.
// Records are kept 24 hours. The store writes a record in the same transaction as the create it
// answers, so a create stays one round trip.
package idempotency

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"rollcall/shared/apperr"
)

// Header is the request header that carries the key.
const Header = "Idempotency-Key"

// MaxKeyLength is the longest key accepted.
const MaxKeyLength = 255

// Retention is how long a record answers repeats.
const Retention = 24 * time.Hour

// Request identifies one idempotent request: its key, its caller and a hash of what was asked.
type Request struct {
	AccountID string // the account of the route, "" for routes outside an account
	Sub       string // the caller's login
	Key       string
	Hash      string // hash of method, route and body
}

// Parse returns the idempotent request for key (nil when key is empty), or a 400 when the key is
// too long.
func Parse(key, accountID, sub, method, path string, body []byte) (*Request, error) {
	if key == "" {
		return nil, nil
	}
	if utf8.RuneCountInString(key) > MaxKeyLength {
		return nil, apperr.InvalidField(Header, fmt.Sprintf("must be at most %d characters", MaxKeyLength))
	}
	if strings.ContainsFunc(key, unicode.IsControl) {
		return nil, apperr.InvalidField(Header, "must not contain control characters")
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s %s\n", method, path)
	h.Write(body)
	return &Request{AccountID: accountID, Sub: sub, Key: key, Hash: hex.EncodeToString(h.Sum(nil))}, nil
}

// Record is what is stored for a request: its hash and the answer it got.
type Record struct {
	Hash    string    `dynamodbav:"hash"`
	Status  int       `dynamodbav:"status"`
	Body    string    `dynamodbav:"body"`
	Expires time.Time `dynamodbav:"expires"`
}

// Replay is returned instead of running a request whose key was seen with the same request: the
// caller gets Status and Body as the first time.
type Replay struct {
	Status int
	Body   string
}

func (r *Replay) Error() string { return "idempotency: replay of an earlier request" }

// ErrInProgress is Check's answer for a record whose request is still running (status 0: a
// claim, see store.Idempotent).
var ErrInProgress = errors.New("idempotency: the first request with this key is still running")

// Check compares a stored record with req at now: nil when the record has expired (the request
// runs anew), a *Replay when it matches, ErrInProgress when it matches a request still running, a
// 422 when the key was used for another request.
func Check(rec Record, req *Request, now time.Time) error {
	if !now.Before(rec.Expires) {
		return nil
	}
	if rec.Hash != req.Hash {
		return apperr.New(http.StatusUnprocessableEntity, apperr.CodeIdempotencyMismatch,
			"the Idempotency-Key was already used with a different request")
	}
	if rec.Status == 0 {
		return ErrInProgress
	}
	return &Replay{Status: rec.Status, Body: rec.Body}
}
