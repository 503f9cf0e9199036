package invitetoken_test

import (
	"strings"
	"testing"

	"rollcall/shared/invitetoken"
)

// FuzzToken: parsing any string never panics; a token verifies only for the ids and nonce it
// was made for, spelled as Token makes it or as tokens made before key ids were (the same without
// the key id, which Verify still takes); made tokens parse back to their ids.
func FuzzToken(f *testing.F) {
	s, err := invitetoken.NewSigner([]byte("0123456789abcdef0123456789abcdef-fuzz"))
	if err != nil {
		f.Fatal(err)
	}
	good := s.Token("acc_01kawz8t6f3n3c1g5m0s2y8r4d", "inv_01kawz8t6f3n3c1g5m0s2y8r4g", "bm9uY2U")
	f.Add(good, "acc_01kawz8t6f3n3c1g5m0s2y8r4d", "inv_01kawz8t6f3n3c1g5m0s2y8r4g", "bm9uY2U")
	f.Add("acc_01kawz8t6f3n3c1g5m0s2y8r4d.inv_01kawz8t6f3n3c1g5m0s2y8r4g.c2FtcGxl", "a", "b", "c")
	f.Add("", "", "", "")
	f.Fuzz(func(t *testing.T, token, acc, inv, nonce string) {
		a, i, err := invitetoken.Parse(token)
		if err == nil && s.Verify(token, a, i, nonce) && token != s.Token(a, i, nonce) && token != withoutKeyID(s.Token(a, i, nonce)) {
			t.Fatalf("%q verifies but is not the token of its ids", token)
		}
		if acc == "" || inv == "" || strings.Contains(acc+inv, ".") {
			return // not ids: Token is only made for real ones
		}
		made := s.Token(acc, inv, nonce)
		if !s.Verify(made, acc, inv, nonce) {
			t.Fatalf("the token of %q %q %q does not verify", acc, inv, nonce)
		}
		if token != made && s.Verify(token, acc, inv, nonce) {
			t.Fatalf("%q verifies for %q %q %q", token, acc, inv, nonce)
		}
	})
}

// withoutKeyID is token as it was made before key ids: "<accountId>.<invitationId>.<mac>".
func withoutKeyID(token string) string {
	p := strings.Split(token, ".")
	return strings.Join([]string{p[0], p[1], p[3]}, ".")
}
