package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"rollcall/shared/handlers"
	"rollcall/shared/invitetoken"
	"rollcall/shared/routes"
	"rollcall/shared/table"
	"rollcall/shared/testenv"
)

// relEnv is an env whose API can check invitation tokens and whose table the test can read and
// seed directly.
type relEnv struct {
	*env
	db     *dynamodb.Client
	name   string
	signer *invitetoken.Signer
}

func newRelEnv(t *testing.T) *relEnv {
	t.Helper()
	db, name := testenv.DB(t)
	cfg := testConfig(t, name)
	signer := testSigner(t)
	rec := &recorder{DB: db, actions: map[string]bool{}}
	e := &env{t: t, api: handlers.New(cfg, rec).UseSigner(signer), calls: rec, scan: func() int { return len(testenv.Items(t, db, name)) }}
	return &relEnv{env: e, db: db, name: name, signer: signer}
}

func (e *relEnv) mainSite(acc string) string {
	e.t.Helper()
	a := e.do(call{function: "list-sites", sub: "op", operator: true, params: map[string]string{"accountId": acc}})
	if a.status != 200 {
		e.t.Fatalf("list sites: %d %s", a.status, a.raw)
	}
	return a.body["items"].([]any)[0].(map[string]any)["id"].(string)
}

func (e *relEnv) newContact(acc, email string) string {
	e.t.Helper()
	a := e.do(call{function: "create-contact", sub: "op", operator: true, params: map[string]string{"accountId": acc},
		body: str(fmt.Sprintf(`{"email":%q,"firstName":"F","lastName":"L"}`, email))})
	if a.status != 201 {
		e.t.Fatalf("create contact: %d %s", a.status, a.raw)
	}
	return a.body["id"].(string)
}

// put is PUT /sites/{site}/contacts/{contact} by caller sub (an operator when sub is "op").
func (e *relEnv) put(sub, acc, site, contact, body string) answer {
	e.t.Helper()
	return e.do(call{function: "put-relationship", sub: sub, operator: sub == "op",
		params: map[string]string{"accountId": acc, "siteId": site, "contactId": contact}, body: &body})
}

// item reads one item of the table as plain values (nil when absent).
func (e *relEnv) item(k table.Key) map[string]any {
	e.t.Helper()
	key, _ := attributevalue.MarshalMap(k)
	out, err := e.db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(e.name), Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		e.t.Fatal(err)
	}
	if len(out.Item) == 0 {
		return nil
	}
	var m map[string]any
	if err := attributevalue.UnmarshalMap(out.Item, &m); err != nil {
		e.t.Fatal(err)
	}
	return m
}

// member seeds a membership of sub, as accepting an invitation writes it.
func (e *relEnv) member(acc, sub, role string, perms ...string) {
	e.t.Helper()
	if perms == nil {
		perms = []string{}
	}
	k := table.User(acc, sub)
	gpk, gsk := table.UserGSI1(acc, sub)
	m, err := attributevalue.MarshalMap(map[string]any{"PK": k.PK, "SK": k.SK, "GSI1PK": gpk, "GSI1SK": gsk, "entity": "user",
		"id": sub, "accountId": acc, "email": sub + "@example.com", "role": role, "permissions": perms, "admin": false,
		"joinedAt": time.Now().UTC().Format(time.RFC3339)})
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(e.name), Item: m}); err != nil {
		e.t.Fatal(err)
	}
}

// welcomeToken derives the link token of contact's welcome invitation, as the email function does.
func (e *relEnv) welcomeToken(acc, contact string) string {
	e.t.Helper()
	for _, raw := range testenv.Items(e.t, e.db, e.name) {
		var it map[string]any
		_ = attributevalue.UnmarshalMap(raw, &it)
		if it["entity"] == "invitation" && it["kind"] == "welcome" && it["contactId"] == contact {
			return e.signer.Token(acc, it["id"].(string), it["nonce"].(string))
		}
	}
	e.t.Fatalf("no welcome invitation for %s", contact)
	return ""
}

func TestRelationshipRoutesCreateChangeShowListAndRemove(t *testing.T) {
	e := newRelEnv(t)
	acc := e.createAccount("customer")
	site := e.mainSite(acc)
	con := e.newContact(acc, "grace@example.com")
	p := map[string]string{"accountId": acc, "siteId": site, "contactId": con}

	created := e.put("op", acc, site, con, `{"roles":["Technical","Primary"]}`)
	if created.status != 201 || fmt.Sprint(created.body["roles"]) != "[Primary Technical]" || created.body["siteId"] != site || created.body["contactId"] != con {
		t.Fatalf("create: %d %s", created.status, created.raw)
	}
	if again := e.put("op", acc, site, con, `{"roles":["Primary","Technical"]}`); again.status != 200 {
		t.Fatalf("same roles: %d %s", again.status, again.raw)
	}
	changed := e.put("op", acc, site, con, `{"roles":["Secondary"]}`)
	if changed.status != 200 || fmt.Sprint(changed.body["roles"]) != "[Secondary]" {
		t.Fatalf("change: %d %s", changed.status, changed.raw)
	}
	got := e.do(call{function: "get-contact", sub: "op", operator: true, params: p})
	rels, _ := json.Marshal(got.body["relationships"])
	if got.status != 200 || string(rels) != fmt.Sprintf(`[{"roles":["Secondary"],"siteId":%q}]`, site) || got.headers["ETag"] != `"3"` {
		t.Fatalf("get contact: %d %v %s", got.status, got.headers, got.raw)
	}
	list := e.do(call{function: "list-site-contacts", sub: "op", operator: true, params: p})
	items, _ := list.body["items"].([]any)
	if list.status != 200 || len(items) != 1 || items[0].(map[string]any)["contactId"] != con {
		t.Fatalf("list: %d %s", list.status, list.raw)
	}
	if del := e.do(call{function: "delete-relationship", sub: "op", operator: true, params: p}); del.status != 204 {
		t.Fatalf("delete: %d %s", del.status, del.raw)
	}
	if del := e.do(call{function: "delete-relationship", sub: "op", operator: true, params: p}); del.status != 404 {
		t.Fatalf("delete again: %d %s", del.status, del.raw)
	}
	// The first relationship made a welcome invitation with the stage's permissions.
	invs := e.do(call{function: "list-invitations", sub: "op", operator: true, params: p})
	var kinds []string
	for _, it := range invs.body["items"].([]any) {
		inv := it.(map[string]any)
		kinds = append(kinds, inv["kind"].(string))
		if inv["kind"] == "welcome" && (inv["email"] != "grace@example.com" || fmt.Sprint(inv["permissions"]) != "[contacts:read]" || inv["contactId"] != con) {
			t.Fatalf("welcome invitation: %v", inv)
		}
	}
	if fmt.Sprint(kinds) != "[owner welcome]" {
		t.Fatalf("invitations: %v", kinds)
	}
}

func TestInvalidRelationshipRequestsAre400Or404AndWriteNothing(t *testing.T) {
	e := newRelEnv(t)
	acc := e.createAccount("customer")
	site := e.mainSite(acc)
	con := e.newContact(acc, "c@example.com")
	before := e.scan()
	cases := []struct {
		name, site, contact, body string
		status                    int
		field                     string
	}{
		{"empty role list", site, con, `{"roles":[]}`, 400, "roles"},
		{"no roles", site, con, `{}`, 400, "roles"},
		{"null roles", site, con, `{"roles":null}`, 400, "roles"},
		{"unknown role", site, con, `{"roles":["Primary","Boss"]}`, 400, "roles[1]"},
		{"duplicate role", site, con, `{"roles":["Billing","Billing"]}`, 400, "roles[1]"},
		{"roles not a list", site, con, `{"roles":"Primary"}`, 400, "roles"},
		{"unknown field", site, con, `{"roles":["Primary"],"since":"2020"}`, 400, "since"},
		{"no body", site, con, ``, 400, ""},
		{"unknown contact", site, "con_01kawz8t6f3n3c1g5m0s2y8r4e", `{"roles":["Primary"]}`, 404, ""},
		{"unknown site", "site_01kawz8t6f3n3c1g5m0s2y8r4f", con, `{"roles":["Primary"]}`, 404, ""},
		{"malformed contact id", site, "bob", `{"roles":["Primary"]}`, 404, ""},
		{"malformed site id", "main", con, `{"roles":["Primary"]}`, 404, ""},
	}
	for _, tc := range cases {
		a := e.put("op", acc, tc.site, tc.contact, tc.body)
		if a.status != tc.status {
			t.Errorf("%s: %d %s", tc.name, a.status, a.raw)
			continue
		}
		if tc.status == 400 {
			errs, _ := a.body["errors"].([]any)
			if len(errs) == 0 || errs[0].(map[string]any)["field"] != tc.field {
				t.Errorf("%s: field errors %v, want %q", tc.name, errs, tc.field)
			}
		}
	}
	if d := e.do(call{function: "delete-relationship", sub: "op", operator: true, params: map[string]string{"accountId": acc, "siteId": site, "contactId": con}}); d.status != 404 {
		t.Errorf("delete of no relationship: %d %s", d.status, d.raw)
	}
	for _, b := range []string{`{"items":[]}`, `{"items":[{"contactId":"` + con + `","roles":["Primary"]}],"x":1}`} {
		if a := e.do(call{function: "batch-put-relationships", sub: "op", operator: true, params: map[string]string{"accountId": acc, "siteId": site}, body: &b}); a.status != 400 {
			t.Errorf("batch %s: %d %s", b, a.status, a.raw)
		}
	}
	if a := e.do(call{function: "list-site-contacts", sub: "op", operator: true, params: map[string]string{"accountId": acc, "siteId": "site_01kawz8t6f3n3c1g5m0s2y8r4f"}}); a.status != 404 {
		t.Errorf("list of an unknown site: %d %s", a.status, a.raw)
	}
	if after := e.scan(); after != before {
		t.Fatalf("refused requests wrote %d items", after-before)
	}
}

func TestRelationshipBatchAppliesRowsInOrderEachOnItsOwn(t *testing.T) {
	e := newRelEnv(t)
	acc := e.createAccount("customer")
	site := e.mainSite(acc)
	x, y := e.newContact(acc, "x@example.com"), e.newContact(acc, "y@example.com")
	rows := []string{
		fmt.Sprintf(`{"contactId":%q,"roles":["Primary"]}`, x),
		fmt.Sprintf(`{"contactId":%q,"roles":["Primary","Billing"]}`, y), // taken by x
		fmt.Sprintf(`{"contactId":%q,"roles":["Secondary"]}`, x),         // x gives it up...
		fmt.Sprintf(`{"contactId":%q,"roles":["Primary","Billing"]}`, y), // ...and y takes it
		fmt.Sprintf(`{"contactId":%q,"roles":[]}`, y),
		`{"contactId":"con_01kawz8t6f3n3c1g5m0s2y8r4e","roles":["Renewal"]}`,
		`{"contactId":"nobody","roles":["Renewal"]}`,
		`{"roles":["Renewal"],"colour":"red"}`,
	}
	body := `{"items":[` + strings.Join(rows, ",") + `]}`
	p := map[string]string{"accountId": acc, "siteId": site}
	a := e.do(call{function: "batch-put-relationships", sub: "op", operator: true, params: p, body: &body, headers: map[string]string{"Idempotency-Key": "rel-1"}})
	if a.status != 200 {
		t.Fatalf("batch: %d %s", a.status, a.raw)
	}
	var statuses []any
	results := a.body["results"].([]any)
	for _, r := range results {
		statuses = append(statuses, r.(map[string]any)["status"])
	}
	if fmt.Sprint(statuses) != "[201 409 200 201 400 404 400 400]" {
		t.Fatalf("row statuses %v: %s", statuses, a.raw)
	}
	if taken := results[1].(map[string]any)["error"].(map[string]any); taken["code"] != "role_taken" || taken["contactId"] != x {
		t.Fatalf("row 2: %v", taken)
	}
	replay := e.do(call{function: "batch-put-relationships", sub: "op", operator: true, params: p, body: &body, headers: map[string]string{"Idempotency-Key": "rel-1"}})
	if replay.raw != a.raw || replay.headers["Idempotent-Replayed"] != "true" {
		t.Fatalf("replay: %s", replay.raw)
	}
	if g := e.item(table.RoleGuard(acc, site, "Primary")); g["contactId"] != y {
		t.Fatalf("Primary's guard: %v", g)
	}
	// The batch needs sites:write on the account, and the site.
	e.member(acc, "reader", "user", routes.ContactsRead)
	if r := e.do(call{function: "batch-put-relationships", sub: "reader", params: p, body: &body}); r.status != 403 {
		t.Fatalf("reader: %d %s", r.status, r.raw)
	}
	if r := e.do(call{function: "batch-put-relationships", sub: "op", operator: true, body: &body,
		params: map[string]string{"accountId": acc, "siteId": "site_01kawz8t6f3n3c1g5m0s2y8r4f"}}); r.status != 404 {
		t.Fatalf("unknown site: %d %s", r.status, r.raw)
	}
}

func TestPartnerOwnerRelatesContactsButCannotCreateThem(t *testing.T) {
	e := newRelEnv(t)
	acc := e.createAccount("partner")
	site := e.mainSite(acc)
	e.member(acc, "powner", "owner")
	con := e.newContact(acc, "partner-contact@example.com") // by the operator
	if a := e.do(call{function: "create-contact", sub: "powner", params: map[string]string{"accountId": acc}}); a.status != 403 || a.body["code"] != "support_case_required" {
		t.Fatalf("partner owner creates a contact: %d %s", a.status, a.raw)
	}
	if a := e.put("powner", acc, site, con, `{"roles":["Primary"]}`); a.status != 201 {
		t.Fatalf("partner owner relates: %d %s", a.status, a.raw)
	}
	if a := e.do(call{function: "delete-relationship", sub: "powner", params: map[string]string{"accountId": acc, "siteId": site, "contactId": con}}); a.status != 204 {
		t.Fatalf("partner owner removes: %d %s", a.status, a.raw)
	}
}

func TestAdminIsGrantedByOperatorsToEligibleUsersAndLostWithTheLastRole(t *testing.T) {
	e := newRelEnv(t)
	acc := e.createAccount("customer")
	site := e.mainSite(acc)
	con, other := e.newContact(acc, "linus@example.com"), e.newContact(acc, "other@example.com")
	if a := e.put("op", acc, site, con, `{"roles":["Technical"]}`); a.status != 201 {
		t.Fatalf("relate: %d %s", a.status, a.raw)
	}
	token := e.welcomeToken(acc, con)
	accepted := e.do(call{function: "accept-invitation", sub: "linus", body: str(fmt.Sprintf(`{"token":%q}`, token))})
	if accepted.status != 201 || accepted.body["contactId"] != con {
		t.Fatalf("accept welcome: %d %s", accepted.status, accepted.raw)
	}
	admin := map[string]string{"accountId": acc, "userId": "linus"}
	// Technical is not admin-eligible.
	if a := e.do(call{function: "grant-admin", sub: "op", operator: true, params: admin}); a.status != 409 || a.body["code"] != "not_admin_eligible" {
		t.Fatalf("grant to a Technical contact: %d %s", a.status, a.raw)
	}
	e.member(acc, "owner", "owner")
	for _, who := range []string{"owner", "stranger"} {
		for _, fn := range []string{"grant-admin", "revoke-admin"} {
			if a := e.do(call{function: fn, sub: who, params: admin}); (who == "owner" && a.status != 403) || (who == "stranger" && a.status != 404) {
				t.Errorf("%s by %s: %d %s", fn, who, a.status, a.raw)
			}
		}
	}
	if a := e.put("owner", acc, site, con, `{"roles":["Primary","Technical"]}`); a.status != 200 {
		t.Fatalf("give Primary: %d %s", a.status, a.raw)
	}
	granted := e.do(call{function: "grant-admin", sub: "op", operator: true, params: admin})
	if granted.status != 200 || granted.body["admin"] != true || e.item(table.User(acc, "linus"))["admin"] != true {
		t.Fatalf("grant: %d %s", granted.status, granted.raw)
	}
	if a := e.put("linus", acc, site, other, `{"roles":["Billing"]}`); a.status != 201 {
		t.Fatalf("an admin relates a contact: %d %s", a.status, a.raw)
	}
	// The admin gives up Primary: the flag goes in that same request.
	if a := e.put("linus", acc, site, con, `{"roles":["Technical"]}`); a.status != 200 {
		t.Fatalf("the admin drops Primary: %d %s", a.status, a.raw)
	}
	if m := e.item(table.User(acc, "linus")); m["admin"] != false {
		t.Fatalf("membership after the last eligible role: %v", m)
	}
	if a := e.put("linus", acc, site, other, `{"roles":["Renewal"]}`); a.status != 403 {
		t.Fatalf("a former admin writes: %d %s", a.status, a.raw)
	}
	// Granted again, then revoked by an operator.
	e.put("op", acc, site, con, `{"roles":["Secondary"]}`)
	if a := e.do(call{function: "grant-admin", sub: "op", operator: true, params: admin}); a.status != 200 {
		t.Fatalf("grant again: %d %s", a.status, a.raw)
	}
	revoked := e.do(call{function: "revoke-admin", sub: "op", operator: true, params: admin})
	if revoked.status != 200 || revoked.body["admin"] != false || e.item(table.User(acc, "linus"))["admin"] != false {
		t.Fatalf("revoke: %d %s", revoked.status, revoked.raw)
	}
	if a := e.do(call{function: "grant-admin", sub: "op", operator: true, params: map[string]string{"accountId": acc, "userId": "nobody"}}); a.status != http.StatusNotFound {
		t.Fatalf("grant to a non-member: %d %s", a.status, a.raw)
	}
}
