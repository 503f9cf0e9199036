package handlers_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"rollcall/shared/handlers"
	"rollcall/shared/store"
	"rollcall/shared/table"
	"rollcall/shared/testenv"
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

// fieldsOf returns the fields a 400 names, in order.
func fieldsOf(a answer) []string {
	var out []string
	errs, _ := a.body["errors"].([]any)
	for _, e := range errs {
		out = append(out, e.(map[string]any)["field"].(string))
	}
	return out
}

// Finding 5 and issue 10 item 6: unknown or differently-cased keys are 400 at every depth, and one
// answer lists every invalid field: unknown, mistyped, repeated and invalid values together.
func TestEveryInvalidFieldAtEveryDepthIsListedAtOnce(t *testing.T) {
	e := newEnv(t)
	acc := e.createAccount("customer")
	created := e.do(call{function: "create-contact", sub: "op", operator: true, params: map[string]string{"accountId": acc},
		body: str(`{"email":"grace@example.com"}`)})
	p := map[string]string{"accountId": acc, "contactId": created.body["id"].(string)}
	cases := []struct {
		name, function, body string
		fields               []string
	}{
		{"nested unknown field", "update-account", `{"owner":{"isAdmin":true}}`, []string{"owner.isAdmin"}},
		{"nested differently-cased key", "update-account", `{"owner":{"Email":"x@example.com"}}`, []string{"owner.Email"}},
		{"differently-cased key", "create-contact", `{"EMAIL":"a@example.com"}`, []string{"EMAIL", "email"}},
		{"two mistyped names", "create-contact", `{"email":"a@example.com","fristName":"A","lastNmae":"B"}`, []string{"fristName", "lastNmae"}},
		{"unknown and invalid together", "create-contact", `{"email":"not an email","fristName":"A","phone":"call me","emailTypes":["spam"]}`,
			[]string{"fristName", "email", "phone", "emailTypes[0]"}},
		{"wrong types everywhere", "create-contact", `{"email":1,"firstName":true,"emailTypes":[1,"billing"]}`,
			[]string{"email", "firstName", "emailTypes[0]"}},
		{"repeated key", "create-contact", `{"email":"a@example.com","email":"b@example.com"}`, []string{"email"}},
		{"null where a value is required", "create-contact", `{"email":"a@example.com","firstName":null}`, []string{"firstName"}},
		{"create account: nested and top level", "create-account", `{"name":"","typ":"customer","owner":{"firstName":"A","lastname":"B","email":"a@b.example"}}`,
			[]string{"typ", "owner.lastname", "name", "owner.lastName"}},
		{"patch contact", "update-contact", `{"email":42,"phone":"abc","nick":1}`, []string{"email", "nick", "phone"}},
		{"invitation", "create-invitation", `{"email":"a@example.com","permissions":["contacts:read"],"expiresInDay":3}`, []string{"expiresInDay"}},
		{"token", "lookup-invitation", `{"Token":"x"}`, []string{"Token"}},
		{"body not an object", "create-contact", `["a@example.com"]`, []string{"(body)"}},
	}
	before := e.scan()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := e.do(call{function: tc.function, sub: "op", operator: true, params: p, body: str(tc.body)})
			if a.status != 400 || a.body["code"] != "validation_failed" {
				t.Fatalf("%d %s", a.status, a.raw)
			}
			got := fieldsOf(a)
			if !sameFields(got, tc.fields) {
				t.Errorf("fields %q, want %q (%s)", got, tc.fields, a.raw)
			}
		})
	}
	if e.scan() != before {
		t.Fatal("invalid requests wrote items")
	}
	// A batch row's problems are the row's, named within the row.
	a := e.do(call{function: "batch-create-contacts", sub: "op", operator: true, params: p,
		body: str(`{"items":[{"email":"ok@example.com"},{"email":"a@example.com","Email":"b@example.com","nick":1}]}`)})
	if a.status != 200 {
		t.Fatalf("batch: %d %s", a.status, a.raw)
	}
	rows := a.body["results"].([]any)
	row := rows[1].(map[string]any)
	if row["status"] != float64(400) {
		t.Fatalf("batch row with unknown keys: %v", row)
	}
	if got := fieldsOf(answer{body: row["error"].(map[string]any)}); !sameFields(got, []string{"Email", "nick"}) {
		t.Errorf("batch row fields %q", got)
	}
}

func sameFields(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	for _, w := range want {
		found := false
		for _, g := range got {
			found = found || g == w
		}
		if !found {
			return false
		}
	}
	return true
}

// ownerToken derives the link of the account's pending owner invitation to email.
func (e *relEnv) ownerToken(acc, email string) string {
	e.t.Helper()
	for _, raw := range testenv.Items(e.t, e.db, e.name) {
		var it map[string]any
		_ = attributevalue.UnmarshalMap(raw, &it)
		if it["entity"] == "invitation" && it["kind"] == "owner" && it["status"] == "pending" && it["email"] == email && it["accountId"] == acc {
			return e.signer.Token(acc, it["id"].(string), it["nonce"].(string))
		}
	}
	e.t.Fatalf("no pending owner invitation to %s", email)
	return ""
}

// becomeOwner accepts acc's owner invitation as login sub whose verified email is login.
func (e *relEnv) becomeOwner(acc, sub, login string) {
	e.t.Helper()
	a := e.do(call{function: "accept-invitation", sub: sub, claims: map[string]string{"email": login},
		body: str(fmt.Sprintf(`{"token":%q}`, e.ownerToken(acc, "ada@acme.example")))})
	if a.status != 201 || a.body["role"] != "owner" {
		e.t.Fatalf("accept the owner invitation: %d %s", a.status, a.raw)
	}
}

func (e *relEnv) setOwnerEmail(sub, acc, email string) answer {
	e.t.Helper()
	return e.do(call{function: "update-account", sub: sub, operator: sub == "op", params: map[string]string{"accountId": acc},
		body: str(fmt.Sprintf(`{"owner":{"email":%q}}`, email))})
}

func (e *relEnv) invite(acc, email string) answer {
	e.t.Helper()
	return e.do(call{function: "create-invitation", sub: "op", operator: true, params: map[string]string{"accountId": acc},
		body: str(fmt.Sprintf(`{"email":%q,"permissions":[]}`, email))})
}

// Finding 6: the owner may make its own login email the owner email (R4 forbids other users
// only), and its login email stays guarded when the owner email moves away from it.
func TestOwnerEmailGuardsFollowTheOwnersLogin(t *testing.T) {
	t.Run("owner email set to the owner's login email", func(t *testing.T) {
		e := newRelEnv(t)
		acc := e.createAccount("customer")
		e.becomeOwner(acc, "bob", "bob@corp.example")
		if a := e.setOwnerEmail("bob", acc, "BOB@corp.example"); a.status != 200 {
			t.Fatalf("owner email := the owner's login email: %d %s", a.status, a.raw)
		}
		if a := e.invite(acc, "bob@corp.example"); a.status != 409 || a.body["code"] != "email_belongs_to_user" {
			t.Fatalf("invite the owner email: %d %s", a.status, a.raw)
		}
		if a := e.setOwnerEmail("bob", acc, "billing@acme.example"); a.status != 200 {
			t.Fatalf("owner email moved on: %d %s", a.status, a.raw)
		}
		if a := e.invite(acc, "bob@corp.example"); a.status != 409 || a.body["code"] != "email_belongs_to_user" {
			t.Fatalf("invite the owner's login email after the owner email moved on: %d %s", a.status, a.raw)
		}
		if a := e.invite(acc, "ada@acme.example"); a.status != 201 {
			t.Fatalf("invite the first owner email, free again: %d %s", a.status, a.raw)
		}
	})
	t.Run("owner email moved away from the owner's login email", func(t *testing.T) {
		e := newRelEnv(t)
		acc := e.createAccount("customer")
		e.becomeOwner(acc, "ada", "ada@acme.example")
		if a := e.setOwnerEmail("ada", acc, "ops@acme.example"); a.status != 200 {
			t.Fatalf("change the owner email: %d %s", a.status, a.raw)
		}
		if a := e.invite(acc, "ada@acme.example"); a.status != 409 || a.body["code"] != "email_belongs_to_user" {
			t.Fatalf("invite the owner's login email: %d %s", a.status, a.raw)
		}
		// Another user cannot take the owner's login email by accepting with it either.
		if a := e.invite(acc, "someone@acme.example"); a.status != 201 {
			t.Fatalf("invite: %d %s", a.status, a.raw)
		}
	})
}

// Finding 7: an operator corrects a mistyped owner email while the owner invitation is pending;
// the invitation is re-issued to the corrected address and the old link stops working.
func TestCorrectedOwnerEmailReissuesTheOwnerInvitation(t *testing.T) {
	e := newRelEnv(t)
	body := `{"name":"Acme","owner":{"firstName":"Ada","lastName":"L","email":"ada@acme.exmaple"}}`
	created := e.do(call{function: "create-account", sub: "op", operator: true, body: &body})
	if created.status != 201 {
		t.Fatalf("create: %d %s", created.status, created.raw)
	}
	acc := created.body["id"].(string)
	typo := e.ownerToken(acc, "ada@acme.exmaple")
	if a := e.setOwnerEmail("op", acc, "ada@acme.example"); a.status != 200 {
		t.Fatalf("correct the owner email: %d %s", a.status, a.raw)
	}
	list := e.do(call{function: "list-invitations", sub: "op", operator: true, params: map[string]string{"accountId": acc}, query: map[string]string{"status": "pending"}})
	items, _ := list.body["items"].([]any)
	if list.status != 200 || len(items) != 1 || items[0].(map[string]any)["email"] != "ada@acme.example" || items[0].(map[string]any)["kind"] != "owner" {
		t.Fatalf("pending invitations after the correction: %d %s", list.status, list.raw)
	}
	if a := e.do(call{function: "accept-invitation", sub: "mallory", body: str(fmt.Sprintf(`{"token":%q}`, typo))}); a.status != 410 {
		t.Fatalf("the link to the mistyped address: %d %s", a.status, a.raw)
	}
	e.becomeOwner(acc, "ada", "ada@acme.example")
}

// Finding 7: whoever holds an owner invitation's link sees the account, not the operator who
// created it; a member's invitation still names the member.
func TestLookupShowsTheAccountNotTheOperator(t *testing.T) {
	e := newRelEnv(t)
	acc := e.createAccount("customer")
	a := e.do(call{function: "lookup-invitation", sub: "anyone", body: str(fmt.Sprintf(`{"token":%q}`, e.ownerToken(acc, "ada@acme.example")))})
	if a.status != 200 || a.body["accountName"] != "Acme" {
		t.Fatalf("look-up: %d %s", a.status, a.raw)
	}
	if _, shown := a.body["invitedBy"]; shown || strings.Contains(a.raw, "op@example.com") || strings.Contains(a.raw, `"op"`) {
		t.Fatalf("the look-up shows the operator: %s", a.raw)
	}
	e.becomeOwner(acc, "ada", "ada@acme.example")
	inv := e.do(call{function: "create-invitation", sub: "ada", params: map[string]string{"accountId": acc}, body: str(`{"email":"bo@acme.example","permissions":[]}`)})
	if inv.status != 201 {
		t.Fatalf("invite: %d %s", inv.status, inv.raw)
	}
	for _, raw := range testenv.Items(e.t, e.db, e.name) {
		var it map[string]any
		_ = attributevalue.UnmarshalMap(raw, &it)
		if it["entity"] == "invitation" && it["id"] == inv.body["id"] {
			tok := e.signer.Token(acc, it["id"].(string), it["nonce"].(string))
			a := e.do(call{function: "lookup-invitation", sub: "anyone", body: str(fmt.Sprintf(`{"token":%q}`, tok))})
			by, _ := a.body["invitedBy"].(map[string]any)
			if a.status != 200 || by["sub"] != "ada" {
				t.Fatalf("look-up of the owner's invitation: %d %s", a.status, a.raw)
			}
		}
	}
}

// Finding 7: an account GET /me/accounts cannot read is an error (logged, 500), not a membership
// left out without a word.
func TestMyAccountsDoesNotSkipSilently(t *testing.T) {
	e := newRelEnv(t)
	good := e.createAccount("customer")
	bad := e.createAccount("customer")
	e.member(good, "kim", "user")
	e.member(bad, "kim", "user")
	if a := e.do(call{function: "list-my-accounts", sub: "kim"}); a.status != 200 || len(a.body["items"].([]any)) != 2 {
		t.Fatalf("my accounts: %d %s", a.status, a.raw)
	}
	k := table.Account(bad)
	key, _ := attributevalue.MarshalMap(k)
	if _, err := e.db.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{TableName: aws.String(e.name), Key: key,
		UpdateExpression: aws.String("SET version = :v"), ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberS{Value: "not a number"}}}); err != nil {
		t.Fatal(err)
	}
	if a := e.do(call{function: "list-my-accounts", sub: "kim"}); a.status != 500 {
		t.Fatalf("my accounts with one unreadable: %d %s", a.status, a.raw)
	}
}

// Finding 7: the Idempotency-Key limit is 255 characters, not bytes.
func TestIdempotencyKeyLengthIsInCharacters(t *testing.T) {
	e := newEnv(t)
	acc := e.createAccount("customer")
	p := map[string]string{"accountId": acc}
	if a := e.do(call{function: "create-contact", sub: "op", operator: true, params: p, body: str(`{"email":"a@example.com"}`),
		headers: map[string]string{"Idempotency-Key": strings.Repeat("é", 255)}}); a.status != 201 {
		t.Fatalf("a key of 255 two-byte characters: %d %s", a.status, a.raw)
	}
	if a := e.do(call{function: "create-contact", sub: "op", operator: true, params: p, body: str(`{"email":"b@example.com"}`),
		headers: map[string]string{"Idempotency-Key": strings.Repeat("é", 256)}}); a.status != 400 {
		t.Fatalf("a key of 256 characters: %d %s", a.status, a.raw)
	}
}

// concurrently runs n copies of c at once and returns their answers.
func (e *env) concurrently(n int, c call) []answer {
	out := make([]answer, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out[i] = e.do(c)
		}()
	}
	close(start)
	wg.Wait()
	return out
}

// Finding 3: one key, one execution, one answer — under concurrency, for a batch (not one
// transaction), a single create and accept (each a read, then a transaction).
func TestOneIdempotencyKeyOneExecutionUnderConcurrency(t *testing.T) {
	e := newRelEnv(t)
	acc := e.createAccount("customer")
	p := map[string]string{"accountId": acc}
	batch := call{function: "batch-create-contacts", sub: "op", operator: true, params: p,
		headers: map[string]string{"Idempotency-Key": "save-and-new-1"},
		body:    str(`{"items":[{"email":"r1@example.com"},{"email":"r2@example.com"},{"email":"r3@example.com"}]}`)}
	answers := e.concurrently(6, batch)
	for i, a := range answers {
		if a.status != 200 || a.raw != answers[0].raw {
			t.Errorf("batch %d: %d %s, first %d %s", i, a.status, a.raw, answers[0].status, answers[0].raw)
		}
	}
	list := e.do(call{function: "list-contacts", sub: "op", operator: true, params: p})
	if n := len(list.body["items"].([]any)); n != 3 {
		t.Errorf("%d contacts after six concurrent batches with one key, want 3", n)
	}

	// A single create: its rights are read before its transaction, which writes the record first
	// (a repeat that passed the read fails on the record and gets the first answer).
	single := call{function: "create-contact", sub: "op", operator: true, params: p,
		headers: map[string]string{"Idempotency-Key": "create-1"}, body: str(`{"email":"r4@example.com","emailTypes":["billing"]}`)}
	creates := e.concurrently(6, single)
	for i, a := range creates {
		if a.status != 201 || a.raw != creates[0].raw {
			t.Errorf("create %d: %d %s, first %d %s", i, a.status, a.raw, creates[0].status, creates[0].raw)
		}
	}
	list = e.do(call{function: "list-contacts", sub: "op", operator: true, params: p})
	if n := len(list.body["items"].([]any)); n != 4 {
		t.Errorf("%d contacts after six concurrent creates with one key, want 4", n)
	}

	e.becomeOwner(acc, "ada", "ada@acme.example")
	inv := e.invite(acc, "joiner@acme.example")
	var token string
	for _, raw := range testenv.Items(e.t, e.db, e.name) {
		var it map[string]any
		_ = attributevalue.UnmarshalMap(raw, &it)
		if it["entity"] == "invitation" && it["id"] == inv.body["id"] {
			token = e.signer.Token(acc, it["id"].(string), it["nonce"].(string))
		}
	}
	accepts := e.concurrently(6, call{function: "accept-invitation", sub: "joiner", headers: map[string]string{"Idempotency-Key": "join-1"},
		body: str(fmt.Sprintf(`{"token":%q}`, token))})
	for i, a := range accepts {
		if a.status != 201 || a.raw != accepts[0].raw {
			t.Errorf("accept %d: %d %s, first %d %s", i, a.status, a.raw, accepts[0].status, accepts[0].raw)
		}
	}
}

// Finding 3: the right is checked before the record is read: a member removed since its batch
// cannot replay the batch's answer.
func TestRemovedMemberCannotReplay(t *testing.T) {
	e := newRelEnv(t)
	acc := e.createAccount("customer")
	e.member(acc, "writer", "user", "contacts:write")
	p := map[string]string{"accountId": acc}
	c := call{function: "batch-create-contacts", sub: "writer", params: p, headers: map[string]string{"Idempotency-Key": "b-1"},
		body: str(`{"items":[{"email":"r1@example.com"}]}`)}
	if a := e.do(c); a.status != 200 {
		t.Fatalf("batch: %d %s", a.status, a.raw)
	}
	if a := e.do(call{function: "remove-user", sub: "op", operator: true, params: map[string]string{"accountId": acc, "userId": "writer"}}); a.status != 204 {
		t.Fatalf("remove: %d %s", a.status, a.raw)
	}
	if a := e.do(c); a.status != 404 || a.headers["Idempotent-Replayed"] != "" {
		t.Fatalf("replay by a removed member: %d %v %s", a.status, a.headers, a.raw)
	}
	// Likewise for a single-transaction create.
	e.member(acc, "writer2", "user", "contacts:write")
	c2 := call{function: "create-contact", sub: "writer2", params: p, headers: map[string]string{"Idempotency-Key": "c-1"}, body: str(`{"email":"r9@example.com"}`)}
	if a := e.do(c2); a.status != 201 {
		t.Fatalf("create: %d %s", a.status, a.raw)
	}
	e.do(call{function: "remove-user", sub: "op", operator: true, params: map[string]string{"accountId": acc, "userId": "writer2"}})
	if a := e.do(c2); a.status != 404 {
		t.Fatalf("create replayed by a removed member: %d %s", a.status, a.raw)
	}
}

// failingRecords fails the PutItem that records a batch's answer (the claim's replacement).
type failingRecords struct {
	store.DB
}

func (f failingRecords) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if s, ok := in.Item["status"].(*types.AttributeValueMemberN); ok && s.Value != "0" {
		return nil, errors.New("injected: the record write failed")
	}
	return f.DB.PutItem(ctx, in, o...)
}

// Finding 3: a failed write of the answer's record is reported (500), not swallowed; the key
// stays claimed, so a repeat does not run the batch a second time.
func TestFailedRecordWriteIsNotSwallowed(t *testing.T) {
	db, name := testenv.DB(t)
	cfg := testConfig(t, name)
	rec := &recorder{DB: failingRecords{db}, actions: map[string]bool{}}
	e := &env{t: t, api: handlers.New(cfg, rec), calls: rec}
	acc := e.createAccount("customer")
	c := call{function: "batch-create-contacts", sub: "op", operator: true, params: map[string]string{"accountId": acc},
		headers: map[string]string{"Idempotency-Key": "b-1"}, body: str(`{"items":[{"email":"r1@example.com"}]}`)}
	store.ClaimWait = 200 * time.Millisecond
	defer func() { store.ClaimWait = 10 * time.Second }()
	if a := e.do(c); a.status != 500 {
		t.Fatalf("batch whose record write failed: %d %s", a.status, a.raw)
	}
	if a := e.do(c); a.status != 409 {
		t.Fatalf("its repeat: %d %s", a.status, a.raw)
	}
}

// welcomeOf returns the welcome invitation of contact as stored.
func (e *relEnv) welcomeOf(contact string) map[string]any {
	e.t.Helper()
	for _, raw := range testenv.Items(e.t, e.db, e.name) {
		var it map[string]any
		_ = attributevalue.UnmarshalMap(raw, &it)
		if it["entity"] == "invitation" && it["kind"] == "welcome" && it["contactId"] == contact {
			return it
		}
	}
	e.t.Fatalf("no welcome invitation for %s", contact)
	return nil
}

// Finding 4 (R7, R22): a welcome invitation created by a member who is not the owner grants no
// permission the member does not hold; the owner's and operators' grant the stage's.
func TestWelcomeInvitationsGrantNoMoreThanTheirCreatorHolds(t *testing.T) {
	e := newRelEnv(t)
	acc := e.createAccount("customer")
	site := e.mainSite(acc)
	e.becomeOwner(acc, "ada", "ada@acme.example")
	e.member(acc, "siter", "user", "sites:write") // relates contacts, cannot read them
	mine := e.newContact(acc, "mine@attacker.example")
	if a := e.put("siter", acc, site, mine, `{"roles":["Technical"]}`); a.status != 201 {
		t.Fatalf("relate as a sites:write member: %d %s", a.status, a.raw)
	}
	if perms := e.welcomeOf(mine)["permissions"]; fmt.Sprint(perms) != "[]" {
		t.Fatalf("welcome invitation of a sites:write member grants %v", perms)
	}
	accepted := e.do(call{function: "accept-invitation", sub: "second-login", body: str(fmt.Sprintf(`{"token":%q}`, e.welcomeToken(acc, mine)))})
	if accepted.status != 201 || fmt.Sprint(accepted.body["permissions"]) != "[]" || accepted.body["admin"] != false {
		t.Fatalf("the second login: %d %s", accepted.status, accepted.raw)
	}
	if a := e.do(call{function: "list-contacts", sub: "second-login", params: map[string]string{"accountId": acc}}); a.status != 403 {
		t.Fatalf("the second login reads contacts: %d %s", a.status, a.raw)
	}
	theirs := e.newContact(acc, "grace@acme.example")
	if a := e.put("ada", acc, site, theirs, `{"roles":["Technical"]}`); a.status != 201 {
		t.Fatalf("relate as the owner: %d %s", a.status, a.raw)
	}
	if perms := e.welcomeOf(theirs)["permissions"]; fmt.Sprint(perms) != "[contacts:read]" {
		t.Fatalf("welcome invitation of the owner grants %v", perms)
	}
}
