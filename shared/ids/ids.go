// Package ids makes rollcall's ids: a type prefix and a ULID, so ids are opaque, unique and sort
// by creation time (DESIGN §3).
package ids

import (
	"strings"

	"github.com/oklog/ulid/v2"
)

// Id prefixes.
const (
	Account    = "acc_"
	Contact    = "con_"
	Site       = "site_"
	Invitation = "inv_"
	Audit      = "aud_"
)

// New returns a new id with prefix.
func New(prefix string) string { return prefix + strings.ToLower(ulid.Make().String()) }

// Valid reports whether id has prefix and a well-formed ULID after it.
func Valid(prefix, id string) bool {
	rest, ok := strings.CutPrefix(id, prefix)
	if !ok {
		return false
	}
	_, err := ulid.ParseStrict(strings.ToUpper(rest))
	return err == nil
}
