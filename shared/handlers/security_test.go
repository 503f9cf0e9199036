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
