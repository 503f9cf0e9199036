// Package bench is `make bench` (infra/cmd/bench): every route's latency through its handler
// (called in-process with an API Gateway v2 event), through the local gateway (real HTTP to
// infra/local's gateway served in-process on a free port, over the same handlers) and of the raw
// DynamoDB calls doing the same work, side by side in one run; and the scaling cases of issue 12
// (list-contacts at 100 / 1,000 / 10,000 contacts, /me/accounts at 1 / 10 / 100 memberships, 50
// writers in one account vs in 50 accounts, the 100-row batches, delete-contact of a contact with
// 150 relationships, an operator's ownership transfer). Report.Markdown writes docs/bench.md.
//
// It needs a DynamoDB Local of its own (the command starts one); it creates its own table there.
// The figures are measurements, never assertions: the package's test runs the same code at tiny
// sizes so that it cannot rot, and checks only that every row was measured.
package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/oklog/ulid/v2"

	"rollcall/infra/local"
	"rollcall/shared/config"
	"rollcall/shared/handlers"
	"rollcall/shared/httpapi"
	"rollcall/shared/invitetoken"
	"rollcall/shared/reqlog"
	"rollcall/shared/routes"
	"rollcall/shared/store"
	"rollcall/shared/table"
)

// env is one bench run's world: a fresh table in the DynamoDB Local at Options.Endpoint, the
// handlers over it (with a tap under them that records each request's DynamoDB calls), and the
// local gateway over the same handlers on a free port.
type env struct {
	opts    Options
	db      *dynamodb.Client // the raw client: the handlers' calls go through tap to it
	table   string
	api     *handlers.API
	hs      map[string]httpapi.Handler
	jwt     *local.Signer
	invites *invitetoken.Signer
	gwURL   string
	client  *http.Client
	offset  atomic.Int64 // added to the handlers' clock (resend-invitation needs 60 s between sends)
	mu      sync.Mutex
	tokens  map[string]string
	claims  map[string]map[string]string // by token
	seq     atomic.Int64
	stop    func()
}

// newEnv creates the table and serves the gateway. The logs of the handlers and the gateway are
// the local stack's (reqlog.Logger, JSON, INFO), written to io.Discard: their formatting is
// measured, a terminal's speed is not.
func newEnv(ctx context.Context, o Options) (*env, error) {
	if o.Endpoint == "" {
		return nil, errors.New("bench: no DynamoDB Local endpoint (run `make bench`, which starts one)")
	}
	db := local.DynamoDBClient(o.Endpoint)
	if _, err := db.ListTables(ctx, &dynamodb.ListTablesInput{Limit: aws.Int32(1)}); err != nil {
		return nil, fmt.Errorf("bench: DynamoDB Local does not answer at %s (%v): run `make bench`, which starts one "+
			"(needs Java 17+ and `npm ci` in infra/)", o.Endpoint, err)
	}
	name := "bench_" + strings.ToLower(ulid.Make().String())
	if err := table.Create(ctx, db, name); err != nil {
		return nil, err
	}
	e := &env{opts: o, db: db, table: name, tokens: map[string]string{}, claims: map[string]map[string]string{}}
	cfg, err := config.FromLookup(func(k string) string {
		if k == config.EnvTableName {
			return name
		}
		return ""
	})
	if err != nil {
		return nil, err
	}
	if e.invites, err = invitetoken.NewSigner([]byte("rollcall-bench-invitation-signing-key-0123456789")); err != nil {
		return nil, err
	}
	if e.jwt, err = local.GenerateSigner(); err != nil {
		return nil, err
	}
	log := reqlog.Logger(io.Discard, slog.LevelInfo)
	prev := slog.Default()
	slog.SetDefault(log) // the handlers' request lines (reqlog.Wrap) go to slog.Default
	e.api = handlers.New(cfg, tap{db}).UseSigner(e.invites).UseClock(func() time.Time {
		return time.Now().Add(time.Duration(e.offset.Load()))
	})
	e.hs = e.api.Handlers()
	gw, err := local.NewGateway(e.hs, e.jwt, log)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: gw, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	e.gwURL = "http://" + ln.Addr().String()
	e.client = &http.Client{Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute}}
	e.stop = func() {
		_ = srv.Close()
		slog.SetDefault(prev)
		_, _ = db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	}
	return e, nil
}

// request is one API request: the route's function, the caller, the path parameters, the query
// and the body, and the status it must answer.
type request struct {
	fn       string
	sub      string
	operator bool
	params   map[string]string
	query    url.Values
	body     string
	want     int
}

// target is the request's path and query.
func (r request) target() (routes.Route, string, error) {
	route, ok := routes.ByFunction(r.fn)
	if !ok {
		return route, "", fmt.Errorf("bench: no route %q", r.fn)
	}
	path := route.Path
	for k, v := range r.params {
		path = strings.ReplaceAll(path, "{"+k+"}", url.PathEscape(v))
	}
	if strings.Contains(path, "{") {
		return route, "", fmt.Errorf("bench: %s: a path parameter is missing in %s", r.fn, path)
	}
	if len(r.query) > 0 {
		path += "?" + r.query.Encode()
	}
	return route, path, nil
}

func (e *env) token(sub string, operator bool) (string, error) {
	k := fmt.Sprint(sub, "/", operator)
	e.mu.Lock()
	defer e.mu.Unlock()
	if t, ok := e.tokens[k]; ok {
		return t, nil
	}
	t, err := e.jwt.Mint(sub, sub+"@login.example", operator, 24*time.Hour)
	if err != nil {
		return "", err
	}
	e.tokens[k] = t
	return t, nil
}

// claimsOf returns the claims the gateway's authorizer passes for token, verified once per token
// (the handler path's events are built untimed, but the writers' comparison builds them inside
// its wall time, on the same two cores as DynamoDB Local).
func (e *env) claimsOf(token string) (map[string]string, error) {
	e.mu.Lock()
	c, ok := e.claims[token]
	e.mu.Unlock()
	if ok {
		return maps.Clone(c), nil // each event its own map, as the gateway's
	}
	c, err := e.jwt.Verify(token)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.claims[token] = maps.Clone(c)
	e.mu.Unlock()
	return c, nil
}

func (e *env) httpRequest(ctx context.Context, base string, r request) (*http.Request, error) {
	route, target, err := r.target()
	if err != nil {
		return nil, err
	}
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, route.Method, base+target, body)
	if err != nil {
		return nil, err
	}
	if r.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	tok, err := e.token(r.sub, r.operator)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("User-Agent", "rollcall-bench")
	return req, nil
}

// event is the API Gateway v2 event the local gateway would hand r's function (the gateway's
// own BuildRequest, with the claims its authorizer would pass).
func (e *env) event(r request) (httpapi.Handler, events.APIGatewayV2HTTPRequest, error) {
	hr, err := e.httpRequest(context.Background(), "http://127.0.0.1:3000", r)
	if err != nil {
		return nil, events.APIGatewayV2HTTPRequest{}, err
	}
	hr.RemoteAddr = "127.0.0.1:40000"
	route, params, ok, _ := routes.Match(hr.Method, hr.URL.EscapedPath())
	if !ok {
		return nil, events.APIGatewayV2HTTPRequest{}, fmt.Errorf("bench: %s %s matches no route", hr.Method, hr.URL)
	}
	for k, v := range params {
		params[k], _ = url.PathUnescape(v)
	}
	claims, err := e.claimsOf(strings.TrimPrefix(hr.Header.Get("Authorization"), "Bearer "))
	if err != nil {
		return nil, events.APIGatewayV2HTTPRequest{}, err
	}
	ev := local.BuildRequest(hr, route, params, claims, []byte(r.body), fmt.Sprintf("bench-%d", e.seq.Add(1)), time.Now())
	h := e.hs[route.Function]
	if h == nil {
		return nil, events.APIGatewayV2HTTPRequest{}, fmt.Errorf("bench: no handler for %s", route.Function)
	}
	return h, ev, nil
}

// answer is a response: status and body.
type answer struct {
	status int
	body   []byte
}

func (a answer) json() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(a.body, &m)
	return m
}

func check(r request, a answer) error {
	if a.status != r.want {
		b := a.body
		if len(b) > 300 {
			b = b[:300]
		}
		return fmt.Errorf("bench: %s answered %d, want %d: %s", r.fn, a.status, r.want, b)
	}
	return nil
}

// viaHandler calls r's handler in-process and returns its latency and the DynamoDB calls it made.
func (e *env) viaHandler(ctx context.Context, r request) (time.Duration, []captured, answer, error) {
	h, ev, err := e.event(r)
	if err != nil {
		return 0, nil, answer{}, err
	}
	s := &sink{}
	ctx = context.WithValue(ctx, sinkKey{}, s)
	start := time.Now()
	resp, err := h(ctx, ev)
	took := time.Since(start)
	if err != nil {
		return 0, nil, answer{}, fmt.Errorf("bench: %s: handler error %w", r.fn, err)
	}
	a := answer{status: resp.StatusCode, body: []byte(resp.Body)}
	return took, s.take(), a, check(r, a)
}

// viaGateway sends r over HTTP to the local gateway and returns its latency (to the last byte
// of the body).
func (e *env) viaGateway(ctx context.Context, r request) (time.Duration, answer, error) {
	req, err := e.httpRequest(ctx, e.gwURL, r)
	if err != nil {
		return 0, answer{}, err
	}
	start := time.Now()
	resp, err := e.client.Do(req)
	if err != nil {
		return 0, answer{}, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if err != nil {
		return 0, answer{}, err
	}
	a := answer{status: resp.StatusCode, body: b}
	return took, a, check(r, a)
}

// do makes r through the handler, untimed (set-up steps), and returns the answer.
func (e *env) do(ctx context.Context, r request) (answer, error) {
	_, _, a, err := e.viaHandler(ctx, r)
	return a, err
}

// ---- set-up helpers ----

const operator = "bench-operator"

func opReq(fn string, params map[string]string, body string, want int) request {
	return request{fn: fn, sub: operator, operator: true, params: params, body: body, want: want}
}

func P(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// next returns a number unique in the run (fresh names and emails).
func (e *env) next() int64 { return e.seq.Add(1) }

// createAccount creates an account whose owner (login ownerSub) has accepted, and returns its id.
func (e *env) createAccount(ctx context.Context, name, ownerSub string) (string, error) {
	n := e.next()
	email := fmt.Sprintf("owner%d@bench.example", n)
	a, err := e.do(ctx, opReq("create-account", nil,
		fmt.Sprintf(`{"name":%q,"owner":{"firstName":"Owen","lastName":"N%d","email":%q}}`, name, n, email), 201))
	if err != nil {
		return "", err
	}
	acc, _ := a.json()["id"].(string)
	if err := e.accept(ctx, acc, email, ownerSub); err != nil {
		return "", err
	}
	return acc, nil
}

// invitationToken returns the link token of acc's newest pending invitation to email, as the
// email function derives it.
func (e *env) invitationToken(ctx context.Context, acc, email string) (string, error) {
	prefix := table.Invitation(acc, "").SK
	out, err := e.db.Query(ctx, &dynamodb.QueryInput{
		TableName:              aws.String(e.table),
		KeyConditionExpression: aws.String("PK = :pk AND begins_with(SK, :sk)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: table.AccountPK(acc)},
			":sk": &types.AttributeValueMemberS{Value: prefix},
		},
		ConsistentRead:   aws.Bool(true),
		ScanIndexForward: aws.Bool(false),
	})
	if err != nil {
		return "", err
	}
	for _, raw := range out.Items {
		var it map[string]any
		_ = attributevalue.UnmarshalMap(raw, &it)
		if it["email"] == email && it["status"] == "pending" {
			id, _ := it["id"].(string)
			nonce, _ := it["nonce"].(string)
			return e.invites.Token(acc, id, nonce), nil
		}
	}
	return "", fmt.Errorf("bench: no pending invitation of %s to %s", acc, email)
}

// accept accepts acc's pending invitation to email as login sub.
func (e *env) accept(ctx context.Context, acc, email, sub string) error {
	tok, err := e.invitationToken(ctx, acc, email)
	if err != nil {
		return err
	}
	_, err = e.do(ctx, request{fn: "accept-invitation", sub: sub, body: fmt.Sprintf(`{"token":%q}`, tok), want: 201})
	return err
}

// invite makes sub a user of acc with permissions (invited by ownerSub, accepted).
func (e *env) invite(ctx context.Context, acc, ownerSub, sub string, permissions ...string) error {
	email := fmt.Sprintf("%s.%d@bench.example", sub, e.next())
	perms, _ := json.Marshal(append([]string{}, permissions...))
	if _, err := e.do(ctx, request{fn: "create-invitation", sub: ownerSub, params: P("accountId", acc),
		body: fmt.Sprintf(`{"email":%q,"permissions":%s}`, email, perms), want: 201}); err != nil {
		return err
	}
	return e.accept(ctx, acc, email, sub)
}

// createContact creates a contact as sub and returns its id.
func (e *env) createContact(ctx context.Context, acc, sub string) (string, error) {
	n := e.next()
	a, err := e.do(ctx, request{fn: "create-contact", sub: sub, params: P("accountId", acc),
		body: fmt.Sprintf(`{"email":"c%d@bench.example","firstName":"Cora","lastName":"N%d","emailTypes":["billing"]}`, n, n), want: 201})
	if err != nil {
		return "", err
	}
	id, _ := a.json()["id"].(string)
	return id, nil
}

// createSite creates a site (as the operator) and returns its id.
func (e *env) createSite(ctx context.Context, acc string) (string, error) {
	a, err := e.do(ctx, opReq("create-site", P("accountId", acc), fmt.Sprintf(`{"name":"Site %d"}`, e.next()), 201))
	if err != nil {
		return "", err
	}
	id, _ := a.json()["id"].(string)
	return id, nil
}

// batchCreate creates n contacts with one or more batch-create-contacts requests and returns
// their ids.
func (e *env) batchCreate(ctx context.Context, acc, sub string, n int) ([]string, error) {
	var out []string
	for n > 0 {
		k := min(n, 100)
		a, err := e.do(ctx, request{fn: "batch-create-contacts", sub: sub, params: P("accountId", acc), body: contactRows(e, k), want: 200})
		if err != nil {
			return nil, err
		}
		for _, r := range a.json()["results"].([]any) {
			item, _ := r.(map[string]any)["item"].(map[string]any)
			if item == nil {
				return nil, fmt.Errorf("bench: a batch row failed: %v", r)
			}
			out = append(out, item["id"].(string))
		}
		n -= k
	}
	return out, nil
}

func contactRows(e *env, n int) string {
	rows := make([]string, n)
	for i := range rows {
		k := e.next()
		rows[i] = fmt.Sprintf(`{"email":"row%d@bench.example","firstName":"Row","lastName":"N%d","emailTypes":["billing"]}`, k, k)
	}
	return `{"items":[` + strings.Join(rows, ",") + `]}`
}

func relationshipRows(contacts []string, role string) string {
	rows := make([]string, len(contacts))
	for i, c := range contacts {
		rows[i] = fmt.Sprintf(`{"contactId":%q,"roles":[%q]}`, c, role)
	}
	return `{"items":[` + strings.Join(rows, ",") + `]}`
}

// seedContacts writes n contacts to acc with BatchWriteItem (store.SeedContacts): each has an
// email only and receives billing; the first `marked` also receive marketing and are named
// "Zyzzyva <i>" (what ?q=zyzz and ?emailType=marketing find).
func (e *env) seedContacts(ctx context.Context, acc string, n, marked int) error {
	s := store.New(e.db, e.table, e.api.Config().Catalog, time.Now)
	return s.SeedContacts(ctx, e.db, acc, store.BulkContacts(acc, n, marked, func(i int) string { return fmt.Sprintf("seed%05d.%d@bulk.example", i, e.next()) }))
}

// progress writes a line to Options.Progress.
func (e *env) progress(format string, args ...any) {
	if e.opts.Progress != nil {
		fmt.Fprintf(e.opts.Progress, "bench: "+format+"\n", args...)
	}
}
