package handlers_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"rollcall/infra/local"
	"rollcall/shared/dbtrace"
	"rollcall/shared/handlers"
	"rollcall/shared/routes"
	"rollcall/shared/store"
	"rollcall/shared/table"
	"rollcall/shared/testenv"
)

// The round-trip budgets of DESIGN §7: one sequential DynamoDB round trip for reads and
// creates, two for changes that depend on current state. Batches have a stated bound
// (batchDepthBound).
const (
	readBudget   = 1
	changeBudget = 2
)

// budgetOf is the budget of a route's function.
func budgetOf(r routes.Route) int {
	switch {
	case r.Method == "GET", r.Function == "lookup-invitation":
		return readBudget
	case strings.HasPrefix(r.Function, "create-"):
		return readBudget
	default:
		return changeBudget
	}
}

// depthExceptions are the measured cases allowed over their budget, each with its reason; they
// are listed in docs/decisions.md ("Round-trip budgets"). A case listed here that comes within
// budget fails the test, so that the list stays true.
var depthExceptions = map[string]string{
	"create-contact": "rights and partner rule read before the transaction, so that creates share no item (issue 12 item 3)",
	"put-relationship (first, welcome blocked)": "the welcome invitation's guards are keyed by the contact's email, " +
		"which the first read returns: the transaction that would create the invitation fails on them and the change is written again without it",
	"delete-contact (150 relationships)": "a transaction holds at most 100 items: relationships beyond that are removed first, " +
		"each transaction under the contact's version (one after another), so that a delete stopped half-way leaves a consistent contact",
}

// depthCase is one measured request.
type depthCase struct {
	name   string // route function, or function + " (what)" for further cases
	route  routes.Route
	depth  int
	budget int
	calls  []dbtrace.Call
	took   time.Duration
}

// depthEnv is a relEnv whose calls are also recorded with times, for the round-trip depth.
type depthEnv struct {
	*relEnv
	rec   *dbtrace.Recorder
	mu    sync.Mutex
	clock time.Time
	cases []depthCase
}

func newDepthEnv(t *testing.T) *depthEnv {
	t.Helper()
	db, name := testenv.DB(t)
	return newDepthEnvOn(t, db, name)
}

// newDepthEnvOn is a depthEnv on table name of db.
func newDepthEnvOn(t *testing.T, db *dynamodb.Client, name string) *depthEnv {
	t.Helper()
	cfg := testConfig(t, name)
	signer := testSigner(t)
	trace := dbtrace.New(db)
	rec := &recorder{DB: trace, actions: map[string]bool{}}
	d := &depthEnv{rec: trace, clock: time.Now()}
	api := handlers.New(cfg, rec).UseSigner(signer).UseClock(func() time.Time {
		d.mu.Lock()
		defer d.mu.Unlock()
		return d.clock
	})
	e := &env{t: t, api: api, calls: rec, scan: func() int { return len(testenv.Items(t, db, name)) }}
	d.relEnv = &relEnv{env: e, db: db, name: name, signer: signer}
	return d
}

func (d *depthEnv) advance(by time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.clock = d.clock.Add(by)
}

// measure makes request c, checks its status, and records its round-trip depth under name
// (c.function when name is "") against budget (the route's when 0).
func (d *depthEnv) measure(name string, budget int, want int, c call) answer {
	d.t.Helper()
	d.rec.Reset()
	start := time.Now()
	a := d.do(c)
	took := time.Since(start)
	calls := d.rec.Take()
	if a.status != want {
		d.t.Fatalf("%s: status %d, want %d: %s", c.function, a.status, want, a.raw)
	}
	r, _ := routes.ByFunction(c.function)
	if name == "" {
		name = c.function
	}
	if budget == 0 {
		budget = budgetOf(r)
	}
	if budget < 0 {
		// A batch's stated bound holds when no row's transaction lost a race; each retry (a call
		// beyond the batch's minimum of one per row and step) may add one round trip.
		budget = -budget
		minimum := 1 + batchRows*(budget-1)/((batchRows+handlers.BatchConcurrency-1)/handlers.BatchConcurrency)
		budget += max(0, len(calls)-minimum)
	}
	d.cases = append(d.cases, depthCase{name: name, route: r, depth: dbtrace.Depth(calls), budget: budget, calls: calls, took: took})
	return a
}

// invitationToken derives the link token of the newest invitation of acc with email, as the
// email function does.
func (d *depthEnv) invitationToken(acc, email string) string {
	d.t.Helper()
	var best map[string]any
	for _, raw := range testenv.Items(d.t, d.db, d.name) {
		var it map[string]any
		_ = attributevalue.UnmarshalMap(raw, &it)
		if it["entity"] == "invitation" && it["accountId"] == acc && it["email"] == email && it["status"] == "pending" {
			if best == nil || it["id"].(string) > best["id"].(string) {
				best = it
			}
		}
	}
	if best == nil {
		d.t.Fatalf("no pending invitation for %s", email)
	}
	return d.signer.Token(acc, best["id"].(string), best["nonce"].(string))
}

// seedContacts writes n contacts to acc with BatchWriteItem (store.SeedContacts): each has an
// email only and receives billing; the first `marked` also receive marketing and are named
// "Zyzzyva <i>".
func (d *depthEnv) seedContacts(acc string, n, marked int) error {
	s := store.New(d.db, d.name, d.api.Config().Catalog, time.Now)
	return s.SeedContacts(context.Background(), d.db, acc, store.BulkContacts(acc, n, marked, func(i int) string { return fmt.Sprintf("seed%05d@bulk.example", i) }))
}

// TestRoundTripDepthOfEveryRoute measures the sequential DynamoDB round-trip depth of every route
// of the route table through its handler against DynamoDB Local (dbtrace records overlapping
// calls), including filtered lists on a 10,000-contact account, prints each, and fails when one is
// over its budget and not a listed exception.
func TestRoundTripDepthOfEveryRoute(t *testing.T) {
	d := newDepthEnv(t)
	op := func(fn string, p map[string]string, body string) call {
		c := call{function: fn, sub: "op", operator: true, params: p}
		if body != "" {
			c.body = str(body)
		}
		return c
	}
	as := func(sub, fn string, p map[string]string, body string) call {
		c := call{function: fn, sub: sub, params: p}
		if body != "" {
			c.body = str(body)
		}
		return c
	}

	// The 10,000-contact account, seeded with BatchWriteItem in a DynamoDB Local of its own: on
	// the instance the other tests share, its items slowed every test after it for minutes.
	bigDB, bigTable := privateTable(t)
	bigEnv := newDepthEnvOn(t, bigDB, bigTable)
	big := bigEnv.do(op("create-account", nil, `{"name":"Big Co","owner":{"firstName":"Bo","lastName":"B","email":"bo@big.example"}}`)).body["id"].(string)
	seedStart := time.Now()
	if err := bigEnv.seedContacts(big, 10000, 3); err != nil {
		t.Fatal(err)
	}
	t.Logf("seeded 10,000 contacts in %v", time.Since(seedStart).Round(time.Millisecond))

	// Accounts and the owner.
	d.measure("", 0, 200, call{function: "get-catalog", sub: "anyone"})
	acc := d.measure("", 0, 201, op("create-account", nil, `{"name":"Depth Co","owner":{"firstName":"Ada","lastName":"L","email":"ada@depth.example"}}`)).body["id"].(string)
	P := map[string]string{"accountId": acc}
	ownerToken := d.invitationToken(acc, "ada@depth.example")
	d.measure("", 0, 200, as("ada", "lookup-invitation", nil, fmt.Sprintf(`{"token":%q}`, ownerToken)))
	d.measure("", 0, 201, as("ada", "accept-invitation", nil, fmt.Sprintf(`{"token":%q}`, ownerToken)))
	d.measure("", 0, 200, op("list-accounts", nil, ""))
	d.measure("", 0, 200, as("ada", "get-account", P, ""))
	d.measure("", 0, 200, op("update-account", P, `{"name":"Depth Company"}`))
	d.measure("update-account (owner details)", 0, 200, as("ada", "update-account", P, `{"owner":{"phone":"+1 555 0100"}}`))
	d.measure("", 0, 200, as("ada", "list-my-accounts", nil, ""))

	// Users and invitations.
	inv := d.measure("", 0, 201, as("ada", "create-invitation", P, `{"email":"bob@depth.example","permissions":["contacts:read"]}`)).body["id"].(string)
	d.measure("", 0, 200, as("ada", "list-invitations", P, ""))
	d.advance(61 * time.Second)
	d.measure("", 0, 200, as("ada", "resend-invitation", map[string]string{"accountId": acc, "invitationId": inv}, ""))
	d.do(as("bob", "accept-invitation", nil, fmt.Sprintf(`{"token":%q}`, d.invitationToken(acc, "bob@depth.example"))))
	carl := d.do(as("ada", "create-invitation", P, `{"email":"carl@depth.example","permissions":[]}`)).body["id"].(string)
	d.measure("", 0, 200, as("ada", "revoke-invitation", map[string]string{"accountId": acc, "invitationId": carl}, ""))
	d.do(as("ada", "create-invitation", P, `{"email":"dora@depth.example","permissions":[]}`))
	d.do(as("dora", "accept-invitation", nil, fmt.Sprintf(`{"token":%q}`, d.invitationToken(acc, "dora@depth.example"))))
	bob := map[string]string{"accountId": acc, "userId": "bob"}
	d.measure("", 0, 200, as("ada", "list-users", P, ""))
	d.measure("", 0, 200, as("ada", "get-user", bob, ""))
	d.measure("", 0, 200, as("ada", "update-user", bob, `{"permissions":["contacts:read","contacts:write","sites:write","audit:read"]}`))
	d.measure("", 0, 204, as("ada", "remove-user", map[string]string{"accountId": acc, "userId": "dora"}, ""))

	// Contacts.
	con := d.measure("", 0, 201, as("bob", "create-contact", P, `{"email":"grace@depth.example","firstName":"Grace","lastName":"Hopper","emailTypes":["billing"]}`)).body["id"].(string)
	C := map[string]string{"accountId": acc, "contactId": con}
	d.measure("", 0, 200, as("bob", "get-contact", C, ""))
	d.measure("", 0, 200, as("bob", "update-contact", C, `{"phone":"+1 555 0101"}`))
	d.measure("", 0, 200, as("bob", "list-contacts", P, ""))
	rows := make([]string, batchRows)
	for i := range rows {
		rows[i] = fmt.Sprintf(`{"email":"row%d@depth.example","firstName":"Row","lastName":"N%d"}`, i, i)
	}
	batch := d.measure(fmt.Sprintf("batch-create-contacts (%d rows)", batchRows), -batchDepthBound(batchRows, 1), 200,
		as("bob", "batch-create-contacts", P, `{"items":[`+strings.Join(rows, ",")+`]}`))
	var rowContacts []string
	for _, r := range batch.body["results"].([]any) {
		rowContacts = append(rowContacts, r.(map[string]any)["item"].(map[string]any)["id"].(string))
	}

	// Sites and relationships.
	sites := d.measure("", 0, 200, as("bob", "list-sites", P, ""))
	site := sites.body["items"].([]any)[0].(map[string]any)["id"].(string)
	d.measure("", 0, 201, op("create-site", P, `{"name":"Depth Berlin"}`))
	S := map[string]string{"accountId": acc, "siteId": site}
	R := map[string]string{"accountId": acc, "siteId": site, "contactId": con}
	d.measure("put-relationship (first: welcome invitation)", 0, 201, as("bob", "put-relationship", R, `{"roles":["Primary"]}`))
	d.measure("put-relationship (change)", 0, 200, as("bob", "put-relationship", R, `{"roles":["Primary","Technical"]}`))
	d.measure("", 0, 200, as("bob", "list-site-contacts", S, ""))
	brows := make([]string, batchRows)
	for i, c := range rowContacts {
		brows[i] = fmt.Sprintf(`{"contactId":%q,"roles":["Technical"]}`, c)
	}
	d.measure(fmt.Sprintf("batch-put-relationships (%d rows)", batchRows), -batchDepthBound(batchRows, 2), 200,
		as("bob", "batch-put-relationships", S, `{"items":[`+strings.Join(brows, ",")+`]}`))
	d.measure("", 0, 204, as("bob", "delete-relationship", map[string]string{"accountId": acc, "siteId": site, "contactId": rowContacts[0]}, ""))

	// Admin privileges: grace (Primary) accepts her welcome invitation.
	d.do(as("grace", "accept-invitation", nil, fmt.Sprintf(`{"token":%q}`, d.invitationToken(acc, "grace@depth.example"))))
	G := map[string]string{"accountId": acc, "userId": "grace"}
	d.measure("", 0, 200, op("grant-admin", G, ""))
	d.measure("", 0, 200, op("revoke-admin", G, ""))
	d.measure("", 0, 200, as("ada", "transfer-ownership", P, `{"userId":"bob"}`))
	d.measure("", 0, 204, as("bob", "delete-contact", C, ""))
	d.measure("", 0, 200, as("bob", "list-audit", P, ""))
	d.measure("transfer-ownership (operator)", 0, 200, op("transfer-ownership", P, `{"userId":"ada"}`))

	// A first relationship whose welcome invitation is blocked: the email has a pending invitation.
	d.do(as("ada", "create-invitation", P, `{"email":"wendy@depth.example","permissions":[]}`))
	wendy := d.do(as("ada", "create-contact", P, `{"email":"wendy@depth.example"}`)).body["id"].(string)
	d.measure("put-relationship (first, welcome blocked)", 0, 201, as("ada", "put-relationship",
		map[string]string{"accountId": acc, "siteId": site, "contactId": wendy}, `{"roles":["Technical"]}`))

	// A contact holding Primary at 150 sites: its delete removes 300 relationship items and guards.
	many := d.do(as("ada", "create-contact", P, `{"email":"many@depth.example"}`)).body["id"].(string)
	for i := range manySites {
		s := d.do(op("create-site", P, fmt.Sprintf(`{"name":"Depth site %d"}`, i))).body["id"].(string)
		if a := d.do(as("ada", "put-relationship", map[string]string{"accountId": acc, "siteId": s, "contactId": many}, `{"roles":["Primary"]}`)); a.status != 201 {
			t.Fatalf("relationship %d: %d %s", i, a.status, a.raw)
		}
	}
	d.measure(fmt.Sprintf("delete-contact (%d relationships)", manySites), 0, 204, as("ada", "delete-contact", map[string]string{"accountId": acc, "contactId": many}, ""))

	// Lists of a 10,000-contact account, filtered to a few.
	B := map[string]string{"accountId": big}
	limit50 := func(c call, q map[string]string) call { c.query = q; return c }
	bigEnv.measure("list-contacts (10,000 contacts)", 0, 200, limit50(op("list-contacts", B, ""), nil))
	bigEnv.measure("list-contacts (10,000 contacts, ?q= matching 3)", 0, 200, limit50(op("list-contacts", B, ""), map[string]string{"q": "zyzz"}))
	bigEnv.measure("list-contacts (10,000 contacts, ?q= matching none)", 0, 200, limit50(op("list-contacts", B, ""), map[string]string{"q": "nobody"}))
	bigEnv.measure("list-contacts (10,000 contacts, ?emailType= matching 3)", 0, 200, limit50(op("list-contacts", B, ""), map[string]string{"emailType": "marketing"}))
	bigEnv.measure("list-contacts (10,000 contacts, ?q= and ?emailType= matching 3)", 0, 200, limit50(op("list-contacts", B, ""), map[string]string{"q": "zyzz", "emailType": "marketing"}))
	bigEnv.measure("list-contacts (10,000 contacts, ?q= matching all, ?emailType= 3)", 0, 200, limit50(op("list-contacts", B, ""), map[string]string{"q": "seed", "emailType": "marketing"}))

	d.cases = append(d.cases, bigEnv.cases...)
	seen := map[string]bool{}
	for _, c := range d.cases {
		seen[c.route.Function] = true
	}
	for _, r := range routes.All {
		if !seen[r.Function] {
			t.Errorf("route %s (%s) was not measured", r.Key(), r.Function)
		}
	}
	report(t, d.cases)
}

// privateTable is a table in a DynamoDB Local started for the calling test alone (in memory,
// stopped when the test ends).
func privateTable(t *testing.T) (*dynamodb.Client, string) {
	t.Helper()
	ddb, err := local.StartDynamoDB(context.Background(), local.DynamoDBOptions{SharedDB: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ddb.Stop() })
	db := testenv.Client(ddb.Endpoint)
	if err := table.Create(context.Background(), db, "depth"); err != nil {
		t.Fatal(err)
	}
	return db, "depth"
}

// batchRows is the size of the batches the depth test sends.
const batchRows = 20

// manySites is how many relationships the contact of the "delete-contact (… relationships)" case
// holds, each with a unique-per-site role (two items each).
const manySites = 150

// batchDepthBound is the stated round-trip bound of a batch of n rows whose rows each take
// perRow round trips: one read of the caller's rights, then the rows, handlers.BatchConcurrency
// at a time.
func batchDepthBound(n, perRow int) int {
	waves := (n + handlers.BatchConcurrency - 1) / handlers.BatchConcurrency
	return 1 + waves*perRow
}

// report prints every case's depth and fails those over budget that are not listed exceptions
// (and exceptions that are no longer needed).
func report(t *testing.T, cases []depthCase) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "%-62s %5s %6s %8s  %s\n", "route (case)", "depth", "budget", "took", "calls")
	sort.SliceStable(cases, func(i, j int) bool { return cases[i].name < cases[j].name })
	for _, c := range cases {
		ops := make([]string, len(c.calls))
		for i, call := range c.calls {
			ops[i] = call.Op
		}
		if len(ops) > 6 {
			ops = append(ops[:6:6], fmt.Sprintf("… (%d calls)", len(c.calls)))
		}
		flag := ""
		reason, excepted := depthExceptions[c.name]
		switch {
		case c.depth > c.budget && !excepted:
			t.Errorf("%s: %d sequential round trips, budget %d", c.name, c.depth, c.budget)
			flag = "  OVER BUDGET"
		case c.depth > c.budget:
			flag = "  exception: " + reason
		case excepted:
			t.Errorf("%s: within budget (%d ≤ %d) but listed as an exception: remove it here and in docs/decisions.md", c.name, c.depth, c.budget)
		}
		fmt.Fprintf(&b, "%-62s %5d %6d %8s  %s%s\n", c.name, c.depth, c.budget, c.took.Round(time.Millisecond), strings.Join(ops, " "), flag)
	}
	t.Logf("sequential DynamoDB round trips per route:\n%s", b.String())
	if path := os.Getenv("ROLLCALL_DEPTH_REPORT"); path != "" {
		_ = os.WriteFile(path, []byte(b.String()), 0o644)
	}
}
