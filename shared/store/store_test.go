package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"rollcall/shared/apperr"
	"rollcall/shared/auth"
	"rollcall/shared/catalog"
	"rollcall/shared/domain"
	"rollcall/shared/ids"
	"rollcall/shared/invitetoken"
	"rollcall/shared/routes"
	"rollcall/shared/table"
	"rollcall/shared/testenv"
)

var operator = auth.Caller{Sub: "op-1", Email: "ops@vendor.example", Operator: true}

// counting wraps the client and counts calls by API, for the round-trip budget (DESIGN §7).
type counting struct {
	DB
	mu    sync.Mutex
	calls map[string]int
}

func (c *counting) count(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[name]++
}

func (c *counting) reset() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.calls
	c.calls = map[string]int{}
	return old
}

func (c *counting) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.count("GetItem")
	return c.DB.GetItem(ctx, in, o...)
}

func (c *counting) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	c.count("BatchGetItem")
	return c.DB.BatchGetItem(ctx, in, o...)
}

func (c *counting) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c.count("Query")
	return c.DB.Query(ctx, in, o...)
}

func (c *counting) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	c.count("PutItem")
	return c.DB.PutItem(ctx, in, o...)
}

func (c *counting) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	c.count("TransactWriteItems")
	return c.DB.TransactWriteItems(ctx, in, o...)
}

type fixture struct {
	skew  atomic.Int64 // how far the store's clock runs ahead of the wall clock, in ns
	t     testing.TB
	s     *Store
	db    *dynamodb.Client
	name  string
	calls *counting
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	db, name := testenv.DB(t)
	c := &counting{DB: db, calls: map[string]int{}}
	f := &fixture{t: t, db: db, name: name, calls: c}
	now := func() time.Time { return time.Now().Add(time.Duration(f.skew.Load())).UTC().Truncate(time.Millisecond) }
	f.s = New(c, name, catalog.Default(), now)
	return f
}

// account creates an account of type typ as an operator and returns it.
func (f *fixture) account(typ string) domain.Account {
	f.t.Helper()
	now := f.s.now()
	a, err := domain.NewAccount(ids.New(ids.Account), domain.CreateAccountInput{
		Name: "Acme " + typ, Type: typ,
		Owner: domain.OwnerInput{FirstName: set("Ada"), LastName: set("Owner"), Email: set("owner@acme.example")},
	}, f.s.cat, now)
	if err != nil {
		f.t.Fatal(err)
	}
	site := domain.Site{ID: ids.New(ids.Site), AccountID: a.ID, Name: domain.MainSiteName(a), Main: true}
	inv := domain.NewOwnerInvitation(ids.New(ids.Invitation), a, operator.Actor(), invitetoken.NewNonce(), now)
	if err := f.s.CreateAccount(context.Background(), operator, NewAccount{Account: a, MainSite: site, Invitation: inv}, nil, nil); err != nil {
		f.t.Fatal(err)
	}
	return a
}

// member puts a membership of sub in account with role and permissions, as accepting an
// invitation does, and returns the caller.
func (f *fixture) member(accountID, sub, role string, perms ...string) auth.Caller {
	f.t.Helper()
	u := domain.User{ID: sub, AccountID: accountID, Email: sub + "@example.com", Role: role, Permissions: perms, JoinedAt: f.s.now()}
	m, err := attributevalue.MarshalMap(newUserItem(u, domain.Account{}))
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(f.name), Item: m}); err != nil {
		f.t.Fatal(err)
	}
	return auth.Caller{Sub: sub, Email: u.Email}
}

func (f *fixture) contact(c auth.Caller, accountID, email string, types ...string) (domain.Contact, error) {
	ct, err := domain.NewContact(ids.New(ids.Contact), accountID, domain.CreateContactInput{Email: email, FirstName: "Con", LastName: "Tact", EmailTypes: types}, f.s.cat, f.s.now())
	if err != nil {
		return ct, err
	}
	return ct, f.s.CreateContact(context.Background(), c, ct, nil, nil)
}

// items returns every item of the table (a scan), for checks of what was written.
func (f *fixture) items() []map[string]any {
	f.t.Helper()
	var out []map[string]any
	p := dynamodb.NewScanPaginator(f.db, &dynamodb.ScanInput{TableName: aws.String(f.name), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			f.t.Fatal(err)
		}
		var ms []map[string]any
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &ms); err != nil {
			f.t.Fatal(err)
		}
		out = append(out, ms...)
	}
	return out
}

func set[T any](v T) domain.Optional[T] { return domain.Optional[T]{Set: true, Value: v} }

func wantCode(t *testing.T, err error, status int, code string) *apperr.Error {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok || e.Status != status || e.Code != code {
		t.Fatalf("got %v, want %d %s", err, status, code)
	}
	return e
}

func TestCreateAccountWritesAccountSiteInvitationGuardsAndAudit(t *testing.T) {
	f := newFixture(t)
	a := f.account(domain.AccountCustomer)
	kinds := map[string]int{}
	for _, it := range f.items() {
		kinds[fmt.Sprint(it["entity"])]++
		if strings.HasPrefix(it["SK"].(string), "AUDIT#") {
			kinds["audit"]++
		}
	}
	want := map[string]int{entityAccount: 1, entitySite: 1, entityUserEmail: 1, entityInvitation: 1, entityInviteEmail: 1, "audit": 1}
	for k, n := range want {
		if kinds[k] != n {
			t.Errorf("%s items: got %d, want %d (all: %v)", k, kinds[k], n, kinds)
		}
	}
	got, err := f.s.GetAccount(context.Background(), operator, a.ID)
	if err != nil || got.Name != a.Name || got.Version != 1 || len(got.OwnerEmailTypes) != 4 {
		t.Fatalf("get account: %+v %v", got, err)
	}
	sites, err := f.s.ListSites(context.Background(), operator, a.ID, 10, "")
	if err != nil || len(sites.Items) != 1 || sites.Items[0].Name != "Acme customer Main Site" || !sites.Items[0].Main {
		t.Fatalf("sites: %+v %v", sites, err)
	}
}

func TestNonOperatorCannotCreateAccounts(t *testing.T) {
	f := newFixture(t)
	err := f.s.CreateAccount(context.Background(), auth.Caller{Sub: "u"}, NewAccount{}, nil, nil)
	wantCode(t, err, 403, apperr.CodeForbidden)
}

func TestContactEmailIsUniquePerAccountIgnoringCaseAndSpaces(t *testing.T) {
	f := newFixture(t)
	a, b := f.account(domain.AccountCustomer), f.account(domain.AccountCustomer)
	first, err := f.contact(operator, a.ID, "Jane@Example.com")
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.contact(operator, a.ID, "  jane@example.COM ")
	e := wantCode(t, err, 409, apperr.CodeContactEmailTaken)
	if e.Extra["contactId"] != first.ID {
		t.Fatalf("conflict names %v, want %s", e.Extra["contactId"], first.ID)
	}
	if _, err := f.contact(operator, b.ID, "jane@example.com"); err != nil {
		t.Fatalf("same email in another account: %v", err)
	}
}

func TestFiftyConcurrentCreatesOfOneEmailMakeOneContact(t *testing.T) {
	f := newFixture(t)
	a := f.account(domain.AccountCustomer)
	writer := f.member(a.ID, "writer", domain.RoleUser, routes.ContactsWrite, routes.ContactsRead)
	var ok, taken atomic.Int32
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			email := "dup@example.com"
			if i%2 == 0 {
				email = fmt.Sprintf("  DUP@Example.com%s", strings.Repeat(" ", i%3))
			}
			_, err := f.contact(writer, a.ID, email, "billing")
			switch {
			case err == nil:
				ok.Add(1)
			case apperr.Is(err, apperr.CodeContactEmailTaken):
				taken.Add(1)
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 1 || taken.Load() != 49 {
		t.Fatalf("created %d, refused %d; want 1 and 49", ok.Load(), taken.Load())
	}
	f.assertCountersMatch(a.ID)
}

// assertCountersMatch recounts the recipients of every email type and compares with the
// account's counters (R18).
func (f *fixture) assertCountersMatch(accountID string) {
	f.t.Helper()
	recount := map[string]int{}
	counters := map[string]int{}
	for _, it := range f.items() {
		if it["PK"] != table.AccountPK(accountID) {
			continue
		}
		switch it["entity"] {
		case entityRecipients:
			counters[it["emailType"].(string)] = int(it["n"].(float64))
		case entityAccount:
			var a accountItem
			m, _ := attributevalue.MarshalMap(it)
			if err := attributevalue.UnmarshalMap(m, &a); err != nil {
				f.t.Fatal(err)
			}
			for _, typ := range a.OwnerEmailTypes {
				recount[typ]++
			}
		case entityContact:
			for _, typ := range it["emailTypes"].([]any) {
				recount[typ.(string)]++
			}
		}
	}
	for _, typ := range f.s.cat.EmailTypeNames() {
		if counters[typ] != recount[typ] {
			f.t.Errorf("type %s: counter %d, recount %d", typ, counters[typ], recount[typ])
		}
		if f.s.cat.RequiredEmailType(typ) && recount[typ] == 0 {
			f.t.Errorf("type %s has no recipient", typ)
		}
	}
}

func TestConcurrentRemovalsNeverLeaveATypeWithoutRecipient(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := f.account(domain.AccountCustomer)
	owner := f.member(a.ID, "owner", domain.RoleOwner)
	var contacts []domain.Contact
	for i := range 12 {
		c, err := f.contact(owner, a.ID, fmt.Sprintf("c%d@example.com", i), "billing", "service")
		if err != nil {
			t.Fatal(err)
		}
		contacts = append(contacts, c)
	}
	// The owner stops receiving billing: only the contacts are left as its recipients.
	if _, err := f.s.UpdateAccount(ctx, owner, a.ID, domain.UpdateAccountInput{OwnerEmailTypes: set([]string{"service", "security", "marketing"})}, 0); err != nil {
		t.Fatal(err)
	}
	var done, refused atomic.Int32
	var wg sync.WaitGroup
	for i, c := range contacts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if i%2 == 0 {
				err = f.s.DeleteContact(ctx, owner, a.ID, c.ID, 0)
			} else {
				_, err = f.s.UpdateContact(ctx, owner, a.ID, c.ID, domain.UpdateContactInput{EmailTypes: set([]string{"service"})}, 0)
			}
			switch {
			case err == nil:
				done.Add(1)
			case apperr.Is(err, apperr.CodeLastRecipient):
				refused.Add(1)
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}()
	}
	wg.Wait()
	if done.Load() != 11 || refused.Load() != 1 {
		t.Fatalf("done %d, refused %d; want 11 and 1", done.Load(), refused.Load())
	}
	f.assertCountersMatch(a.ID)
	// The owner cannot drop the last required type either.
	_, err := f.s.UpdateAccount(ctx, owner, a.ID, domain.UpdateAccountInput{OwnerEmailTypes: set([]string{})}, 0)
	e := wantCode(t, err, 409, apperr.CodeLastRecipient)
	if fmt.Sprint(e.Extra["emailTypes"]) != "[marketing security]" {
		t.Fatalf("named types %v", e.Extra["emailTypes"])
	}
}

func TestPartnerAccountsTakeContactsOnlyFromOperators(t *testing.T) {
	f := newFixture(t)
	a := f.account(domain.AccountPartner)
	owner := f.member(a.ID, "owner", domain.RoleOwner)
	_, err := f.contact(owner, a.ID, "p@example.com")
	wantCode(t, err, 403, apperr.CodeSupportCaseRequired)
	wantCode(t, f.s.CheckContactWriter(context.Background(), owner, a.ID), 403, apperr.CodeSupportCaseRequired)
	if _, err := f.contact(operator, a.ID, "p@example.com"); err != nil {
		t.Fatalf("operator: %v", err)
	}
}

func TestMembersOfOtherAccountsGet404AndUsersWithoutRightsGet403(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, b := f.account(domain.AccountCustomer), f.account(domain.AccountCustomer)
	inB, err := f.contact(operator, b.ID, "b@example.com")
	if err != nil {
		t.Fatal(err)
	}
	memberOfA := f.member(a.ID, "a-owner", domain.RoleOwner)
	checks := map[string]error{}
	_, checks["get"] = f.s.GetContact(ctx, memberOfA, b.ID, inB.ID)
	_, checks["list"] = f.s.ListContacts(ctx, memberOfA, b.ID, ContactFilter{}, 10, "")
	_, checks["create"] = f.contact(memberOfA, b.ID, "x@example.com")
	_, checks["update"] = f.s.UpdateContact(ctx, memberOfA, b.ID, inB.ID, domain.UpdateContactInput{FirstName: set("X")}, 0)
	checks["delete"] = f.s.DeleteContact(ctx, memberOfA, b.ID, inB.ID, 0)
	_, checks["account"] = f.s.GetAccount(ctx, memberOfA, b.ID)
	_, checks["audit"] = f.s.ListAudit(ctx, memberOfA, b.ID, 10, "")
	for op, err := range checks {
		if !apperr.Is(err, apperr.CodeNotFound) {
			t.Errorf("%s in another account: got %v, want 404", op, err)
		}
	}
	reader := f.member(b.ID, "reader", domain.RoleUser, routes.ContactsRead)
	if _, err := f.s.GetContact(ctx, reader, b.ID, inB.ID); err != nil {
		t.Fatalf("reader get: %v", err)
	}
	_, err = f.contact(reader, b.ID, "y@example.com")
	wantCode(t, err, 403, apperr.CodeForbidden)
	_, err = f.s.UpdateContact(ctx, reader, b.ID, inB.ID, domain.UpdateContactInput{FirstName: set("X")}, 0)
	wantCode(t, err, 403, apperr.CodeForbidden)
	wantCode(t, f.s.DeleteContact(ctx, reader, b.ID, inB.ID, 0), 403, apperr.CodeForbidden)
	_, err = f.s.ListAudit(ctx, reader, b.ID, 10, "")
	wantCode(t, err, 403, apperr.CodeForbidden)
	_, err = f.s.UpdateAccount(ctx, reader, b.ID, domain.UpdateAccountInput{OwnerEmailTypes: set([]string{"billing"})}, 0)
	wantCode(t, err, 403, apperr.CodeForbidden)
}

func TestListContactsPagesFiltersAndRefusesForeignCursors(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, b := f.account(domain.AccountCustomer), f.account(domain.AccountCustomer)
	for i := range 7 {
		types := []string{"service"}
		if i%3 == 0 {
			types = append(types, "billing")
		}
		if _, err := f.contact(operator, a.ID, fmt.Sprintf("person%d@example.com", i), types...); err != nil {
			t.Fatal(err)
		}
	}
	var all []domain.Contact
	cursor := ""
	for {
		p, err := f.s.ListContacts(ctx, operator, a.ID, ContactFilter{}, 3, cursor)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, p.Items...)
		if cursor = p.Next; cursor == "" {
			break
		}
	}
	if len(all) != 7 {
		t.Fatalf("paged through %d contacts, want 7", len(all))
	}
	billing, err := f.s.ListContacts(ctx, operator, a.ID, ContactFilter{EmailType: "billing"}, 2, "")
	if err != nil || len(billing.Items) != 2 || billing.Next == "" {
		t.Fatalf("billing page 1: %+v %v", billing, err)
	}
	rest, err := f.s.ListContacts(ctx, operator, a.ID, ContactFilter{EmailType: "billing"}, 2, billing.Next)
	if err != nil || len(rest.Items) != 1 {
		t.Fatalf("billing page 2: %+v %v", rest, err)
	}
	text, err := f.s.ListContacts(ctx, operator, a.ID, ContactFilter{Text: "PERSON4"}, 10, "")
	if err != nil || len(text.Items) != 1 || text.Items[0].Email != "person4@example.com" {
		t.Fatalf("text filter: %+v %v", text, err)
	}
	_, err = f.s.ListContacts(ctx, operator, b.ID, ContactFilter{}, 3, billing.Next)
	wantCode(t, err, 400, apperr.CodeValidation)
	_, err = f.s.ListContacts(ctx, operator, a.ID, ContactFilter{}, 3, billing.Next[:len(billing.Next)-2]+"xx")
	wantCode(t, err, 400, apperr.CodeValidation)
	_, err = f.s.ListAudit(ctx, operator, a.ID, 3, billing.Next)
	wantCode(t, err, 400, apperr.CodeValidation)
}

func TestIfMatchGuardsContactAndAccountUpdates(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := f.account(domain.AccountCustomer)
	c, err := f.contact(operator, a.ID, "v@example.com")
	if err != nil {
		t.Fatal(err)
	}
	up, err := f.s.UpdateContact(ctx, operator, a.ID, c.ID, domain.UpdateContactInput{FirstName: set("V2")}, 1)
	if err != nil || up.Version != 2 {
		t.Fatalf("update with the right version: %+v %v", up, err)
	}
	_, err = f.s.UpdateContact(ctx, operator, a.ID, c.ID, domain.UpdateContactInput{FirstName: set("V3")}, 1)
	wantCode(t, err, 412, apperr.CodePreconditionFailed)
	wantCode(t, f.s.DeleteContact(ctx, operator, a.ID, c.ID, 1), 412, apperr.CodePreconditionFailed)
	_, err = f.s.UpdateAccount(ctx, operator, a.ID, domain.UpdateAccountInput{Name: set("Renamed")}, 7)
	wantCode(t, err, 412, apperr.CodePreconditionFailed)
	acc, err := f.s.UpdateAccount(ctx, operator, a.ID, domain.UpdateAccountInput{Name: set("Renamed"), LegacyID: set("L-9")}, 1)
	if err != nil || acc.Version != 2 {
		t.Fatalf("rename: %+v %v", acc, err)
	}
	sites, err := f.s.ListSites(ctx, operator, a.ID, 10, "")
	if err != nil || sites.Items[0].Name != "Renamed – Legacy L-9 – Main Site" {
		t.Fatalf("main site follows the rename: %+v %v", sites, err)
	}
}

func TestOwnerEmailChangeRespectsUserEmails(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := f.account(domain.AccountCustomer)
	// A user's email guard, as joining writes it (R4).
	g, _ := attributevalue.MarshalMap(userEmailItem{Key: table.UserEmail(a.ID, "user@acme.example"), Entity: entityUserEmail, Sub: "u1"})
	if _, err := f.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(f.name), Item: g}); err != nil {
		t.Fatal(err)
	}
	_, err := f.s.UpdateAccount(ctx, operator, a.ID, domain.UpdateAccountInput{Owner: set(domain.OwnerInput{Email: set("USER@acme.example")})}, 0)
	wantCode(t, err, 409, apperr.CodeEmailBelongsToUser)
	acc, err := f.s.UpdateAccount(ctx, operator, a.ID, domain.UpdateAccountInput{Owner: set(domain.OwnerInput{Email: set("new-owner@acme.example")})}, 0)
	if err != nil || acc.Owner.Email != "new-owner@acme.example" {
		t.Fatalf("owner email change: %+v %v", acc, err)
	}
}

func TestAuditIsNewestFirstAndNamesTheActor(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := f.account(domain.AccountCustomer)
	owner := f.member(a.ID, "owner", domain.RoleOwner)
	c, err := f.contact(owner, a.ID, "audited@example.com")
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.s.ListAudit(ctx, owner, a.ID, 10, "")
	if err != nil || len(p.Items) != 2 {
		t.Fatalf("audit: %+v %v", p, err)
	}
	e := p.Items[0]
	if e.Operation != "contact.create" || e.Targets["contactId"] != c.ID || e.Actor.Sub != "owner" || e.Actor.Email != "owner@example.com" {
		t.Fatalf("newest entry: %+v", e)
	}
	if p.Items[1].Operation != "account.create" || !p.Items[1].Actor.Operator {
		t.Fatalf("oldest entry: %+v", p.Items[1])
	}
}

// TestRoundTripBudget holds every operation to DESIGN §7: one round trip for reads and creates
// (a read's membership check runs in parallel with its query, or in the same BatchGetItem), two
// for changes that depend on current state; a contact create takes two, a listed exception.
func TestRoundTripBudget(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := f.account(domain.AccountCustomer)
	owner := f.member(a.ID, "owner", domain.RoleOwner)
	c, err := f.contact(owner, a.ID, "budget@example.com", "billing")
	if err != nil {
		t.Fatal(err)
	}
	f.calls.reset()
	cases := []struct {
		name string
		run  func() error
		want map[string]int
	}{
		// A create reads the caller's rights before its transaction (issue 12 item 3): the listed
		// exception to the create budget (docs/decisions.md, "Round-trip budgets").
		{"create contact", func() error { _, err := f.contact(owner, a.ID, "new@example.com", "service"); return err }, map[string]int{"BatchGetItem": 1, "TransactWriteItems": 1}},
		{"get contact", func() error { _, err := f.s.GetContact(ctx, owner, a.ID, c.ID); return err }, map[string]int{"BatchGetItem": 1}},
		// The account's undeliverable contacts (for its warnings) are one Query run beside the
		// BatchGetItem: still one round trip.
		{"get account", func() error { _, err := f.s.GetAccount(ctx, owner, a.ID); return err }, map[string]int{"BatchGetItem": 1, "Query": 1}},
		{"list contacts (parallel)", func() error { _, err := f.s.ListContacts(ctx, owner, a.ID, ContactFilter{}, 10, ""); return err }, map[string]int{"GetItem": 1, "Query": 1}},
		{"list sites (parallel)", func() error { _, err := f.s.ListSites(ctx, owner, a.ID, 10, ""); return err }, map[string]int{"GetItem": 1, "Query": 1}},
		{"list audit (parallel)", func() error { _, err := f.s.ListAudit(ctx, owner, a.ID, 10, ""); return err }, map[string]int{"GetItem": 1, "Query": 1}},
		{"list accounts", func() error { _, err := f.s.ListAccounts(ctx, operator, "", 10, ""); return err }, map[string]int{"Query": 1}},
		{"update contact", func() error {
			_, err := f.s.UpdateContact(ctx, owner, a.ID, c.ID, domain.UpdateContactInput{EmailTypes: set([]string{"service"})}, 0)
			return err
		}, map[string]int{"BatchGetItem": 1, "TransactWriteItems": 1}},
		{"update account", func() error {
			_, err := f.s.UpdateAccount(ctx, owner, a.ID, domain.UpdateAccountInput{Owner: set(domain.OwnerInput{Phone: set("+1 555 0100")})}, 0)
			return err
		}, map[string]int{"BatchGetItem": 1, "TransactWriteItems": 1}},
		{"delete contact", func() error { return f.s.DeleteContact(ctx, owner, a.ID, c.ID, 0) }, map[string]int{"BatchGetItem": 1, "TransactWriteItems": 1}},
	}
	for _, tc := range cases {
		if err := tc.run(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := f.calls.reset(); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: calls %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestTransactionErrorsThatAreNotConditionsPassThrough(t *testing.T) {
	f := newFixture(t)
	f.s.table = "no-such-table"
	_, err := f.contact(operator, ids.New(ids.Account), "x@example.com")
	if _, typed := apperr.As(err); typed || err == nil {
		t.Fatalf("got %v, want an internal error", err)
	}
	var nf interface{ ErrorCode() string }
	if !errors.As(err, &nf) {
		t.Fatalf("want the service error kept: %v", err)
	}
}

// TestEmailTypeNamesWithDots: a stage's email type may hold a dot; its counter is one attribute
// of the recipients map, not a nested path (R18).
func TestEmailTypeNamesWithDots(t *testing.T) {
	f := newFixture(t)
	cat, err := catalog.FromJSON(`{"emailTypes":[{"name":"billing.eu","required":true},{"name":"news","required":false}]}`)
	if err != nil {
		t.Fatal(err)
	}
	f.s.cat = cat
	ctx := context.Background()
	a := f.account(domain.AccountCustomer)
	c, err := f.contact(operator, a.ID, "eu@example.com", "billing.eu")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.UpdateAccount(ctx, operator, a.ID, domain.UpdateAccountInput{OwnerEmailTypes: set([]string{"news"})}, 0); err != nil {
		t.Fatalf("the owner leaves billing.eu to the contact: %v", err)
	}
	_, err = f.s.UpdateContact(ctx, operator, a.ID, c.ID, domain.UpdateContactInput{EmailTypes: set([]string{})}, 0)
	e := wantCode(t, err, 409, apperr.CodeLastRecipient)
	if fmt.Sprint(e.Extra["emailTypes"]) != "[billing.eu]" {
		t.Fatalf("named %v", e.Extra["emailTypes"])
	}
	f.assertCountersMatch(a.ID)
}
