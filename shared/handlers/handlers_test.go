package handlers_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"rollcall/shared/apicheck"
	"rollcall/shared/config"
	"rollcall/shared/contract"
	"rollcall/shared/handlers"
	"rollcall/shared/invitetoken"
	"rollcall/shared/routes"
	"rollcall/shared/store"
	"rollcall/shared/testenv"
)

// TestMain reports how many answers were validated against docs/openapi.json.
func TestMain(m *testing.M) { apicheck.Main(withGrantsCheck{m}, "shared/handlers") }

// env is one API over a fresh DynamoDB Local table.
type env struct {
	t     *testing.T
	api   *handlers.API
	calls *recorder
	scan  func() int
}

// recorder records the DynamoDB actions an operation makes, so that every handler test also
// checks them against the route table's Actions: the IAM rights the stack grants the function.
type recorder struct {
	store.DB
	mu      sync.Mutex
	actions map[string]bool
}

func (r *recorder) note(a string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.actions[a] = true
}

func (r *recorder) take() map[string]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	a := r.actions
	r.actions = map[string]bool{}
	return a
}

func (r *recorder) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	r.note(routes.GetItem)
	observe(ctx, "dynamodb:GetItem")
	return r.DB.GetItem(ctx, in, o...)
}

func (r *recorder) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	r.note(routes.BatchGetItem)
	observe(ctx, "dynamodb:BatchGetItem")
	return r.DB.BatchGetItem(ctx, in, o...)
}

func (r *recorder) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	r.note(routes.Query)
	if in.IndexName != nil {
		observe(ctx, "dynamodb:Query"+indexMark+*in.IndexName)
	} else {
		observe(ctx, "dynamodb:Query")
	}
	return r.DB.Query(ctx, in, o...)
}

func (r *recorder) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	r.note(routes.PutItem)
	observe(ctx, "dynamodb:PutItem")
	return r.DB.PutItem(ctx, in, o...)
}

func (r *recorder) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	r.note(routes.TransactWriteItems)
	for _, it := range in.TransactItems {
		switch {
		case it.Put != nil:
			r.note(routes.PutItem)
			observe(ctx, "dynamodb:PutItem"+inTransaction)
		case it.Update != nil:
			r.note(routes.UpdateItem)
			observe(ctx, "dynamodb:UpdateItem"+inTransaction)
		case it.Delete != nil:
			r.note(routes.DeleteItem)
			observe(ctx, "dynamodb:DeleteItem"+inTransaction)
		case it.ConditionCheck != nil:
			r.note(routes.ConditionCheckItem)
			observe(ctx, "dynamodb:ConditionCheckItem"+inTransaction)
		}
	}
	return r.DB.TransactWriteItems(ctx, in, o...)
}

// testConfig is the configuration of an API on test table name (the defaults otherwise).
func testConfig(t testing.TB, name string) config.Config {
	t.Helper()
	cfg, err := config.FromLookup(func(k string) string {
		if k == config.EnvTableName {
			return name
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// testSigner is the invitation-token signer of the tests' APIs.
func testSigner(t testing.TB) *invitetoken.Signer {
	t.Helper()
	signer, err := invitetoken.NewSigner([]byte("0123456789abcdef0123456789abcdef-handlers-test"))
	if err != nil {
		t.Fatal(err)
	}
	return signer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	db, name := testenv.DB(t)
	cfg := testConfig(t, name)
	rec := &recorder{DB: db, actions: map[string]bool{}}
	return &env{t: t, api: handlers.New(cfg, rec), calls: rec, scan: func() int { return len(testenv.Items(t, db, name)) }}
}

// sample loads events/http/<function>.json, the API Gateway request the function's tests and
// `make invoke` start from.
func sample(t *testing.T, function string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "events", "http", function+".json"))
	if err != nil {
		t.Fatalf("sample event: %v", err)
	}
	var req events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(b, &req); err != nil {
		t.Fatal(err)
	}
	return req
}

// call is one request: a function's sample event with the caller, path parameters, body and
// headers replaced as given.
type call struct {
	function string
	sub      string
	operator bool
	params   map[string]string
	body     *string
	headers  map[string]string
	query    map[string]string
	claims   map[string]string // claims set over the defaults; "" removes one
}

type answer struct {
	status  int
	headers map[string]string
	body    map[string]any
	raw     string
}

func (e *env) do(c call) answer {
	e.t.Helper()
	req := sample(e.t, c.function)
	claims := req.RequestContext.Authorizer.JWT.Claims
	claims["sub"], claims["email"], claims["email_verified"], claims["cognito:groups"] = c.sub, c.sub+"@example.com", "true", "[]"
	if c.operator {
		claims["cognito:groups"] = "[operators]"
	}
	for k, v := range c.claims {
		claims[k] = v
		if v == "" {
			delete(claims, k)
		}
	}
	if c.sub == "" {
		delete(claims, "sub")
	}
	for k, v := range c.params {
		if !strings.Contains(req.RouteKey, "{"+k+"}") {
			continue
		}
		req.PathParameters[k] = v
	}
	if c.body != nil {
		req.Body = *c.body
	}
	for k, v := range c.headers {
		req.Headers[strings.ToLower(k)] = v
	}
	req.QueryStringParameters = c.query
	e.calls.take()
	h := e.api.Handlers()[c.function]
	if h == nil {
		e.t.Fatalf("no handler for function %q", c.function)
	}
	resp, err := h(withFunction(context.Background(), c.function), req)
	if err != nil {
		e.t.Fatalf("%s: handler error %v", c.function, err)
	}
	route, _ := routes.ByFunction(c.function)
	for action := range e.calls.take() {
		if !slices.Contains(route.Actions, action) {
			e.t.Errorf("%s made %s, which its route's Actions (its IAM rights) do not grant", c.function, action)
		}
	}
	apicheck.Response(e.t, c.function, resp.StatusCode, resp.Headers, []byte(resp.Body))
	a := answer{status: resp.StatusCode, headers: resp.Headers, raw: resp.Body}
	if resp.Body != "" {
		if err := json.Unmarshal([]byte(resp.Body), &a.body); err != nil {
			e.t.Fatalf("%s: body is not a JSON object: %s", c.function, resp.Body)
		}
	}
	if a.status >= 400 && resp.Headers["Content-Type"] != "application/problem+json" {
		e.t.Fatalf("%s: error without problem+json: %v", c.function, resp.Headers)
	}
	return a
}

func str(s string) *string { return &s }

func (e *env) createAccount(typ string) string {
	e.t.Helper()
	body := fmt.Sprintf(`{"name":"Acme","type":%q,"owner":{"firstName":"Ada","lastName":"L","email":"ada@acme.example"}}`, typ)
	a := e.do(call{function: "create-account", sub: "op", operator: true, body: &body})
	if a.status != http.StatusCreated {
		e.t.Fatalf("create account: %d %s", a.status, a.raw)
	}
	return a.body["id"].(string)
}

func TestEveryRouteHasAHandlerAFunctionAndASampleEvent(t *testing.T) {
	hs := handlers.New(config.Config{TableName: "x"}, nil).Handlers()
	seen := map[string]bool{}
	for _, r := range routes.All {
		if seen[r.Function] {
			t.Errorf("function %s serves two routes", r.Function)
		}
		seen[r.Function] = true
		if hs[r.Function] == nil {
			t.Errorf("route %s: no handler for %s", r.Key(), r.Function)
		}
		if _, err := os.Stat(filepath.Join("..", "..", "functions", r.Function, "main.go")); err != nil {
			t.Errorf("route %s: no functions/%s/main.go", r.Key(), r.Function)
		}
		if req := sample(t, r.Function); req.RouteKey != r.Key() {
			t.Errorf("sample event of %s has route key %q", r.Function, req.RouteKey)
		}
	}
	if len(hs) != len(routes.All) {
		t.Errorf("%d handlers for %d routes", len(hs), len(routes.All))
	}
}

func TestCatalogAndUnauthenticatedCalls(t *testing.T) {
	e := newEnv(t)
	a := e.do(call{function: "get-catalog", sub: "anyone"})
	if a.status != 200 || len(a.body["roles"].([]any)) != 5 || len(a.body["emailTypes"].([]any)) != 4 {
		t.Fatalf("catalog: %d %s", a.status, a.raw)
	}
	for _, r := range routes.All {
		if a := e.do(call{function: r.Function}); a.status != 401 || a.body["code"] != "unauthorized" {
			t.Errorf("%s without a subject: %d %s", r.Function, a.status, a.raw)
		}
	}
}

func TestAccountAndContactLifecycleThroughHandlers(t *testing.T) {
	e := newEnv(t)
	acc := e.createAccount("customer")
	p := map[string]string{"accountId": acc}
	got := e.do(call{function: "get-account", sub: "op", operator: true, params: p})
	if got.status != 200 || got.headers["ETag"] != `"1"` || got.body["owner"].(map[string]any)["email"] != "ada@acme.example" {
		t.Fatalf("get account: %d %v %s", got.status, got.headers, got.raw)
	}
	created := e.do(call{function: "create-contact", sub: "op", operator: true, params: p})
	if created.status != 201 || !strings.HasPrefix(created.body["id"].(string), "con_") {
		t.Fatalf("create contact: %d %s", created.status, created.raw)
	}
	p["contactId"] = created.body["id"].(string)
	stale := e.do(call{function: "update-contact", sub: "op", operator: true, params: p, headers: map[string]string{"If-Match": `"9"`}})
	if stale.status != 412 {
		t.Fatalf("stale If-Match: %d %s", stale.status, stale.raw)
	}
	up := e.do(call{function: "update-contact", sub: "op", operator: true, params: p, headers: map[string]string{"If-Match": `"1"`}})
	if up.status != 200 || up.body["lastName"] != "Hopper-Murray" || up.headers["ETag"] != `"2"` {
		t.Fatalf("update contact: %d %s", up.status, up.raw)
	}
	list := e.do(call{function: "list-contacts", sub: "op", operator: true, params: p, query: map[string]string{"q": "hopper"}})
	if list.status != 200 || len(list.body["items"].([]any)) != 1 {
		t.Fatalf("list contacts: %d %s", list.status, list.raw)
	}
	if del := e.do(call{function: "delete-contact", sub: "op", operator: true, params: p}); del.status != 204 {
		t.Fatalf("delete: %d %s", del.status, del.raw)
	}
	if again := e.do(call{function: "get-contact", sub: "op", operator: true, params: p}); again.status != 404 {
		t.Fatalf("get deleted: %d %s", again.status, again.raw)
	}
	audit := e.do(call{function: "list-audit", sub: "op", operator: true, params: p})
	if audit.status != 200 || len(audit.body["items"].([]any)) != 4 {
		t.Fatalf("audit: %d %s", audit.status, audit.raw)
	}
}

func TestBatchCreateGivesOneResultPerRowInOrder(t *testing.T) {
	e := newEnv(t)
	acc := e.createAccount("customer")
	a := e.do(call{function: "batch-create-contacts", sub: "op", operator: true, params: map[string]string{"accountId": acc}})
	if a.status != 200 {
		t.Fatalf("batch: %d %s", a.status, a.raw)
	}
	var statuses []float64
	for _, r := range a.body["results"].([]any) {
		statuses = append(statuses, r.(map[string]any)["status"].(float64))
	}
	if fmt.Sprint(statuses) != "[201 400 409]" {
		t.Fatalf("row statuses %v: %s", statuses, a.raw)
	}
	row2 := a.body["results"].([]any)[1].(map[string]any)["error"].(map[string]any)
	if row2["code"] != "validation_failed" || row2["errors"].([]any)[0].(map[string]any)["field"] != "email" {
		t.Fatalf("row 2 error: %v", row2)
	}
	partner := e.createAccount("partner")
	body := `{"items":[{"email":"p@example.com"}]}`
	if a := e.do(call{function: "batch-create-contacts", sub: "op", operator: true, params: map[string]string{"accountId": partner}, body: &body}); a.status != 200 {
		t.Fatalf("operator batch on a partner account: %d %s", a.status, a.raw)
	}
}

func TestInvalidRequestsAre400WithFieldErrorsAndWriteNothing(t *testing.T) {
	e := newEnv(t)
	acc := e.createAccount("customer")
	p := map[string]string{"accountId": acc}
	rows := make([]string, 101)
	for i := range rows {
		rows[i] = fmt.Sprintf(`{"email":"r%d@example.com"}`, i)
	}
	cases := []struct {
		name, function, body, field string
	}{
		{"unknown field", "create-contact", `{"email":"a@example.com","nickname":"x"}`, "nickname"},
		{"wrong type", "create-contact", `{"email":"a@example.com","emailTypes":"billing"}`, "emailTypes"},
		{"invalid email", "create-contact", `{"email":"not an email"}`, "email"},
		{"display name email", "create-contact", `{"email":"Jane <jane@example.com>"}`, "email"},
		{"unknown email type", "create-contact", `{"email":"a@example.com","emailTypes":["spam"]}`, "emailTypes[0]"},
		{"over 256 KiB", "create-contact", `{"email":"a@example.com","firstName":"` + strings.Repeat("x", 256<<10) + `"}`, ""},
		{"not JSON", "create-contact", `{"email":`, ""},
		{"empty batch", "batch-create-contacts", `{"items":[]}`, "items"},
		{"batch over 100", "batch-create-contacts", `{"items":[` + strings.Join(rows, ",") + `]}`, "items"},
		{"account without owner email", "create-account", `{"name":"X","owner":{"firstName":"A","lastName":"B"}}`, "owner.email"},
		{"account of unknown type", "create-account", `{"name":"X","type":"reseller","owner":{"firstName":"A","lastName":"B","email":"a@b.example"}}`, "type"},
		{"patch with unknown field", "update-account", `{"colour":"red"}`, "colour"},
		{"patch nested wrong type", "update-account", `{"owner":{"email":42}}`, "owner.email"},
		{"patch owner null", "update-account", `{"owner":null}`, "owner"},
		{"fractional number", "create-invitation", `{"email":"a@example.com","permissions":[],"expiresInDays":1.5}`, "expiresInDays"},
		{"transfer to a user id too long", "transfer-ownership", `{"userId":"` + strings.Repeat("u", 300) + `"}`, "userId"},
	}
	before := e.scan()
	for _, tc := range cases {
		a := e.do(call{function: tc.function, sub: "op", operator: true, params: p, body: str(tc.body)})
		if a.status != 400 || a.body["code"] != "validation_failed" || a.body["type"] == "" || a.body["title"] == "" {
			t.Errorf("%s: %d %s", tc.name, a.status, a.raw)
			continue
		}
		errs, _ := a.body["errors"].([]any)
		if len(errs) == 0 || errs[0].(map[string]any)["field"] != tc.field {
			t.Errorf("%s: field errors %v, want field %q", tc.name, errs, tc.field)
		}
	}
	bad := []call{
		{function: "list-contacts", params: p, query: map[string]string{"limit": "0"}},
		{function: "list-contacts", params: p, query: map[string]string{"limit": "101"}},
		{function: "list-contacts", params: p, query: map[string]string{"cursor": "garbage!"}},
		{function: "list-contacts", params: p, query: map[string]string{"emailType": "spam"}},
		// A cursor of an index list without the index's sort key.
		{function: "list-accounts", query: map[string]string{"cursor": base64.RawURLEncoding.EncodeToString([]byte(`{"p":"x","s":"y","gp":"ACCOUNTS"}`))}},
		{function: "update-contact", params: map[string]string{"accountId": acc, "contactId": "con_01kawz8t6f3n3c1g5m0s2y8r4e"}, headers: map[string]string{"If-Match": "yesterday"}},
		{function: "create-contact", params: p, headers: map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}},
	}
	for _, c := range bad {
		c.sub, c.operator = "op", true
		if a := e.do(c); a.status != 400 {
			t.Errorf("%s %v %v: %d %s", c.function, c.query, c.headers, a.status, a.raw)
		}
	}
	if after := e.scan(); after != before {
		t.Fatalf("invalid requests wrote %d items", after-before)
	}
}

func TestIdempotencyKeyReplaysTheFirstAnswer(t *testing.T) {
	e := newEnv(t)
	acc := e.createAccount("customer")
	p := map[string]string{"accountId": acc}
	h := map[string]string{"Idempotency-Key": "create-grace-1"}
	first := e.do(call{function: "create-contact", sub: "op", operator: true, params: p, headers: h})
	before := e.scan()
	again := e.do(call{function: "create-contact", sub: "op", operator: true, params: p, headers: h})
	if first.status != 201 || again.status != 201 || again.raw != first.raw || again.headers["Idempotent-Replayed"] != "true" {
		t.Fatalf("replay: %d %s / %d %s", first.status, first.raw, again.status, again.raw)
	}
	if e.scan() != before {
		t.Fatal("the replay wrote items")
	}
	other := e.do(call{function: "create-contact", sub: "op", operator: true, params: p, headers: h, body: str(`{"email":"other@example.com"}`)})
	if other.status != 422 || other.body["code"] != "idempotency_key_reused" {
		t.Fatalf("same key, other body: %d %s", other.status, other.raw)
	}
	// Keys are per caller: another caller's identical key is a new request.
	mine := e.do(call{function: "create-site", sub: "op2", operator: true, params: p, headers: h})
	if mine.status != 201 {
		t.Fatalf("another caller's key: %d %s", mine.status, mine.raw)
	}
	batch1 := e.do(call{function: "batch-create-contacts", sub: "op", operator: true, params: p, headers: map[string]string{"Idempotency-Key": "b1"}})
	batch2 := e.do(call{function: "batch-create-contacts", sub: "op", operator: true, params: p, headers: map[string]string{"Idempotency-Key": "b1"}})
	if batch1.raw != batch2.raw || batch2.headers["Idempotent-Replayed"] != "true" {
		t.Fatalf("batch replay: %s / %s", batch1.raw, batch2.raw)
	}
}

func TestOperatorOnlyRoutesRefuseOthers(t *testing.T) {
	e := newEnv(t)
	acc := e.createAccount("customer")
	for _, fn := range []string{"create-account", "list-accounts", "create-site"} {
		a := e.do(call{function: fn, sub: "someone", params: map[string]string{"accountId": acc}})
		if a.status != 403 && a.status != 404 {
			t.Errorf("%s by a non-operator: %d %s", fn, a.status, a.raw)
		}
	}
	list := e.do(call{function: "list-accounts", sub: "op", operator: true, query: map[string]string{"prefix": "ac"}})
	if list.status != 200 || len(list.body["items"].([]any)) != 1 {
		t.Fatalf("list accounts: %d %s", list.status, list.raw)
	}
	for _, fn := range []string{"get-account", "list-contacts", "list-sites", "list-audit"} {
		if a := e.do(call{function: fn, sub: "stranger", params: map[string]string{"accountId": acc}}); a.status != 404 {
			t.Errorf("%s by a stranger: %d %s", fn, a.status, a.raw)
		}
	}
	if a := e.do(call{function: "get-account", sub: "op", operator: true, params: map[string]string{"accountId": "acc_nope"}}); a.status != 404 {
		t.Errorf("malformed account id: %d", a.status)
	}
}

// TestEveryEndpointDeclared checks that the endpoints are exactly the route table's functions,
// each with its declaration.
func TestEveryEndpointDeclared(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range handlers.Endpoints() {
		if seen[e.Function] {
			t.Errorf("function %s has two endpoints", e.Function)
		}
		seen[e.Function] = true
		if _, ok := contract.ByFunction(e.Function); !ok {
			t.Errorf("endpoint %s has no route or declaration", e.Function)
		}
	}
	if len(seen) != len(routes.All) {
		t.Errorf("%d endpoints for %d routes", len(seen), len(routes.All))
	}
}
