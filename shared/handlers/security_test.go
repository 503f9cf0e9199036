package handlers_test

import (
	"fmt"
	"testing"
)

// Finding 2: an email the identity provider has not verified is not trusted. Accepting an
// invitation (which records the login's email as the member's, and guards it, R4) needs one.
func TestAcceptNeedsAVerifiedEmail(t *testing.T) {
	e := newRelEnv(t)
	acc := e.createAccount("customer")
	con := e.newContact(acc, "linus@home.example")
	if a := e.put("op", acc, e.mainSite(acc), con, `{"roles":["Technical"]}`); a.status != 201 {
		t.Fatalf("relate: %d %s", a.status, a.raw)
	}
	token := e.welcomeToken(acc, con)
	before := e.scan()
	for _, claims := range []map[string]string{
		{"email_verified": "false"},
		{"email_verified": ""},
		{"email": "", "email_verified": "", "token_use": "access"},
	} {
		a := e.do(call{function: "accept-invitation", sub: "linus", claims: claims, body: str(fmt.Sprintf(`{"token":%q}`, token))})
		if a.status != 403 || a.body["code"] != "email_not_verified" {
			t.Errorf("accept with claims %v: %d %s", claims, a.status, a.raw)
		}
	}
	if e.scan() != before {
		t.Fatal("a refused accept wrote items")
	}
	if a := e.do(call{function: "accept-invitation", sub: "linus", body: str(fmt.Sprintf(`{"token":%q}`, token))}); a.status != 201 || a.body["email"] != "linus@example.com" {
		t.Fatalf("accept with a verified email: %d %s", a.status, a.raw)
	}
}
