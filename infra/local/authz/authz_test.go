package authz_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"rollcall/infra/local/localtest"
	"rollcall/shared/apicheck"
	"rollcall/shared/ids"
	"rollcall/shared/routes"
	"rollcall/shared/table"
)

func TestMain(m *testing.M) { apicheck.Main(m, "infra/local/authz") }

// who is a kind of caller of the matrix.
type who string

const (
	none     who = "no token"
	stranger who = "non-member"
	without  who = "member without the permission"
	with     who = "member with the permission"
	admin    who = "admin (R9)"
	owner    who = "owner"
	operator who = "operator"
	foreign  who = "owner of another account"
)

var callers = []who{none, stranger, without, with, admin, owner, operator, foreign}

// need is who may call a route, as DESIGN §3's table says: "any", "operator", "member", "owner",
// or a permission.
type need string

// roles is DESIGN §3's table, transcribed independently of the route table: the expected answers
// come from here. A route of routes.All without a row fails the test.
var roles = map[string]need{
	"get-catalog":             "any",
	"list-my-accounts":        "any",
	"lookup-invitation":       "any",
	"accept-invitation":       "any",
	"list-accounts":           "operator",
	"create-account":          "operator",
	"get-account":             "member",
	"update-account":          "owner",
	"transfer-ownership":      "owner",
	"list-users":              "owner",
	"get-user":                "owner",
	"update-user":             "owner",
	"remove-user":             "owner",
	"grant-admin":             "operator",
	"revoke-admin":            "operator",
	"list-invitations":        "owner",
	"create-invitation":       "owner",
	"resend-invitation":       "owner",
	"revoke-invitation":       "owner",
	"list-audit":              "audit:read",
	"list-contacts":           "contacts:read",
	"create-contact":          "contacts:write",
	"batch-create-contacts":   "contacts:write",
	"get-contact":             "contacts:read",
	"update-contact":          "contacts:write",
	"delete-contact":          "contacts:write",
	"list-sites":              "contacts:read",
	"create-site":             "operator",
	"list-site-contacts":      "contacts:read",
	"put-relationship":        "sites:write",
	"delete-relationship":     "sites:write",
	"batch-put-relationships": "sites:write",
}

// adminPermissions are what an admin may do whatever its own permissions (R9).
var adminPermissions = []string{"contacts:read", "contacts:write", "sites:write"}

var builtIn = []string{"contacts:read", "contacts:write", "sites:write", "audit:read"}

// Expected answers: a status, or allowed (the caller passes authorisation; the operation's own
// rules decide the answer, never 401, 403 or the account's 404).
const allowed = 0

// expect is the answer caller c gets on route r according to roles.
func expect(r routes.Route, n need, c who) int {
	inAccount := strings.Contains(r.Path, "{accountId}")
	switch {
	case c == none:
		return http.StatusUnauthorized
	case c == operator, n == "any":
		return allowed
	case !inAccount: // operator-only routes outside accounts
		return http.StatusForbidden
	case c == stranger, c == foreign:
		return http.StatusNotFound // no hint that the account exists
	}
	switch n {
	case "operator":
		return http.StatusForbidden
	case "member":
		return allowed
	case "owner":
		if c == owner {
			return allowed
		}
		return http.StatusForbidden
	}
	switch c { // a permission
	case owner, with:
		return allowed
	case admin:
		if slices.Contains(adminPermissions, string(n)) {
			return allowed
		}
	}
	return http.StatusForbidden
}

// fixture is an account with a member of every kind and real ids of every item a path names.
type fixture struct {
	s                              *localtest.Stack
	account, site, contact, invite string
	target                         string // a plain member, the user routes' {userId}
	other                          string // another account, owned by the foreign caller
	tokens                         map[who]string
	inviteToken                    string
}

var (
	seq          atomic.Int64
	otherOnce    sync.Once
	otherAccount string
)

func newFixture(t *testing.T, s *localtest.Stack, r routes.Route) *fixture {
	t.Helper()
	n := seq.Add(1)
	f := &fixture{s: s, tokens: map[who]string{}}
	op := s.OperatorToken(t, "op")
	f.tokens[operator] = op
	create := func(name string) string {
		a := s.Do(t, "POST", "/accounts", op, map[string]any{"name": name,
			"owner": map[string]any{"firstName": "Ada", "lastName": "L", "email": fmt.Sprintf("owner%d@%s.example", n, strings.ToLower(name))}})
		if a.Status != 201 {
			t.Fatalf("create account: %d %s", a.Status, a.Body)
		}
		var acc struct{ ID string }
		a.JSON(t, &acc)
		return acc.ID
	}
	f.account = create("Acme")
	otherOnce.Do(func() { // one other account, owned by the foreign caller, serves every fixture
		otherAccount = create("Globex")
		seed(t, s, otherAccount, "foreign", "owner", []string{}, false)
	})
	f.other = otherAccount
	var sites struct{ Items []struct{ ID string } }
	s.Do(t, "GET", "/accounts/"+f.account+"/sites", op, nil).JSON(t, &sites)
	f.site = sites.Items[0].ID
	c := s.Do(t, "POST", "/accounts/"+f.account+"/contacts", op, map[string]any{"email": fmt.Sprintf("grace%d@acme.example", n), "firstName": "Grace", "lastName": "H"})
	var con struct{ ID string }
	c.JSON(t, &con)
	f.contact = con.ID
	if a := s.Do(t, "PUT", "/accounts/"+f.account+"/sites/"+f.site+"/contacts/"+f.contact, op, map[string]any{"roles": []string{"Technical"}}); a.Status != 201 {
		t.Fatalf("relate: %d %s", a.Status, a.Body)
	}
	inv := s.Do(t, "POST", "/accounts/"+f.account+"/invitations", op, map[string]any{"email": fmt.Sprintf("new%d@acme.example", n), "permissions": []string{}})
	var i struct{ ID string }
	inv.JSON(t, &i)
	f.invite = i.ID
	f.inviteToken = s.InviteToken(t, f.account, f.invite)

	perms := func(p need) []string { // the route's permission, or all but it
		out := []string{}
		for _, b := range builtIn {
			if (b == string(p)) == true {
				out = append(out, b)
			}
		}
		return out
	}
	allBut := func(p need) []string {
		out := []string{}
		for _, b := range builtIn {
			if b != string(p) {
				out = append(out, b)
			}
		}
		return out
	}
	rn := roles[r.Function]
	withPerms := perms(rn)
	if !strings.Contains(string(rn), ":") {
		withPerms = builtIn
	}
	sub := func(k string) string { return fmt.Sprintf("%s-%d", k, n) }
	f.target = sub("target")
	seed(t, s, f.account, sub("without"), "user", allBut(rn), false)
	seed(t, s, f.account, sub("with"), "user", withPerms, false)
	seed(t, s, f.account, sub("admin"), "user", []string{}, true)
	seed(t, s, f.account, sub("owner"), "owner", []string{}, false)
	seed(t, s, f.account, f.target, "user", []string{}, false)
	f.tokens[foreign] = s.Token(t, "foreign", "foreign@people.example")
	for _, c := range []who{without, with, admin, owner} {
		key := map[who]string{without: "without", with: "with", admin: "admin", owner: "owner"}[c]
		f.tokens[c] = s.Token(t, sub(key), sub(key)+"@people.example")
	}
	f.tokens[stranger] = s.Token(t, sub("stranger"), sub("stranger")+"@people.example")
	return f
}

// seed writes a membership as accepting an invitation writes it.
func seed(t *testing.T, s *localtest.Stack, acc, sub, role string, perms []string, isAdmin bool) {
	t.Helper()
	k := table.User(acc, sub)
	gpk, gsk := table.UserGSI1(acc, sub)
	m, err := attributevalue.MarshalMap(map[string]any{"PK": k.PK, "SK": k.SK, "GSI1PK": gpk, "GSI1SK": gsk, "entity": "user",
		"id": sub, "accountId": acc, "email": sub + "@people.example", "role": role, "permissions": perms, "admin": isAdmin,
		"joinedAt": time.Now().UTC().Format(time.RFC3339)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(s.Table), Item: m}); err != nil {
		t.Fatal(err)
	}
}

// request is the route's request in f: its path with f's ids, and a valid body.
func (f *fixture) request(r routes.Route, account string) (path string, body any) {
	path = r.Path
	for k, v := range map[string]string{"accountId": account, "siteId": f.site, "contactId": f.contact, "invitationId": f.invite, "userId": f.target} {
		path = strings.ReplaceAll(path, "{"+k+"}", v)
	}
	switch r.Function {
	case "create-account":
		body = map[string]any{"name": "Initech", "owner": map[string]any{"firstName": "P", "lastName": "G", "email": "peter@initech.example"}}
	case "update-account":
		body = map[string]any{"owner": map[string]any{"phone": "+1 555 0100"}}
	case "transfer-ownership":
		body = map[string]any{"userId": f.target}
	case "update-user":
		body = map[string]any{"permissions": []string{"contacts:read"}}
	case "create-invitation":
		body = map[string]any{"email": "someone.new@acme.example", "permissions": []string{}}
	case "lookup-invitation", "accept-invitation":
		body = map[string]any{"token": f.inviteToken}
	case "create-contact":
		body = map[string]any{"email": "x@acme.example"}
	case "batch-create-contacts":
		body = map[string]any{"items": []any{map[string]any{"email": "y@acme.example"}}}
	case "update-contact":
		body = map[string]any{"phone": "+1 555 0101"}
	case "create-site":
		body = map[string]any{"name": "Second site"}
	case "put-relationship":
		body = map[string]any{"roles": []string{"Technical", "Renewal"}}
	case "batch-put-relationships":
		body = map[string]any{"items": []any{map[string]any{"contactId": f.contact, "roles": []string{"Billing"}}}}
	}
	return path, body
}

// cell is one route × caller answer.
type cell struct {
	route  routes.Route
	caller who
	want   int
	got    int
	body   string
}

func TestAuthorizationMatrix(t *testing.T) {
	for _, r := range routes.All {
		n, ok := roles[r.Function]
		if !ok {
			t.Errorf("route %s (%s) has no row in the roles mapping", r.Key(), r.Function)
			continue
		}
		// The route table agrees with DESIGN §3.
		var table need
		switch r.Who {
		case routes.Anyone:
			table = "any"
		case routes.Operator:
			table = "operator"
		case routes.Member:
			table = "member"
		case routes.Owner:
			table = "owner"
		case routes.Permission:
			table = need(r.Permission)
		}
		if table != n {
			t.Errorf("route %s: the route table says %q, DESIGN §3 says %q", r.Key(), table, n)
		}
	}
	if len(roles) != len(routes.All) {
		t.Errorf("the roles mapping has %d rows for %d routes", len(roles), len(routes.All))
	}

	s := localtest.Start(t)
	var mu sync.Mutex
	var cells []cell
	// One fixture per route; its callers run in the order of callers, so that the allowed writes
	// (owner, operator) come after the refused ones. An allowed caller may find an item an earlier
	// allowed caller removed (404 for the item, 409): the right is checked before the item in
	// every operation, so such an answer still shows the caller passed authorisation.
	t.Run("cells", func(t *testing.T) {
		for _, r := range routes.All {
			t.Run(r.Function, func(t *testing.T) {
				t.Parallel()
				f := newFixture(t, s, r)
				for _, c := range callers {
					t.Run(string(c), func(t *testing.T) {
						want := expect(r, roles[r.Function], c)
						path, body := f.request(r, f.account)
						resp := s.Do(t, r.Method, path, f.tokens[c], body)
						got := resp.Status
						var p struct{ Code, Detail string }
						_ = json.Unmarshal(resp.Body, &p)
						accountHidden := got == 404 && p.Code == "not_found" && p.Detail == "account not found"
						pass := false
						switch want {
						case allowed:
							pass = got < 500 && got != 401 && got != 403 && !accountHidden
						case http.StatusNotFound:
							pass = accountHidden
							if pass && c == stranger {
								// No hint: the same answer as for an account that never existed.
								p2, b2 := f.request(r, ids.New(ids.Account))
								other := s.Do(t, r.Method, p2, f.tokens[c], b2)
								if other.Status != resp.Status || string(other.Body) != string(resp.Body) {
									t.Errorf("a non-member's answer differs from a missing account's: %s / %s", resp.Body, other.Body)
								}
							}
						default:
							pass = got == want
						}
						if !pass {
							t.Errorf("%s by %s: got %d %s, want %s", r.Key(), c, got, resp.Body, label(want))
						}
						mu.Lock()
						cells = append(cells, cell{r, c, want, got, string(resp.Body)})
						mu.Unlock()
					})
				}
			})
		}
	})
	t.Logf("authorisation matrix: %d routes × %d callers = %d cells", len(routes.All), len(callers), len(cells))
	if len(cells) != len(routes.All)*len(callers) {
		t.Errorf("%d cells ran, want %d", len(cells), len(routes.All)*len(callers))
	}
}

func label(want int) string {
	switch want {
	case allowed:
		return "allowed (not 401/403/account 404)"
	case 404:
		return "404 account not found"
	}
	return fmt.Sprint(want)
}

// TestAuthzDocUpToDate checks docs/authz.md against the matrix the roles mapping gives; with
// ROLLCALL_UPDATE_DOCS=1 it writes it.
func TestAuthzDocUpToDate(t *testing.T) {
	var b strings.Builder
	b.WriteString("# Authorisation matrix\n\n")
	b.WriteString("Generated from the roles of DESIGN §2–§3 by `infra/local/authz` (`ROLLCALL_UPDATE_DOCS=1 go test ./infra/local/authz -run TestAuthzDocUpToDate`);\n")
	b.WriteString("the same test runs every cell against the real handlers through the local gateway's JWT check, with\n")
	b.WriteString("ids that exist. **ok**: the caller passes authorisation (the operation's own rules answer);\n")
	b.WriteString("**404**: `account not found`, the same answer as for an account that does not exist.\n\n")
	b.WriteString("| route | who |")
	for _, c := range callers {
		b.WriteString(" " + string(c) + " |")
	}
	b.WriteString("\n| --- | --- |" + strings.Repeat(" :-: |", len(callers)) + "\n")
	for _, r := range routes.All {
		fmt.Fprintf(&b, "| `%s` | %s |", r.Key(), roles[r.Function])
		for _, c := range callers {
			w := expect(r, roles[r.Function], c)
			if w == allowed {
				b.WriteString(" ok |")
			} else {
				fmt.Fprintf(&b, " %d |", w)
			}
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "\n%d routes × %d callers = %d cells.\n", len(routes.All), len(callers), len(routes.All)*len(callers))
	path := filepath.Join("..", "..", "..", "docs", "authz.md")
	if os.Getenv("ROLLCALL_UPDATE_DOCS") == "1" {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	cur, err := os.ReadFile(path)
	if err != nil || string(cur) != b.String() {
		t.Fatalf("docs/authz.md is out of date: run ROLLCALL_UPDATE_DOCS=1 go test ./infra/local/authz -run TestAuthzDocUpToDate (%v)", err)
	}
}
