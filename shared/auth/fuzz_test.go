package auth_test

import (
	"slices"
	"testing"

	"rollcall/shared/auth"
)

// FuzzFromRequest: claims to caller never panic; without a token in the header, a caller is an
// operator exactly when the operator group is one whole name of the flattened groups claim; the
// email is the claim's only when email_verified is "true".
func FuzzFromRequest(f *testing.F) {
	f.Add("sample-user", "sample@acme.example", "true", "[]", "")
	f.Add("op", "op@example.com", "true", "[operators]", "")
	f.Add("u", "a@b.example", "false", "[Customer operators]", "Bearer a.eyJzdWIiOiJ1In0.c")
	f.Add("u", "", "", `["x,operators"]`, "Bearer x.y.z")
	f.Fuzz(func(t *testing.T, sub, email, verified, groups, header string) {
		claims := map[string]string{"sub": sub, "email": email, "email_verified": verified, "cognito:groups": groups}
		c, err := auth.FromRequest(request(claims, nil), "operators")
		if sub == "" {
			if err == nil {
				t.Fatal("no subject, no error")
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if c.Operator != slices.Contains(auth.Groups(groups, nil), "operators") {
			t.Fatalf("groups %q: operator %v", groups, c.Operator)
		}
		if (c.Email != "") && verified != "true" {
			t.Fatalf("unverified email %q trusted", c.Email)
		}
		req := request(claims, nil)
		req.Headers["authorization"] = header
		if _, err := auth.FromRequest(req, "operators"); err != nil {
			t.Fatal(err)
		}
	})
}
