package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

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
	dir, err := moduleRoot()
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
		{"InvitationView", domain.InvitationView{AccountName: acc.Name, InvitedBy: by, InvitedEmail: inv.Email, Kind: inv.Kind, Permissions: inv.Permissions, ExpiresAt: inv.ExpiresAt, Status: inv.Status}},
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

// handlerFacts is what a handler method's source shows of its operation.
type handlerFacts struct {
	statuses []int // success statuses written with a constant
	dynamic  bool  // some status is computed
	etag     bool
	ifMatch  bool
	idem     bool
	decodes  bool
	bodyType string // the named type decoded into directly, if any
	query    []string
	answers  []reflect.Type // Go types of the bodies answered, where the source shows them
}

// TestMappingMatchesHandlers reads shared/handlers and checks the table ops against what each
// route's handler does: its success statuses, ETag, If-Match, Idempotency-Key, body, query
// parameters, and the Go type of the answers it takes from the store.
func TestMappingMatchesHandlers(t *testing.T) {
	dir := filepath.Join(root(t), "shared", "handlers")
	fset := token.NewFileSet()
	methods := map[string]*ast.FuncDecl{}
	var opsMap *ast.CompositeLit
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Recv == nil || fd.Body == nil {
				continue
			}
			methods[fd.Name.Name] = fd
			if fd.Name.Name == "Handlers" {
				ast.Inspect(fd.Body, func(n ast.Node) bool {
					if cl, ok := n.(*ast.CompositeLit); ok && opsMap == nil {
						if _, isMap := cl.Type.(*ast.MapType); isMap {
							opsMap = cl
						}
					}
					return true
				})
			}
		}
	}
	if opsMap == nil {
		t.Fatal("no map of operations in handlers.(*API).Handlers")
	}
	byFunction := map[string]string{}
	for _, el := range opsMap.Elts {
		kv := el.(*ast.KeyValueExpr)
		key, _ := strconv.Unquote(kv.Key.(*ast.BasicLit).Value)
		if sel, ok := kv.Value.(*ast.SelectorExpr); ok {
			byFunction[key] = sel.Sel.Name
		}
	}
	for _, r := range routes.All {
		name, ok := byFunction[r.Function]
		if !ok || methods[name] == nil {
			t.Errorf("%s: no handler method for function %q", r.Key(), r.Function)
			continue
		}
		f := facts(methods[name])
		o := ops[r.Function]
		var documented []int
		etag := false
		for _, a := range o.Answers {
			documented = append(documented, a.Status)
			etag = etag || a.ETag
		}
		for _, s := range f.statuses {
			if !slices.Contains(documented, s) {
				t.Errorf("%s: the handler answers %d, the document says %v", r.Function, s, documented)
			}
		}
		if !f.dynamic && len(f.statuses) != len(documented) {
			t.Errorf("%s: the handler answers %v, the document says %v", r.Function, f.statuses, documented)
		}
		check := func(what string, handler, doc bool) {
			if handler != doc {
				t.Errorf("%s: the handler's %s is %v, the document says %v", r.Function, what, handler, doc)
			}
		}
		check("ETag", f.etag, etag)
		check("If-Match", f.ifMatch, o.IfMatch)
		check("Idempotency-Key", f.idem, o.Idempotent)
		check("body", f.decodes, o.Body != nil)
		if f.bodyType != "" && (o.Body == nil || o.Body.Go == nil || o.Body.Go.Name() != f.bodyType) {
			t.Errorf("%s: the handler decodes %s, the document says %+v", r.Function, f.bodyType, o.Body)
		}
		for _, at := range f.answers {
			if !slices.ContainsFunc(o.Answers, func(a answer) bool { return a.Body != nil && a.Body.Go == at }) {
				t.Errorf("%s: the handler answers a %v, the document says %v", r.Function, at, answerTypes(o.Answers))
			}
		}
		var documentedQuery []string
		for _, q := range o.Query {
			documentedQuery = append(documentedQuery, q.Name)
		}
		slices.Sort(documentedQuery)
		if !slices.Equal(f.query, documentedQuery) {
			t.Errorf("%s: the handler reads query %v, the document says %v", r.Function, f.query, documentedQuery)
		}
	}
}

// answerTypes lists the Go types of answers, for messages.
func answerTypes(as []answer) []string {
	var out []string
	for _, a := range as {
		if a.Body != nil && a.Body.Go != nil {
			out = append(out, a.Body.Go.String())
		} else if a.Body != nil {
			out = append(out, a.Body.Name)
		}
	}
	return out
}

// storeResult is the Go type of the first result of store method name, or nil.
func storeResult(name string) reflect.Type {
	m, ok := reflect.TypeFor[*store.Store]().MethodByName(name)
	if !ok || m.Type.NumOut() == 0 {
		return nil
	}
	return m.Type.Out(0)
}

// storeCall returns the store method that expression e calls (a.store.Method(...)), or "".
func storeCall(e ast.Expr) string {
	call, ok := e.(*ast.CallExpr)
	if !ok {
		return ""
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return ""
	}
	if recv, ok := sel.X.(*ast.SelectorExpr); ok && recv.Sel.Name == "store" {
		return sel.Sel.Name
	}
	return ""
}

// facts reads what handler method fd does.
func facts(fd *ast.FuncDecl) handlerFacts {
	var f handlerFacts
	vars := map[string]string{}            // var name → type name
	fromStore := map[string]reflect.Type{} // var name → the store result assigned to it
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		if as, ok := n.(*ast.AssignStmt); ok && len(as.Rhs) == 1 {
			if m := storeCall(as.Rhs[0]); m != "" {
				if id, ok := as.Lhs[0].(*ast.Ident); ok {
					fromStore[id.Name] = storeResult(m)
				}
			}
		}
		switch n := n.(type) {
		case *ast.ValueSpec:
			if sel, ok := n.Type.(*ast.SelectorExpr); ok {
				for _, id := range n.Names {
					vars[id.Name] = sel.Sel.Name
				}
			}
		case *ast.CallExpr:
			switch fun := n.Fun.(type) {
			case *ast.SelectorExpr:
				switch fun.Sel.Name {
				case "JSON":
					if len(n.Args) > 0 {
						if st, ok := n.Args[0].(*ast.SelectorExpr); ok && strings.HasPrefix(st.Sel.Name, "Status") {
							f.statuses = append(f.statuses, statusOf(st.Sel.Name))
						} else {
							f.dynamic = true
						}
					}
					if len(n.Args) > 1 {
						f.answers = append(f.answers, bodyType(n.Args[1], fromStore)...)
					}
				case "NoContent":
					f.statuses = append(f.statuses, 204)
				case "WithETag":
					f.etag = true
				case "IfMatch":
					f.ifMatch = true
				case "Decode":
					f.decodes = true
					if u, ok := n.Args[0].(*ast.UnaryExpr); ok {
						if id, ok := u.X.(*ast.Ident); ok {
							f.bodyType = vars[id.Name]
						}
					}
				case "Query":
					if lit, ok := n.Args[0].(*ast.BasicLit); ok {
						q, _ := strconv.Unquote(lit.Value)
						f.query = append(f.query, q)
					}
				}
			case *ast.Ident:
				switch fun.Name {
				case "page":
					f.query = append(f.query, "limit", "cursor")
				case "idempotent":
					f.idem = true
				case "readToken", "decodeBatch":
					f.decodes = true
				case "decode": // decode(r, &in, validate)
					f.decodes = true
					if u, ok := n.Args[1].(*ast.UnaryExpr); ok {
						if id, ok := u.X.(*ast.Ident); ok {
							f.bodyType = vars[id.Name]
						}
					}
				}
			}
		}
		return true
	})
	slices.Sort(f.query)
	f.query = slices.Compact(f.query)
	return f
}

// bodyType is the Go type of answer body e when e is a store result (v) or a field of one
// (v.Field); nothing otherwise.
func bodyType(e ast.Expr, fromStore map[string]reflect.Type) []reflect.Type {
	switch e := e.(type) {
	case *ast.Ident:
		if t := fromStore[e.Name]; t != nil {
			return []reflect.Type{t}
		}
	case *ast.SelectorExpr:
		if id, ok := e.X.(*ast.Ident); ok {
			if t := fromStore[id.Name]; t != nil && t.Kind() == reflect.Struct {
				if fld, ok := t.FieldByName(e.Sel.Name); ok {
					return []reflect.Type{fld.Type}
				}
			}
		}
	}
	return nil
}

// statusOf is the code of net/http constant name.
func statusOf(name string) int {
	codes := map[string]int{"StatusOK": 200, "StatusCreated": 201, "StatusAccepted": 202, "StatusNoContent": 204}
	if c, ok := codes[name]; ok {
		return c
	}
	return -1
}
