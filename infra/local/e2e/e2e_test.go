package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"rollcall/infra/local/localtest"
)

type obj = map[string]any

func decode(t testing.TB, r *localtest.Response) obj {
	t.Helper()
	var m obj
	r.JSON(t, &m)
	return m
}

func must(t testing.TB, r *localtest.Response, status int, what string) obj {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: %d %s, want %d", what, r.Status, r.Body, status)
	}
	if len(r.Body) == 0 {
		return nil
	}
	return decode(t, r)
}

// TestREADMEWalkthrough does what the README's curl walk-through does: an operator creates an
// account, adds contacts one by one and in a batch, and lists them.
func TestREADMEWalkthrough(t *testing.T) {
	s := localtest.Start(t)
	op := s.OperatorToken(t, "ops-1")
	acc := must(t, s.Do(t, "POST", "/accounts", op, `{"name":"Acme Corp","owner":{"firstName":"Ada","lastName":"Lovelace","email":"ada@acme.example"}}`), 201, "create account")
	id := acc["id"].(string)
	must(t, s.Do(t, "POST", "/accounts/"+id+"/contacts", op, `{"email":"grace@acme.example","firstName":"Grace","lastName":"Hopper","emailTypes":["billing","service"]}`), 201, "create contact")
	batch := must(t, s.Do(t, "POST", "/accounts/"+id+"/contacts/batch", op, `{"items":[{"email":"alan@acme.example","firstName":"Alan","lastName":"Turing"},{"email":"GRACE@acme.example"}]}`), 200, "batch")
	results := batch["results"].([]any)
	if len(results) != 2 || results[0].(obj)["status"].(float64) != 201 || results[1].(obj)["status"].(float64) != 409 {
		t.Fatalf("batch results: %v", results)
	}
	list := must(t, s.Do(t, "GET", "/accounts/"+id+"/contacts?limit=1", op, nil), 200, "list page 1")
	next, _ := list["nextCursor"].(string)
	if len(list["items"].([]any)) != 1 || next == "" {
		t.Fatalf("page 1: %v", list)
	}
	rest := must(t, s.Do(t, "GET", "/accounts/"+id+"/contacts?limit=10&cursor="+next, op, nil), 200, "list page 2")
	if len(rest["items"].([]any)) != 1 || rest["nextCursor"] != nil {
		t.Fatalf("page 2: %v", rest)
	}
	billing := must(t, s.Do(t, "GET", "/accounts/"+id+"/contacts?emailType=billing", op, nil), 200, "filtered")
	if items := billing["items"].([]any); len(items) != 1 || items[0].(obj)["email"] != "grace@acme.example" {
		t.Fatalf("billing contacts: %v", billing)
	}
}

// TestAccountsAreIsolatedAndRightsEnforced: a member of account A gets 404 on every contacts
// route of account B, a user without contacts:write gets 403 on writes, no token gets 401.
func TestAccountsAreIsolatedAndRightsEnforced(t *testing.T) {
	s := localtest.Start(t)
	op := s.OperatorToken(t, "ops-1")
	a := ownedAccount(t, s, op, "Alpha", "alpha-owner")
	b := ownedAccount(t, s, op, "Beta", "beta-owner")
	con := must(t, s.Do(t, "POST", "/accounts/"+b.id+"/contacts", op, `{"email":"b1@beta.example"}`), 201, "contact in B")
	cid := con["id"].(string)
	routes := []struct{ method, path, body string }{
		{"GET", "/accounts/" + b.id + "/contacts", ""},
		{"POST", "/accounts/" + b.id + "/contacts", `{"email":"x@beta.example"}`},
		{"POST", "/accounts/" + b.id + "/contacts/batch", `{"items":[{"email":"y@beta.example"}]}`},
		{"GET", "/accounts/" + b.id + "/contacts/" + cid, ""},
		{"PATCH", "/accounts/" + b.id + "/contacts/" + cid, `{"firstName":"Z"}`},
		{"DELETE", "/accounts/" + b.id + "/contacts/" + cid, ""},
	}
	for _, r := range routes {
		var body any
		if r.body != "" {
			body = r.body
		}
		if got := s.Do(t, r.method, r.path, a.ownerToken, body); got.Status != 404 {
			t.Errorf("%s %s by A's owner: %d %s, want 404", r.method, r.path, got.Status, got.Body)
		}
		if got := s.Do(t, r.method, r.path, "", body); got.Status != 401 {
			t.Errorf("%s %s without a token: %d, want 401", r.method, r.path, got.Status)
		}
	}
	reader := join(t, s, b, "reader", `["contacts:read"]`)
	if got := s.Do(t, "GET", "/accounts/"+b.id+"/contacts/"+cid, reader, nil); got.Status != 200 {
		t.Fatalf("reader reads: %d %s", got.Status, got.Body)
	}
	for _, r := range routes {
		if r.method == "GET" {
			continue
		}
		var body any
		if r.body != "" {
			body = r.body
		}
		if got := s.Do(t, r.method, r.path, reader, body); got.Status != 403 {
			t.Errorf("%s %s by a reader: %d %s, want 403", r.method, r.path, got.Status, got.Body)
		}
	}
}

type account struct {
	id, ownerToken string
}

// ownedAccount creates an account as the operator and has its owner accept the owner invitation.
func ownedAccount(t testing.TB, s *localtest.Stack, op, name, ownerSub string) account {
	t.Helper()
	email := ownerSub + "@" + strings.ToLower(name) + ".example"
	acc := must(t, s.Do(t, "POST", "/accounts", op, fmt.Sprintf(`{"name":%q,"owner":{"firstName":"O","lastName":"Wner","email":%q}}`, name, email)), 201, "create account")
	id := acc["id"].(string)
	invs := must(t, s.Do(t, "GET", "/accounts/"+id+"/invitations", op, nil), 200, "owner invitation")
	invID := invs["items"].([]any)[0].(obj)["id"].(string)
	tok := s.Token(t, ownerSub, email)
	must(t, s.Do(t, "POST", "/invitations/accept", tok, obj{"token": s.InviteToken(t, id, invID)}), 201, "owner accepts")
	return account{id: id, ownerToken: tok}
}

// join invites sub to account a with permissions and has it accept; it returns sub's token.
func join(t *testing.T, s *localtest.Stack, a account, sub, perms string) string {
	t.Helper()
	inv := must(t, s.Do(t, "POST", "/accounts/"+a.id+"/invitations", a.ownerToken, fmt.Sprintf(`{"email":"%s@invited.example","permissions":%s}`, sub, perms)), 201, "invite "+sub)
	tok := s.Token(t, sub, sub+"@login.example")
	must(t, s.Do(t, "POST", "/invitations/accept", tok, obj{"token": s.InviteToken(t, a.id, inv["id"].(string))}), 201, sub+" accepts")
	return tok
}

// TestUsersAndOwnershipEndToEnd: operator creates account → owner accepts → owner invites a
// user → the user accepts with another email → owner changes the user's permissions → owner
// transfers ownership → the old owner is a user.
func TestUsersAndOwnershipEndToEnd(t *testing.T) {
	s := localtest.Start(t)
	op := s.OperatorToken(t, "ops-1")
	a := ownedAccount(t, s, op, "Initech", "peter")
	inv := must(t, s.Do(t, "POST", "/accounts/"+a.id+"/invitations", a.ownerToken, `{"email":"milton@initech.example","permissions":["contacts:read"]}`), 201, "invite")
	look := must(t, s.Do(t, "POST", "/invitations/lookup", s.Token(t, "milton", "m@home.example"), obj{"token": s.InviteToken(t, a.id, inv["id"].(string))}), 200, "look-up")
	if look["accountName"] != "Initech" || look["invitedEmail"] != "milton@initech.example" || look["kind"] != "user" {
		t.Fatalf("look-up: %v", look)
	}
	milton := s.Token(t, "milton", "m@home.example")
	u := must(t, s.Do(t, "POST", "/invitations/accept", milton, obj{"token": s.InviteToken(t, a.id, inv["id"].(string))}), 201, "accept")
	if u["email"] != "m@home.example" || u["invitedEmail"] != "milton@initech.example" {
		t.Fatalf("membership: %v", u)
	}
	again := s.Do(t, "POST", "/invitations/accept", milton, obj{"token": s.InviteToken(t, a.id, inv["id"].(string))})
	if again.Status != 409 {
		t.Fatalf("second accept: %d %s", again.Status, again.Body)
	}
	up := must(t, s.Do(t, "PATCH", "/accounts/"+a.id+"/users/milton", a.ownerToken, `{"permissions":["contacts:read","contacts:write","billing:read"]}`), 400, "unknown permission")
	if up["code"] != "validation_failed" {
		t.Fatalf("unknown permission: %v", up)
	}
	up = must(t, s.Do(t, "PATCH", "/accounts/"+a.id+"/users/milton", a.ownerToken, `{"permissions":["contacts:read","contacts:write"]}`), 200, "change permissions")
	if fmt.Sprint(up["permissions"]) != "[contacts:read contacts:write]" {
		t.Fatalf("permissions: %v", up)
	}
	must(t, s.Do(t, "POST", "/accounts/"+a.id+"/contacts", milton, `{"email":"new@initech.example"}`), 201, "milton writes contacts")
	must(t, s.Do(t, "GET", "/accounts/"+a.id+"/users", milton, nil), 403, "milton lists users")
	must(t, s.Do(t, "POST", "/accounts/"+a.id+"/ownership", a.ownerToken, `{"userId":"milton"}`), 200, "transfer")
	users := must(t, s.Do(t, "GET", "/accounts/"+a.id+"/users", milton, nil), 200, "new owner lists users")
	roles := map[string]string{}
	for _, it := range users["items"].([]any) {
		roles[it.(obj)["id"].(string)] = it.(obj)["role"].(string)
	}
	if roles["milton"] != "owner" || roles["peter"] != "user" {
		t.Fatalf("roles after transfer: %v", roles)
	}
	must(t, s.Do(t, "GET", "/accounts/"+a.id+"/users", a.ownerToken, nil), 403, "old owner lists users")
	must(t, s.Do(t, "DELETE", "/accounts/"+a.id+"/users/milton", op, nil), 409, "remove the owner")
	mine := must(t, s.Do(t, "GET", "/me/accounts", a.ownerToken, nil), 200, "old owner's accounts")
	if it := mine["items"].([]any)[0].(obj); it["role"] != "user" || len(it["permissions"].([]any)) < 4 {
		t.Fatalf("old owner's membership: %v", it)
	}
}

// TestConcurrentRequestsThroughTheGateway: fifty clients create a contact with the same email
// (differing in case and spaces) at once: one 201, forty-nine 409 contact_email_taken.
func TestConcurrentRequestsThroughTheGateway(t *testing.T) {
	s := localtest.Start(t)
	op := s.OperatorToken(t, "ops-1")
	a := ownedAccount(t, s, op, "Hooli", "gavin")
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			email := fmt.Sprintf(`"%sSame@Hooli.example%s"`, strings.Repeat(" ", i%2), strings.Repeat(" ", i%3))
			r := s.Do(t, "POST", "/accounts/"+a.id+"/contacts", a.ownerToken, `{"email":`+email+`}`)
			mu.Lock()
			statuses[r.Status]++
			mu.Unlock()
			if r.Status == 409 && !strings.Contains(string(r.Body), "contact_email_taken") {
				t.Errorf("409 without the code: %s", r.Body)
			}
		}()
	}
	wg.Wait()
	if statuses[http.StatusCreated] != 1 || statuses[http.StatusConflict] != 49 {
		t.Fatalf("statuses %v, want one 201 and forty-nine 409", statuses)
	}
}

func ownedAccountB(b *testing.B, s *localtest.Stack, op string) account {
	return ownedAccount(b, s, op, "Bench", "bench-owner")
}
