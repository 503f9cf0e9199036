package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"rollcall/infra/local"
	"rollcall/shared/apperr"
	"rollcall/shared/catalog"
	"rollcall/shared/domain"
	"rollcall/shared/httpapi"
	"rollcall/shared/routes"
	"rollcall/shared/store"
)

const regenerate = "run go run ./infra/cmd/apidoc"

// root is the module's directory.
func root(t *testing.T) string {
	t.Helper()
	dir, err := local.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// generated returns the documents the generator writes for routes.All.
func generated(t *testing.T) (openAPI, markdown []byte) {
	t.Helper()
	openAPI, markdown, err := generate(root(t), routes.All)
	if err != nil {
		t.Fatalf("the generator fails: %v", err)
	}
	return openAPI, markdown
}

// TestDocsUpToDate regenerates the documents into a temporary directory and compares them with
// the committed docs/openapi.json and docs/api.md.
func TestDocsUpToDate(t *testing.T) {
	dir := t.TempDir()
	if err := write(root(t), dir, routes.All); err != nil {
		t.Fatalf("the generator fails: %v", err)
	}
	for _, name := range []string{openAPIFile, markdownFile} {
		want, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(root(t), "docs", name))
		if err != nil {
			t.Errorf("docs/%s cannot be read (%v): %s", name, err, regenerate)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("docs/%s differs from what the generator writes (%s): %s", name, firstDiff(got, want), regenerate)
		}
	}
}

// firstDiff describes the first line where the committed and the generated text differ.
func firstDiff(committed, generated []byte) string {
	a, b := strings.Split(string(committed), "\n"), strings.Split(string(generated), "\n")
	for i := range max(len(a), len(b)) {
		var x, y string
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			return fmt.Sprintf("line %d is %.120q, the generator writes %.120q", i+1, x, y)
		}
	}
	return "they differ"
}

// TestEveryRouteOnce checks that the OpenAPI document and api.md hold every route of the route
// table exactly once, and no other operation.
func TestEveryRouteOnce(t *testing.T) {
	openAPI, markdown := generated(t)
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
			Who         string `json:"x-rollcall-who"`
			Permission  string `json:"x-rollcall-permission"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]routes.Route{}
	for _, r := range routes.All {
		want[r.Method+" "+r.Path] = r
	}
	seen := map[string]int{}
	for path, item := range doc.Paths {
		for method, o := range item {
			key := strings.ToUpper(method) + " " + path
			seen[key]++
			r, ok := want[key]
			if !ok {
				t.Errorf("the document has %s (%s), which is not in routes.All", key, o.OperationID)
				continue
			}
			if o.OperationID != r.Function {
				t.Errorf("%s: operationId %q, want the route's function %q", key, o.OperationID, r.Function)
			}
			if o.Who != whoKey(r.Who) || o.Permission != r.Permission {
				t.Errorf("%s: who %q/%q, want %q/%q", key, o.Who, o.Permission, whoKey(r.Who), r.Permission)
			}
		}
	}
	ids := map[string]int{}
	for _, r := range routes.All {
		if seen[r.Key()] != 1 {
			t.Errorf("%s is in the document %d times, want once", r.Key(), seen[r.Key()])
		}
		ids[r.Function]++
		md := string(markdown)
		if n := strings.Count(md, fmt.Sprintf("`%s %s` · operationId `%s`", r.Method, r.Path, r.Function)); n != 1 {
			t.Errorf("api.md describes %s %d times, want once", r.Key(), n)
		}
		if n := strings.Count(md, fmt.Sprintf(`<a id="%s"></a>`, opAnchor(r.Function))); n != 1 {
			t.Errorf("api.md has the anchor of %s %d times, want once", r.Function, n)
		}
	}
	for id, n := range ids {
		if n != 1 {
			t.Errorf("operationId %q is used %d times", id, n)
		}
	}
	if n := strings.Count(string(markdown), "· operationId `"); n != len(routes.All) {
		t.Errorf("api.md describes %d operations, routes.All has %d", n, len(routes.All))
	}
}

// TestOpenAPIValid checks the top-level fields and validates the document with kin-openapi as
// OpenAPI 3.1, every example included.
func TestOpenAPIValid(t *testing.T) {
	openAPI, _ := generated(t)
	if !json.Valid(openAPI) {
		t.Fatal("openapi.json is not valid JSON")
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(openAPI, &top); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"openapi", "info", "paths", "components", "security", "servers", "tags"} {
		if _, ok := top[f]; !ok {
			t.Errorf("openapi.json has no %q", f)
		}
	}
	var info struct{ Title, Version string }
	_ = json.Unmarshal(top["info"], &info)
	if string(top["openapi"]) != `"3.1.0"` || info.Title == "" || info.Version == "" {
		t.Errorf("openapi %s, info %+v: want 3.1.0 with a title and a version", top["openapi"], info)
	}
	doc := loadDoc(t, openAPI)
	if !doc.IsOpenAPI31OrLater() {
		t.Error("kin-openapi does not read the document as OpenAPI 3.1")
	}
	if err := doc.Validate(context.Background(), openapi3.EnableExamplesValidation()); err != nil {
		t.Fatalf("the OpenAPI document is not valid: %v", err)
	}
	for path, item := range doc.Paths.Map() {
		for method, o := range item.Operations() {
			if o.Security == nil && len(doc.Security) == 0 {
				t.Errorf("%s %s has no security", method, path)
			}
			for status, resp := range o.Responses.Map() {
				code, _ := strconv.Atoi(status)
				if code >= 400 && resp.Value.Content.Get("application/problem+json") == nil {
					t.Errorf("%s %s: %s is not a problem+json answer", method, path, status)
				}
			}
		}
	}
}

// loadDoc reads the OpenAPI document with kin-openapi, resolving its references.
func loadDoc(t *testing.T, openAPI []byte) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(openAPI)
	if err != nil {
		t.Fatalf("kin-openapi cannot load the document: %v", err)
	}
	return doc
}

// TestSchemasAcceptRealValues validates values made by the domain's own constructors, as the
// API writes them, against the schemas derived from their types; and request bodies against the
// request schemas, which refuse unknown fields as the decoder does.
func TestSchemasAcceptRealValues(t *testing.T) {
	openAPI, _ := generated(t)
	doc := loadDoc(t, openAPI)
	log := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil))) // ProblemBody logs the internal error
	defer slog.SetDefault(log)
	now := time.Date(2026, 1, 31, 9, 30, 0, 0, time.UTC)
	cat := catalog.Default()
	by := domain.Actor{Sub: "op-1", Email: "op@example.com", Operator: true}

	acc, err := domain.NewAccount("acc_01j0000000000000000000000a", domain.CreateAccountInput{
		Name: "Acme", Owner: domain.OwnerInput{
			FirstName: domain.Optional[string]{Set: true, Value: "Ada"},
			LastName:  domain.Optional[string]{Set: true, Value: "Lovelace"},
			Email:     domain.Optional[string]{Set: true, Value: "ada@example.com"},
		}}, cat, now)
	if err != nil {
		t.Fatal(err)
	}
	c, err := domain.NewContact("con_01j0000000000000000000000c", acc.ID, domain.CreateContactInput{Email: "bob@example.com", FirstName: "Bob"}, cat, now)
	if err != nil {
		t.Fatal(err)
	}
	c.Relationships = domain.SiteRoles{"site_01j0000000000000000000000s": {"Primary"}}.Relationships()
	inv, err := domain.NewUserInvitation("inv_01j0000000000000000000000i", acc.ID, domain.CreateInvitationInput{Email: "cy@example.com", Permissions: []string{"contacts:read"}}, cat, by, "nonce", now)
	if err != nil {
		t.Fatal(err)
	}
	inv.Delivery = &domain.Delivery{Status: "sent", MessageID: "m-1", At: now}
	site := domain.Site{ID: "site_01j0000000000000000000000s", AccountID: acc.ID, Name: domain.MainSiteName(acc), Main: true}
	user := domain.User{ID: "sub-1", AccountID: acc.ID, Email: "cy@example.com", Role: domain.RoleUser, Permissions: []string{}, JoinedAt: now}
	rel := domain.Relationship{SiteID: site.ID, ContactID: c.ID, Roles: []string{"Primary"}}
	conflict := apperr.Conflict(apperr.CodeContactEmailTaken, "taken").With("contactId", c.ID)
	for _, tc := range []struct {
		schema string
		value  any
	}{
		{"Account", acc},
		{"AccountPage", store.Page[domain.Account]{Items: []domain.Account{acc}, Next: "abc"}},
		{"Contact", c},
		{"ContactPage", store.Page[domain.Contact]{Items: []domain.Contact{c}}},
		{"Invitation", inv},
		{"Site", site},
		{"User", user},
		{"Relationship", rel},
		{"RelationshipPage", store.Page[domain.Relationship]{Items: []domain.Relationship{rel}}},
		{"Catalog", cat},
		{"InvitationView", domain.InvitationView{AccountName: acc.Name, InvitedBy: &domain.Actor{Sub: "sub-ada", Email: "ada@acme.example"}, InvitedEmail: inv.Email, Kind: inv.Kind, Permissions: inv.Permissions, ExpiresAt: inv.ExpiresAt, Status: inv.Status}},
		{"MyAccountPage", store.Page[store.MyAccount]{Items: []store.MyAccount{{Account: domain.AccountSummary{ID: acc.ID, Name: acc.Name, Type: acc.Type}, Role: domain.RoleOwner, Permissions: []string{}}}}},
		{"AuditEntryPage", store.Page[domain.AuditEntry]{Items: []domain.AuditEntry{{ID: "aud_1", AccountID: acc.ID, At: now, Actor: by, Operation: "contact.create", Targets: map[string]string{"contactId": c.ID}, Changes: map[string]any{"email": c.Email}}}}},
		{problemName, httpapi.ProblemBody(conflict)},
		{problemName, httpapi.ProblemBody(apperr.InvalidField("email", "is required"))},
		{problemName, httpapi.ProblemBody(errors.New("boom"))},
		{"ContactBatchResults", map[string]any{"results": []any{
			map[string]any{"status": 201, "item": c},
			map[string]any{"status": 409, "error": httpapi.ProblemBody(conflict)},
		}}},
	} {
		checkSchema(t, doc, tc.schema, tc.value, true)
	}

	for _, tc := range []struct {
		schema, body string
		valid        bool
	}{
		{"CreateContactInput", `{"email":"a@example.com","firstName":"A","emailTypes":["billing"]}`, true},
		{"CreateContactInput", `{"email":"a@example.com","nickname":"A"}`, false},
		{"CreateContactInput", `{"firstName":"A"}`, false},
		{"UpdateContactInput", `{"phone":null,"emailTypes":null}`, true},
		{"UpdateContactInput", `{"email":null}`, false},
		{"CreateAccountInput", `{"name":"Acme","owner":{"firstName":"A","lastName":"B","email":"a@example.com"}}`, true},
		{"CreateAccountInput", `{"name":"Acme","owner":{"firstName":"A","lastName":"B"}}`, false},
		{"UpdateAccountInput", `{"owner":{"phone":null},"legacyId":null}`, true},
		{"RelationshipInput", `{"roles":[]}`, false},
		{"RelationshipBatch", `{"items":[{"contactId":"con_1","roles":["Primary"]}]}`, true},
		{"RelationshipBatch", `{"items":[]}`, false},
		{"CreateInvitationInput", `{"email":"a@example.com","permissions":[],"expiresInDays":31}`, false},
	} {
		var v any
		if err := json.Unmarshal([]byte(tc.body), &v); err != nil {
			t.Fatal(err)
		}
		checkSchema(t, doc, tc.schema, v, tc.valid)
	}
}

// checkSchema validates value, as JSON, against component schema name.
func checkSchema(t *testing.T, doc *openapi3.T, name string, value any, valid bool) {
	t.Helper()
	ref := doc.Components.Schemas[name]
	if ref == nil || ref.Value == nil {
		t.Errorf("no schema %s", name)
		return
	}
	b, err := json.Marshal(value)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	err = ref.Value.VisitJSON(v, openapi3.EnableJSONSchema2020())
	switch {
	case valid && err != nil:
		t.Errorf("%s refuses %s: %v", name, b, err)
	case !valid && err == nil:
		t.Errorf("%s accepts %s, which the API refuses", name, b)
	}
}

// TestUnmappedRouteFails checks that the generator stops, naming the function, for a route
// without an entry in ops, and for an entry without a route.
func TestUnmappedRouteFails(t *testing.T) {
	extra := append(slices.Clone(routes.All), routes.Route{Method: "GET", Path: "/accounts/{accountId}/widgets", Function: "list-widgets", Who: routes.Member})
	_, _, err := generate(root(t), extra)
	if err == nil || !strings.Contains(err.Error(), `(function "list-widgets") has no entry in ops`) {
		t.Errorf("a route without a mapping: got %v", err)
	}
	_, _, err = generate(root(t), routes.All[1:])
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("ops[%q] has no route", routes.All[0].Function)) {
		t.Errorf("a mapping without a route: got %v", err)
	}
}

// TestRedoclyLint lints the committed docs/openapi.json with Redocly's CLI (npm @redocly/cli,
// pinned in infra/package.json; configuration infra/redocly.yaml), offline: telemetry and the
// update check are off, and the document refers to nothing outside itself.
func TestRedoclyLint(t *testing.T) {
	dir := root(t)
	bin := filepath.Join(dir, "infra", "node_modules", ".bin", "redocly")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("redocly is not installed (%v): run `npm ci --prefix infra` (make test does it)", err)
	}
	cmd := exec.Command(bin, "lint", "--config", filepath.Join(dir, "infra", "redocly.yaml"), "--format", "stylish",
		filepath.Join(dir, "docs", "openapi.json"))
	cmd.Env = append(os.Environ(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true", "NO_COLOR=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("redocly lint docs/openapi.json: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "is valid") || strings.Contains(string(out), "You have") {
		t.Fatalf("redocly lint did not find the document valid without warnings:\n%s", out)
	}
}
