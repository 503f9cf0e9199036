package handlers_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"

	"rollcall/shared/invitetoken"
	"rollcall/shared/testenv"
)

// inviteToken derives the link token of the invitation to email in account acc, as the email
// function does.
func (e *relEnv) inviteToken(acc, email string) (id, token string) {
	e.t.Helper()
	for _, raw := range testenv.Items(e.t, e.db, e.name) {
		var it map[string]any
		_ = attributevalue.UnmarshalMap(raw, &it)
		if it["entity"] == "invitation" && it["accountId"] == acc && it["email"] == email && it["status"] != "revoked" {
			return it["id"].(string), e.signer.Token(acc, it["id"].(string), it["nonce"].(string))
		}
	}
	e.t.Fatalf("no pending invitation for %s in %s", email, acc)
	return "", ""
}

// TestOwnerAndUserLifecycle walks the routes of owners, users and invitations through their
// success paths (which also records the DynamoDB actions each makes: see grants_test.go): an
// owner accepts, renames the account, invites a user (look-up, resend, revoke, invite again,
// accept), manages the user, hands ownership over, and removes the user.
func TestOwnerAndUserLifecycle(t *testing.T) {
	e := newRelEnv(t)
	var mu sync.Mutex
	now := time.Now()
	e.api.UseClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	later := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }

	acc := e.createAccount("customer")
	p := map[string]string{"accountId": acc}
	_, ownerToken := e.inviteToken(acc, "ada@acme.example")
	if a := e.do(call{function: "lookup-invitation", sub: "ada", body: str(fmt.Sprintf(`{"token":%q}`, ownerToken))}); a.status != 200 {
		t.Fatalf("look up the owner invitation: %d %s", a.status, a.raw)
	}
	if a := e.do(call{function: "accept-invitation", sub: "ada", body: str(fmt.Sprintf(`{"token":%q}`, ownerToken))}); a.status != 201 {
		t.Fatalf("owner accepts: %d %s", a.status, a.raw)
	}
	if a := e.do(call{function: "list-my-accounts", sub: "ada"}); a.status != 200 || len(a.body["items"].([]any)) != 1 {
		t.Fatalf("list my accounts: %d %s", a.status, a.raw)
	}
	if a := e.do(call{function: "update-account", sub: "op", operator: true, params: p, body: str(`{"name":"Acme Ltd"}`)}); a.status != 200 {
		t.Fatalf("an operator renames the account: %d %s", a.status, a.raw)
	}

	invite := str(`{"email":"linus@acme.example","permissions":["contacts:read"],"expiresInDays":7}`)
	if a := e.do(call{function: "create-invitation", sub: "ada", params: p, body: invite}); a.status != 201 {
		t.Fatalf("owner invites: %d %s", a.status, a.raw)
	}
	invID, _ := e.inviteToken(acc, "linus@acme.example")
	ip := map[string]string{"accountId": acc, "invitationId": invID}
	if a := e.do(call{function: "list-invitations", sub: "ada", params: p}); a.status != 200 {
		t.Fatalf("list invitations: %d %s", a.status, a.raw)
	}
	later(2 * time.Hour)
	if a := e.do(call{function: "resend-invitation", sub: "ada", params: ip}); a.status != 200 && a.status != 202 {
		t.Fatalf("resend: %d %s", a.status, a.raw)
	}
	if a := e.do(call{function: "revoke-invitation", sub: "ada", params: ip}); a.status != 200 && a.status != 204 {
		t.Fatalf("revoke: %d %s", a.status, a.raw)
	}
	if a := e.do(call{function: "create-invitation", sub: "ada", params: p, body: invite}); a.status != 201 {
		t.Fatalf("owner invites again: %d %s", a.status, a.raw)
	}
	_, userToken := e.inviteToken(acc, "linus@acme.example")
	if a := e.do(call{function: "accept-invitation", sub: "linus", body: str(fmt.Sprintf(`{"token":%q}`, userToken))}); a.status != 201 {
		t.Fatalf("user accepts: %d %s", a.status, a.raw)
	}

	up := map[string]string{"accountId": acc, "userId": "linus"}
	if a := e.do(call{function: "list-users", sub: "ada", params: p}); a.status != 200 {
		t.Fatalf("list users: %d %s", a.status, a.raw)
	}
	if a := e.do(call{function: "get-user", sub: "ada", params: up}); a.status != 200 {
		t.Fatalf("get user: %d %s", a.status, a.raw)
	}
	if a := e.do(call{function: "update-user", sub: "ada", params: up, body: str(`{"permissions":["contacts:read","contacts:write"]}`)}); a.status != 200 {
		t.Fatalf("update user: %d %s", a.status, a.raw)
	}
	if a := e.do(call{function: "transfer-ownership", sub: "ada", params: p, body: str(`{"userId":"linus"}`)}); a.status != 200 {
		t.Fatalf("transfer ownership: %d %s", a.status, a.raw)
	}
	if a := e.do(call{function: "remove-user", sub: "linus", params: map[string]string{"accountId": acc, "userId": "ada"}}); a.status != 204 && a.status != 200 {
		t.Fatalf("the new owner removes the old one: %d %s", a.status, a.raw)
	}
}

// Rotating the signing key (make rotate-signing-key): a link sent before one rotation still
// opens the invitation, one sent before two rotations does not.
func TestLinksSurviveOneKeyRotation(t *testing.T) {
	e := newRelEnv(t)
	acc := e.createAccount("customer")
	_, token := e.inviteToken(acc, "ada@acme.example") // signed with the test's key
	k1 := []byte("0123456789abcdef0123456789abcdef-handlers-test")
	k2, k3 := []byte("second key, rotated in: 32 bytes or more"), []byte("third key, rotated in: 32 bytes or more!")
	lookup := func(current []byte, previous ...[]byte) answer {
		t.Helper()
		s, err := invitetoken.NewSigner(current, previous...)
		if err != nil {
			t.Fatal(err)
		}
		e.api.UseSigner(s)
		return e.do(call{function: "lookup-invitation", sub: "ada", body: str(fmt.Sprintf(`{"token":%q}`, token))})
	}
	if a := lookup(k1); a.status != 200 {
		t.Fatalf("before rotation: %d %s", a.status, a.raw)
	}
	if a := lookup(k2, k1); a.status != 200 {
		t.Fatalf("after one rotation: %d %s", a.status, a.raw)
	}
	if a := lookup(k3, k2); a.status < 400 || a.status >= 500 {
		t.Fatalf("after two rotations: %d %s, want a 4xx", a.status, a.raw)
	} else {
		t.Logf("after two rotations: %d %s", a.status, a.body["code"])
	}
}
