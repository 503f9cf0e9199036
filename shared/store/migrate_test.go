package store_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"rollcall/shared/apperr"
	"rollcall/shared/auth"
	"rollcall/shared/catalog"
	"rollcall/shared/dbtrace"
	"rollcall/shared/domain"
	"rollcall/shared/ids"
	"rollcall/shared/routes"
	"rollcall/shared/store"
	"rollcall/shared/table"
	"rollcall/shared/testenv"
)

// The items below are written as the code before commit 680c796 wrote them (git show
// 680c796^:shared/store/accounts.go, contacts.go, users.go): the account item holds the recipient
// counts of R18 in its "recipients" map, contacts have no index items, and memberships do not
// copy the account's name and type.

type legacyAccountItem struct {
	table.Key
	GSI1PK            string `dynamodbav:"GSI1PK"`
	GSI1SK            string `dynamodbav:"GSI1SK"`
	Entity            string `dynamodbav:"entity"`
	MainSiteID        string `dynamodbav:"mainSiteId"`
	OwnerSub          string `dynamodbav:"ownerSub,omitempty"`
	OwnerInvitationID string `dynamodbav:"ownerInvitationId,omitempty"`
	domain.Account
	Recipients map[string]int `dynamodbav:"recipients"`
}

type legacySiteItem struct {
	table.Key
	GSI1PK string `dynamodbav:"GSI1PK"`
	GSI1SK string `dynamodbav:"GSI1SK"`
	Entity string `dynamodbav:"entity"`
	domain.Site
}

type legacyContactItem struct {
	table.Key
	Entity string `dynamodbav:"entity"`
	domain.Contact
	Search     string `dynamodbav:"search"`
	AdminRoles int    `dynamodbav:"adminRoles"`
}

type legacyContactEmailItem struct {
	table.Key
	Entity    string `dynamodbav:"entity"`
	ContactID string `dynamodbav:"contactId"`
}

type legacyUserItem struct {
	table.Key
	GSI1PK string `dynamodbav:"GSI1PK"`
	GSI1SK string `dynamodbav:"GSI1SK"`
	Entity string `dynamodbav:"entity"`
	domain.User
}

type legacyUserEmailItem struct {
	table.Key
	Entity string `dynamodbav:"entity"`
	Sub    string `dynamodbav:"sub,omitempty"`
	Owner  bool   `dynamodbav:"owner"`
}

var migOperator = auth.Caller{Sub: "op-1", Email: "ops@vendor.example", Operator: true}

// migration is one test's table, a store over it whose calls are recorded (rec), and a second
// store (live) over the plain client: the current code serving writes while the migration runs.
type migration struct {
	t    *testing.T
	db   *dynamodb.Client
	name string
	rec  *dbtrace.Recorder
	s    *store.Store
	live *store.Store
}

func newMigration(t *testing.T, wrap func(store.DB) store.DB) *migration {
	t.Helper()
	db, name := testenv.DB(t)
	now := func() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }
	var inner store.DB = db
	if wrap != nil {
		inner = wrap(db)
	}
	rec := dbtrace.New(inner)
	return &migration{t: t, db: db, name: name, rec: rec,
		s:    store.New(rec, name, catalog.Default(), now),
		live: store.New(db, name, catalog.Default(), now)}
}

func (m *migration) put(v any) {
	m.t.Helper()
	it, err := attributevalue.MarshalMap(v)
	if err != nil {
		m.t.Fatal(err)
	}
	if _, err := m.db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(m.name), Item: it}); err != nil {
		m.t.Fatal(err)
	}
}

// legacyAccount is an account of layout 1 with the owner receiving ownerTypes, contacts (email,
// first name, last name, email types) and a member "<id>-user" with contacts:read and write.
type legacyAccount struct {
	id       string
	contacts map[string]domain.Contact // by email
	member   auth.Caller
}

func (m *migration) legacyAccount(name string, ownerTypes []string, contacts [][]string) legacyAccount {
	m.t.Helper()
	created := time.Now().Add(-48 * time.Hour).UTC().Truncate(time.Millisecond)
	id := ids.New(ids.Account)
	acc := domain.Account{ID: id, Name: name, Type: "customer",
		Owner:           domain.Owner{FirstName: "Olive", LastName: "Owner", Email: "owner@" + strings.ToLower(strings.ReplaceAll(name, " ", "")) + ".example"},
		OwnerEmailTypes: ownerTypes, CreatedAt: created, UpdatedAt: created, Version: 1}
	counts := domain.Recipients(ownerTypes)
	la := legacyAccount{id: id, contacts: map[string]domain.Contact{}}
	for _, row := range contacts {
		c := domain.Contact{ID: ids.New(ids.Contact), AccountID: id, Email: row[0], FirstName: row[1], LastName: row[2],
			EmailTypes: strings.Fields(row[3]), CreatedAt: created, UpdatedAt: created, Version: 1}
		for _, typ := range c.EmailTypes {
			counts[typ]++
		}
		m.put(legacyContactItem{Key: table.Contact(id, c.ID), Entity: "contact", Contact: c,
			Search: strings.ToLower(strings.Join([]string{c.Email, c.FirstName, c.LastName}, " "))})
		m.put(legacyContactEmailItem{Key: table.ContactEmail(id, domain.NormaliseEmail(c.Email)), Entity: "contactEmail", ContactID: c.ID})
		la.contacts[c.Email] = c
	}
	site := domain.Site{ID: ids.New(ids.Site), AccountID: id, Name: domain.MainSiteName(acc), Main: true}
	m.put(legacyAccountItem{Key: table.Account(id), GSI1PK: table.AccountsGSI1PK, GSI1SK: table.AccountsGSI1SK(acc.Name, id),
		Entity: "account", MainSiteID: site.ID, OwnerSub: id + "-owner", Account: acc, Recipients: counts})
	// The owner accepted its invitation (with another login email than the owner email).
	owner := domain.User{ID: id + "-owner", AccountID: id, Email: "olive@login.example", Role: domain.RoleOwner, Permissions: []string{}, JoinedAt: created}
	opk, osk := table.UserGSI1(id, owner.ID)
	m.put(legacyUserItem{Key: table.User(id, owner.ID), GSI1PK: opk, GSI1SK: osk, Entity: "user", User: owner})
	m.put(legacyUserEmailItem{Key: table.UserEmail(id, domain.NormaliseEmail(owner.Email)), Entity: "userEmail", Sub: owner.ID})
	m.put(legacySiteItem{Key: table.Site(id, site.ID), GSI1PK: table.SitesGSI1PK(id), GSI1SK: site.ID, Entity: "site", Site: site})
	m.put(legacyUserEmailItem{Key: table.UserEmail(id, domain.NormaliseEmail(acc.Owner.Email)), Entity: "userEmail", Owner: true})
	sub := id + "-user"
	u := domain.User{ID: sub, AccountID: id, Email: sub + "@example.com", Role: domain.RoleUser,
		Permissions: []string{routes.ContactsRead, routes.ContactsWrite}, JoinedAt: created}
	pk, sk := table.UserGSI1(id, sub)
	m.put(legacyUserItem{Key: table.User(id, sub), GSI1PK: pk, GSI1SK: sk, Entity: "user", User: u})
	m.put(legacyUserEmailItem{Key: table.UserEmail(id, domain.NormaliseEmail(u.Email)), Entity: "userEmail", Sub: sub})
	la.member = auth.Caller{Sub: sub, Email: u.Email}
	return la
}

// counter is the count of email type typ's recipients in account id as its counter item holds it
// (-1: no counter item).
func (m *migration) counter(id, typ string) int {
	m.t.Helper()
	k, _ := attributevalue.MarshalMap(table.RecipientCounter(id, typ))
	out, err := m.db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(m.name), Key: k, ConsistentRead: aws.Bool(true)})
	if err != nil {
		m.t.Fatal(err)
	}
	if out.Item == nil {
		return -1
	}
	var c struct {
		N int `dynamodbav:"n"`
	}
	if err := attributevalue.UnmarshalMap(out.Item, &c); err != nil {
		m.t.Fatal(err)
	}
	return c.N
}

// found lists the emails of the contacts of account id that filter f finds, sorted.
func (m *migration) found(c auth.Caller, id string, f store.ContactFilter) []string {
	m.t.Helper()
	page, err := m.live.ListContacts(context.Background(), c, id, f, store.MaxLimit, "")
	if err != nil {
		m.t.Fatalf("list %+v: %v", f, err)
	}
	var out []string
	for _, c := range page.Items {
		out = append(out, c.Email)
	}
	slices.Sort(out)
	return out
}

func (m *migration) myAccounts(c auth.Caller) []domain.AccountSummary {
	m.t.Helper()
	page, err := m.live.ListMyAccounts(context.Background(), c, store.MaxLimit, "")
	if err != nil {
		m.t.Fatal(err)
	}
	var out []domain.AccountSummary
	for _, a := range page.Items {
		out = append(out, a.Account)
	}
	return out
}

func (m *migration) migrate() store.MigrationReport {
	m.t.Helper()
	rep, err := m.s.Migrate(context.Background(), nil)
	if err != nil {
		m.t.Fatalf("migrate: %v", err)
	}
	return rep
}

// writes counts the recorded calls that write, and forgets every recorded call.
func (m *migration) writes() (writes int, calls []dbtrace.Call) {
	calls = m.rec.Take()
	for _, c := range calls {
		switch c.Op {
		case "TransactWriteItems", "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem":
			writes++
		}
	}
	return writes, calls
}

func wantEqual[T comparable](t *testing.T, what string, got, want []T) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: got %v, want %v", what, got, want)
	}
}

func wantLastRecipient(t *testing.T, err error, types ...string) {
	t.Helper()
	var ae *apperr.Error
	if !errors.As(err, &ae) || ae.Status != http.StatusConflict || ae.Code != apperr.CodeLastRecipient {
		t.Fatalf("got %v, want 409 last_recipient for %v", err, types)
	}
}

func set[T any](v T) domain.Optional[T] { return domain.Optional[T]{Set: true, Value: v} }

// TestMigrationBringsLegacyDataUpToTheCurrentLayout writes an account as the code before
// 680c796 did, lets the current code change it (as it does between the deploy and the
// migration), migrates, and checks through the store that filters find the old contacts,
// /me/accounts has the names, the counts are legacy + the changes since the deploy, R18 refuses
// and allows what it should, and that a second run reads one item and writes nothing.
func TestMigrationBringsLegacyDataUpToTheCurrentLayout(t *testing.T) {
	ctx := context.Background()
	m := newMigration(t, nil)
	// Owner: billing, service. Counts: billing 2, service 2, security 2, marketing 1.
	a := m.legacyAccount("Legacy Co", []string{"billing", "service"}, [][]string{
		{"ada@legacy.example", "Ada", "Lovelace", "security billing"},
		{"bob@legacy.example", "Bob", "Builder", "security"},
		{"cy@legacy.example", "Cy", "Twain", "marketing service"},
	})
	other := m.legacyAccount("Other Ltd", []string{"billing", "service", "security", "marketing"}, nil)
	ada, bob, cy := a.contacts["ada@legacy.example"], a.contacts["bob@legacy.example"], a.contacts["cy@legacy.example"]

	// Before the migration: the filters do not find the old contacts, and R18 refuses too much
	// (the counter items hold only the changes since the deploy), never too little.
	if got := m.found(a.member, a.id, store.ContactFilter{Text: "ada"}); len(got) != 0 {
		t.Fatalf("before the migration ?q=ada found %v; the test's legacy data is not legacy", got)
	}
	if err := m.live.DeleteContact(ctx, migOperator, a.id, cy.ID, 0); err == nil {
		t.Fatal("before the migration a delete that lowers a type with no counter item went through")
	} else {
		wantLastRecipient(t, err, "marketing", "service")
	}
	// The current code's changes between the deploy and the migration: a new marketing recipient
	// and one more billing recipient.
	dee, err := domain.NewContact(ids.New(ids.Contact), a.id, domain.CreateContactInput{Email: "dee@legacy.example", FirstName: "Dee", LastName: "New", EmailTypes: []string{"marketing"}}, catalog.Default(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := m.live.CreateContact(ctx, migOperator, dee, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := m.live.UpdateContact(ctx, a.member, a.id, bob.ID, domain.UpdateContactInput{EmailTypes: set([]string{"security", "billing"})}, 0); err != nil {
		t.Fatal(err)
	}
	if n := m.counter(a.id, "marketing"); n != 1 {
		t.Fatalf("marketing counter before the migration: %d, want 1 (the change since the deploy)", n)
	}
	m.rec.Take()

	rep := m.migrate()
	t.Logf("first run: %+v", rep)
	if rep.From != 1 || rep.To != store.SchemaVersion || rep.Current || rep.Accounts != 2 || rep.Counters != 2 || rep.Memberships != 4 || rep.OwnerLogins != 2 || rep.Contacts != 2 {
		t.Errorf("report %+v: want from 1, 2 accounts, 2 counters moved, 4 memberships (an owner and a user each), 2 owner logins, 2 contacts (ada and cy: bob was indexed by its update, dee by its create)", rep)
	}
	writes, calls := m.writes()
	t.Logf("first run: %d calls, %d writes", len(calls), writes)

	for typ, want := range map[string]int{"billing": 3, "service": 2, "security": 2, "marketing": 2} {
		if n := m.counter(a.id, typ); n != want {
			t.Errorf("counter %s: %d, want %d (legacy + the changes since the deploy)", typ, n, want)
		}
	}
	for _, typ := range []string{"billing", "service", "security", "marketing"} {
		if n := m.counter(other.id, typ); n != 1 {
			t.Errorf("other account's counter %s: %d, want 1 (its owner)", typ, n)
		}
	}
	wantEqual(t, "?q=ada", m.found(a.member, a.id, store.ContactFilter{Text: "ada"}), []string{"ada@legacy.example"})
	wantEqual(t, "?q=lovel", m.found(a.member, a.id, store.ContactFilter{Text: "lovel"}), []string{"ada@legacy.example"})
	wantEqual(t, "?q=cy twain", m.found(a.member, a.id, store.ContactFilter{Text: "cy twain"}), []string{"cy@legacy.example"})
	wantEqual(t, "?emailType=security", m.found(a.member, a.id, store.ContactFilter{EmailType: "security"}), []string{"ada@legacy.example", "bob@legacy.example"})
	wantEqual(t, "?emailType=marketing", m.found(a.member, a.id, store.ContactFilter{EmailType: "marketing"}), []string{"cy@legacy.example", "dee@legacy.example"})
	wantEqual(t, "?emailType=billing", m.found(a.member, a.id, store.ContactFilter{EmailType: "billing"}), []string{"ada@legacy.example", "bob@legacy.example"})
	wantEqual(t, "/me/accounts", m.myAccounts(a.member), []domain.AccountSummary{{ID: a.id, Name: "Legacy Co", Type: "customer"}})
	// The membership carries the copy now (ListMyAccounts would otherwise read the account).
	k, _ := attributevalue.MarshalMap(table.User(a.id, a.member.Sub))
	out, err := m.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(m.name), Key: k, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if name, ok := out.Item["accountName"].(*types.AttributeValueMemberS); !ok || name.Value != "Legacy Co" {
		t.Errorf("membership after the migration: accountName %v", out.Item["accountName"])
	}
	k, _ = attributevalue.MarshalMap(table.Account(a.id))
	if out, err = m.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(m.name), Key: k, ConsistentRead: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if _, ok := out.Item["recipients"]; ok {
		t.Error("the account item still holds the legacy counts")
	}
	if login, ok := out.Item["ownerLogin"].(*types.AttributeValueMemberS); !ok || login.Value != "olive@login.example" {
		t.Errorf("the account's ownerLogin after the migration: %v, want the owner membership's email", out.Item["ownerLogin"])
	}

	// A second run reads the schema item and nothing else.
	if rep := m.migrate(); !rep.Current || rep.From != store.SchemaVersion {
		t.Errorf("second run: %+v, want Current", rep)
	}
	if writes, calls := m.writes(); writes != 0 || len(calls) != 1 || calls[0].Op != "GetItem" {
		t.Errorf("second run made %d writes in %d calls (%v); want one GetItem", writes, len(calls), calls)
	}
	// Without the schema item (a run that stopped before writing it), a run finds nothing left to
	// do: its only write is the schema item.
	k, _ = attributevalue.MarshalMap(table.SchemaVersion())
	if _, err := m.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(m.name), Key: k}); err != nil {
		t.Fatal(err)
	}
	if rep := m.migrate(); rep.Counters+rep.Memberships+rep.OwnerLogins+rep.Contacts != 0 {
		t.Errorf("a run over migrated data changed something: %+v", rep)
	}
	if writes, calls := m.writes(); writes != 1 {
		t.Errorf("a run over migrated data made %d writes (%v); want 1 (the schema item)", writes, calls)
	}

	// R18 with the migrated counts: one of two marketing recipients may go, the last may not.
	if err := m.live.DeleteContact(ctx, migOperator, a.id, cy.ID, 0); err != nil {
		t.Fatalf("delete one of two marketing recipients: %v", err)
	}
	wantLastRecipient(t, m.live.DeleteContact(ctx, migOperator, a.id, dee.ID, 0), "marketing")
	if _, err := m.live.UpdateContact(ctx, a.member, a.id, ada.ID, domain.UpdateContactInput{EmailTypes: set([]string{"billing"})}, 0); err != nil {
		t.Fatalf("remove security from one of its two recipients: %v", err)
	}
	_, err = m.live.UpdateContact(ctx, a.member, a.id, bob.ID, domain.UpdateContactInput{EmailTypes: set([]string{"billing"})}, 0)
	wantLastRecipient(t, err, "security")
	wantEqual(t, "?emailType=security after the changes", m.found(a.member, a.id, store.ContactFilter{EmailType: "security"}), []string{"bob@legacy.example"})
}

// hooked calls before with each TransactWriteItems before forwarding it (and after, when it
// returns an error, returns that instead of the answer): where a live write lands between the
// migration's read and its write, or a fault, deterministically.
type hooked struct {
	store.DB
	before func(in *dynamodb.TransactWriteItemsInput) error
	after  func(in *dynamodb.TransactWriteItemsInput) error
}

func (h hooked) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if h.before != nil {
		if err := h.before(in); err != nil {
			return nil, err
		}
	}
	out, err := h.DB.TransactWriteItems(ctx, in, o...)
	if err == nil && h.after != nil {
		err = h.after(in)
	}
	return out, err
}

// touches reports whether transaction in has an item of the given kind ("check", "update",
// "put", "delete") whose sort key is sk.
func touches(in *dynamodb.TransactWriteItemsInput, kind, sk string) bool {
	for _, w := range in.TransactItems {
		var key map[string]types.AttributeValue
		switch {
		case kind == "check" && w.ConditionCheck != nil:
			key = w.ConditionCheck.Key
		case kind == "update" && w.Update != nil:
			key = w.Update.Key
		case kind == "put" && w.Put != nil:
			key = w.Put.Item
		case kind == "delete" && w.Delete != nil:
			key = w.Delete.Key
		}
		if s, ok := key[table.SK].(*types.AttributeValueMemberS); ok && s.Value == sk {
			return true
		}
	}
	return false
}

// TestMigrationUnderConcurrentLiveWrites lands a write of the current code (and one of the old
// code, as during a canary deploy) between each of the migration's reads and the write that
// depends on it, and checks that the migration loses each race cleanly: it reads again, keeps
// the concurrent change and counts exactly once.
func TestMigrationUnderConcurrentLiveWrites(t *testing.T) {
	ctx := context.Background()
	var m *migration
	var la legacyAccount
	var renamed, oldCodeCount, liveCreate, adaUpdate, bobDelete, cyBounce sync.Once
	fail := func(err error) {
		if err != nil {
			t.Error(err)
		}
	}
	m = newMigration(t, func(db store.DB) store.DB {
		return hooked{DB: db, before: func(in *dynamodb.TransactWriteItemsInput) error {
			ada, bob, cy := la.contacts["ada@legacy.example"], la.contacts["bob@legacy.example"], la.contacts["cy@legacy.example"]
			switch {
			case touches(in, "update", table.User(la.id, la.member.Sub).SK):
				renamed.Do(func() {
					_, err := m.live.UpdateAccount(ctx, migOperator, la.id, domain.UpdateAccountInput{Name: set("Renamed Co")}, 0)
					fail(err)
				})
			case touches(in, "update", table.AccountSK):
				oldCodeCount.Do(func() {
					// The code before 680c796 (still serving part of the traffic during a canary
					// deploy) adds a security recipient to the legacy counts...
					k, _ := attributevalue.MarshalMap(table.Account(la.id))
					_, err := m.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(m.name), Key: k,
						UpdateExpression:         aws.String("SET recipients.#t = recipients.#t + :one"),
						ExpressionAttributeNames: map[string]string{"#t": "security"}, ExpressionAttributeValues: map[string]types.AttributeValue{":one": &types.AttributeValueMemberN{Value: "1"}}})
					fail(err)
				})
				liveCreate.Do(func() {
					// ...and the current code one to the counter item.
					c, err := domain.NewContact(ids.New(ids.Contact), la.id, domain.CreateContactInput{Email: "eve@legacy.example", EmailTypes: []string{"security"}}, catalog.Default(), time.Now())
					fail(err)
					fail(m.live.CreateContact(ctx, migOperator, c, nil, nil))
				})
			case touches(in, "check", table.Contact(la.id, ada.ID).SK):
				adaUpdate.Do(func() {
					_, err := m.live.UpdateContact(ctx, la.member, la.id, ada.ID, domain.UpdateContactInput{LastName: set("Byron"), EmailTypes: set([]string{"billing"})}, 0)
					fail(err)
				})
			case touches(in, "check", table.Contact(la.id, bob.ID).SK):
				bobDelete.Do(func() { fail(m.live.DeleteContact(ctx, migOperator, la.id, bob.ID, 0)) })
			case touches(in, "check", table.Contact(la.id, cy.ID).SK):
				cyBounce.Do(func() {
					// The stream function marks a hard bounce on the contact as sesevents does (no new
					// version), then on its index items, which do not exist yet.
					k, _ := attributevalue.MarshalMap(table.Contact(la.id, cy.ID))
					st, _ := attributevalue.Marshal(domain.EmailStatus{Status: domain.EmailUndeliverable, At: time.Now().UTC(), Reason: "bounce"})
					gpk, gsk := table.UndeliverableContactGSI1(la.id, cy.ID)
					_, err := m.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(m.name), Key: k,
						UpdateExpression: aws.String("SET emailStatus = :s, GSI1PK = :p, GSI1SK = :k"),
						ExpressionAttributeValues: map[string]types.AttributeValue{":s": st,
							":p": &types.AttributeValueMemberS{Value: gpk}, ":k": &types.AttributeValueMemberS{Value: gsk}}})
					fail(err)
				})
			}
			return nil
		}}
	})
	// Counts: billing 2 (owner, ada), service 1, security 3 (ada, bob, cy), marketing 1.
	la = m.legacyAccount("Legacy Co", []string{"billing", "service", "marketing"}, [][]string{
		{"ada@legacy.example", "Ada", "Lovelace", "security billing"},
		{"bob@legacy.example", "Bob", "Builder", "security"},
		{"cy@legacy.example", "Cy", "Twain", "security"},
	})
	rep := m.migrate()
	t.Logf("report: %+v", rep)
	if rep.Retries != 5 {
		t.Errorf("retries: %d, want 5 (membership, counters, ada, bob, cy)", rep.Retries)
	}
	// Security: legacy 3, +1 by the old code, +1 (eve) by the current code, -1 (ada's update),
	// -1 (bob's delete).
	for typ, want := range map[string]int{"billing": 2, "service": 1, "security": 3, "marketing": 1} {
		if n := m.counter(la.id, typ); n != want {
			t.Errorf("counter %s: %d, want %d", typ, n, want)
		}
	}
	wantEqual(t, "/me/accounts", m.myAccounts(la.member), []domain.AccountSummary{{ID: la.id, Name: "Renamed Co", Type: "customer"}})
	wantEqual(t, "?q=lovel", m.found(la.member, la.id, store.ContactFilter{Text: "lovel"}), nil)
	wantEqual(t, "?q=byron", m.found(la.member, la.id, store.ContactFilter{Text: "byron"}), []string{"ada@legacy.example"})
	wantEqual(t, "?q=bob", m.found(la.member, la.id, store.ContactFilter{Text: "bob"}), nil)
	wantEqual(t, "?emailType=security", m.found(la.member, la.id, store.ContactFilter{EmailType: "security"}), []string{"cy@legacy.example", "eve@legacy.example"})
	wantEqual(t, "?emailType=billing", m.found(la.member, la.id, store.ContactFilter{EmailType: "billing"}), []string{"ada@legacy.example"})
	// cy's entries carry the bounce marked between the migration's read and its write.
	page, err := m.live.ListContacts(ctx, la.member, la.id, store.ContactFilter{Text: "twain"}, store.MaxLimit, "")
	if err != nil || len(page.Items) != 1 || page.Items[0].EmailStatus == nil || page.Items[0].EmailStatus.Status != domain.EmailUndeliverable {
		t.Errorf("?q=twain: %+v, %v; want cy, undeliverable", page.Items, err)
	}
	// Nothing of bob's is left behind.
	bob := la.contacts["bob@legacy.example"].ID
	for _, it := range m.scan() {
		if sk := it["SK"].(*types.AttributeValueMemberS).Value; strings.Contains(sk, bob) {
			t.Errorf("an item of deleted contact bob is left: %s", sk)
		}
	}
}

// scan returns every item of the test's table.
func (m *migration) scan() []map[string]types.AttributeValue {
	m.t.Helper()
	var out []map[string]types.AttributeValue
	p := dynamodb.NewScanPaginator(m.db, &dynamodb.ScanInput{TableName: aws.String(m.name), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			m.t.Fatal(err)
		}
		out = append(out, page.Items...)
	}
	return out
}

// TestMigrationResumesAfterAFailureAndCountsOnce makes a first run fail after the counters'
// transaction committed but its answer was lost (and on the first contact's transaction), then
// runs again: the second run finishes the work and adds the legacy counts once, not twice.
func TestMigrationResumesAfterAFailureAndCountsOnce(t *testing.T) {
	var faults atomic.Bool
	faults.Store(true)
	lost := errors.New("injected: connection reset after the transaction was sent")
	var m *migration
	m = newMigration(t, func(db store.DB) store.DB {
		return hooked{DB: db,
			before: func(in *dynamodb.TransactWriteItemsInput) error {
				if first := in.TransactItems[0].ConditionCheck; faults.Load() && first != nil &&
					strings.HasPrefix(first.Key[table.SK].(*types.AttributeValueMemberS).Value, table.ContactPrefix) {
					return errors.New("injected: throttled") // a contact's index transaction
				}
				return nil
			},
			after: func(in *dynamodb.TransactWriteItemsInput) error {
				if faults.Load() && touches(in, "update", table.AccountSK) {
					return lost
				}
				return nil
			}}
	})
	a := m.legacyAccount("Legacy Co", []string{"billing", "service", "security", "marketing"}, [][]string{
		{"ada@legacy.example", "Ada", "Lovelace", "security billing"},
		{"bob@legacy.example", "Bob", "Builder", "marketing"},
	})
	if _, err := m.s.Migrate(context.Background(), nil); !errors.Is(err, lost) {
		t.Fatalf("first run: %v, want the injected fault", err)
	}
	if n := m.counter(a.id, "security"); n != 2 {
		t.Fatalf("after the failed run: security counter %d, want 2 (the transaction committed)", n)
	}
	faults.Store(false)
	m.rec.Take()
	rep := m.migrate()
	t.Logf("second run: %+v", rep)
	if rep.From != 1 || rep.Counters != 0 || rep.Contacts != 2 {
		t.Errorf("second run: %+v, want from 1, no counters moved again, 2 contacts indexed", rep)
	}
	for typ, want := range map[string]int{"billing": 2, "service": 1, "security": 2, "marketing": 2} {
		if n := m.counter(a.id, typ); n != want {
			t.Errorf("counter %s: %d, want %d (the legacy count, once)", typ, n, want)
		}
	}
	wantEqual(t, "?q=b", m.found(a.member, a.id, store.ContactFilter{Text: "b"}), []string{"bob@legacy.example"})
	if rep := m.migrate(); !rep.Current {
		t.Errorf("third run: %+v, want Current", rep)
	}
}
