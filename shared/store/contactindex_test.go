package store

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"rollcall/shared/apperr"
	"rollcall/shared/domain"
	"rollcall/shared/ids"
	"rollcall/shared/table"
)

func TestFoldSearch(t *testing.T) {
	for in, want := range map[string]string{
		"  Zoë   O'Brien ":  "zoe o'brien",
		"ÉMILE@Exâmple.com": "emile@example.com",
		"Łukasz":            "łukasz", // a letter of its own, not an accented l
		"":                  "",
	} {
		if got := domain.FoldSearch(in); got != want {
			t.Errorf("FoldSearch(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSearchFindsPrefixesOnceFoldedAndPagesWithOneQuery: ?q= matches a prefix of the email, first,
// last or full name, ignoring case and accents; a contact found by several terms is listed once,
// also across pages; each page is one Query; cursors are of their own search only; updates,
// relationship changes (version, updatedAt) and deletes keep the entries current.
func TestSearchFindsPrefixesOnceFoldedAndPagesWithOneQuery(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, other := f.account(domain.AccountCustomer), f.account(domain.AccountCustomer)
	mk := func(email, first, last string, types ...string) domain.Contact {
		c, err := domain.NewContact(ids.New(ids.Contact), a.ID, domain.CreateContactInput{Email: email, FirstName: first, LastName: last, EmailTypes: types}, f.s.cat, f.s.now())
		if err != nil {
			t.Fatal(err)
		}
		if err := f.s.CreateContact(ctx, operator, c, nil, nil); err != nil {
			t.Fatal(err)
		}
		return c
	}
	zoe := mk("zoe@example.com", "Zoë", "Zoeller", "billing") // three terms start with "zo"
	mk("anna@example.com", "Anna", "Zorn")
	mk("zed@example.com", "Zed", "Ames", "marketing")
	mk("bob@example.com", "Bob", "Builder")
	names := func(p Page[domain.Contact]) []string {
		var out []string
		for _, c := range p.Items {
			out = append(out, c.Email)
		}
		return out
	}
	search := func(q string, limit int, cursor string) Page[domain.Contact] {
		t.Helper()
		f.calls.reset()
		p, err := f.s.ListContacts(ctx, operator, a.ID, ContactFilter{Text: q}, limit, cursor)
		if err != nil {
			t.Fatalf("search %q: %v", q, err)
		}
		if n := f.calls.reset()["Query"]; n != 1 {
			t.Errorf("search %q: %d queries, want 1", q, n)
		}
		return p
	}
	if got := names(search("ZO", 10, "")); !slices.Equal(got, []string{"zoe@example.com", "anna@example.com"}) {
		t.Errorf("zo: %v", got)
	}
	if got := names(search("zoë z", 10, "")); !slices.Equal(got, []string{"zoe@example.com"}) {
		t.Errorf("full name: %v", got)
	}
	if got := names(search("nobody", 10, "")); len(got) != 0 {
		t.Errorf("nobody: %v", got)
	}
	// Page by one: each contact once, in term order.
	var paged []string
	cursor := ""
	for range 10 {
		p := search("z", 1, cursor)
		paged = append(paged, names(p)...)
		if cursor = p.Next; cursor == "" {
			break
		}
	}
	if want := []string{"zed@example.com", "zoe@example.com", "anna@example.com"}; !slices.Equal(paged, want) {
		t.Errorf("paged z: %v, want %v", paged, want)
	}
	first := search("z", 1, "")
	for _, bad := range []func() error{
		func() error {
			_, err := f.s.ListContacts(ctx, operator, a.ID, ContactFilter{Text: "b"}, 1, first.Next)
			return err
		},
		func() error {
			_, err := f.s.ListContacts(ctx, operator, a.ID, ContactFilter{}, 1, first.Next)
			return err
		},
		func() error {
			_, err := f.s.ListContacts(ctx, operator, other.ID, ContactFilter{Text: "z"}, 1, first.Next)
			return err
		},
		func() error {
			_, err := f.s.ListContacts(ctx, operator, a.ID, ContactFilter{Text: "z"}, 1, first.Next[:len(first.Next)-2]+"xx")
			return err
		},
	} {
		wantCode(t, bad(), 400, apperr.CodeValidation)
	}
	// By email type: one Query, in id order.
	f.calls.reset()
	typ, err := f.s.ListContacts(ctx, operator, a.ID, ContactFilter{EmailType: "marketing"}, 10, "")
	if n := f.calls.reset()["Query"]; err != nil || !slices.Equal(names(typ), []string{"zed@example.com"}) || n != 1 {
		t.Fatalf("marketing: %v %v (%d queries)", names(typ), err, n)
	}
	both, err := f.s.ListContacts(ctx, operator, a.ID, ContactFilter{Text: "z", EmailType: "billing"}, 10, "")
	if err != nil || !slices.Equal(names(both), []string{"zoe@example.com"}) {
		t.Fatalf("z and billing: %v %v", names(both), err)
	}
	// An update moves the entries; the copies carry the new version.
	if _, err := f.s.UpdateContact(ctx, operator, a.ID, zoe.ID, domain.UpdateContactInput{FirstName: domain.Optional[string]{Set: true, Value: "Chloé"},
		EmailTypes: domain.Optional[[]string]{Set: true, Value: []string{"marketing"}}}, 0); err != nil {
		t.Fatal(err)
	}
	if got := names(search("chloe", 10, "")); !slices.Equal(got, []string{"zoe@example.com"}) {
		t.Errorf("after rename: %v", got)
	}
	if got := search("zoë", 10, ""); len(got.Items) != 1 || got.Items[0].Version != 2 || got.Items[0].FirstName != "Chloé" {
		t.Errorf("old first name still found, or stale copy: %+v", got.Items)
	}
	typ, _ = f.s.ListContacts(ctx, operator, a.ID, ContactFilter{EmailType: "marketing"}, 10, "")
	billing, _ := f.s.ListContacts(ctx, operator, a.ID, ContactFilter{EmailType: "billing"}, 10, "")
	if !slices.Equal(names(typ), []string{"zoe@example.com", "zed@example.com"}) || len(billing.Items) != 0 {
		t.Errorf("types after update: marketing %v billing %v", names(typ), names(billing))
	}
	// A relationship change bumps the contact's version and updatedAt, in its copies too.
	site := f.mainSite(a.ID)
	if _, err := f.s.PutRelationship(ctx, operator, a.ID, site, zoe.ID, []string{"Technical"}, nil); err != nil {
		t.Fatal(err)
	}
	cur, err := f.s.GetContact(ctx, operator, a.ID, zoe.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := search("chloe", 10, "")
	typ, _ = f.s.ListContacts(ctx, operator, a.ID, ContactFilter{EmailType: "marketing"}, 10, "")
	if len(got.Items) != 1 || got.Items[0].FirstName != "Chloé" || got.Items[0].Version != cur.Version || cur.Version != 3 ||
		!got.Items[0].UpdatedAt.Equal(cur.UpdatedAt) || len(typ.Items) != 2 || typ.Items[0].Version != cur.Version {
		t.Errorf("after a relationship: search %+v, type %+v, contact version %d", got.Items, typ.Items, cur.Version)
	}
	if err := f.s.DeleteContact(ctx, operator, a.ID, zoe.ID, 0); err != nil {
		t.Fatal(err)
	}
	for _, it := range f.items() {
		if it["id"] == zoe.ID {
			t.Errorf("left after delete: %v %v", it["PK"], it["SK"])
		}
	}
	if got := names(search("z", 10, "")); !slices.Equal(got, []string{"zed@example.com", "anna@example.com"}) {
		t.Errorf("after delete: %v", got)
	}
}

// TestSearchWithATypeIsOneRoundTrip: ?q= with ?emailType= runs the search entries (filtered by
// the type) and the type's entries (filtered by the search) side by side: a type with few
// recipients answers from its own entries, complete, in id order; a selective search from the
// search entries; each page is one round of Queries, and a cursor continues the search.
func TestSearchWithATypeIsOneRoundTrip(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := f.account(domain.AccountCustomer)
	var want []string // the marketing recipients named Ann*, in id order
	var legacy []domain.Contact
	for i := range 150 {
		in := domain.CreateContactInput{Email: fmt.Sprintf("ann%03d@example.com", i), FirstName: "Ann", LastName: fmt.Sprint("Lee", i), EmailTypes: []string{"billing"}}
		if i%50 == 7 {
			in.EmailTypes = append(in.EmailTypes, "marketing")
		}
		c, err := domain.NewContact(ids.New(ids.Contact), a.ID, in, f.s.cat, f.s.now())
		if err != nil {
			t.Fatal(err)
		}
		if err := f.s.CreateContact(ctx, operator, c, nil, nil); err != nil {
			t.Fatal(err)
		}
		if i%50 == 7 {
			want = append(want, c.Email)
			legacy = append(legacy, c)
		}
	}
	// A marketing recipient not named Ann, and two type entries as written before termsText.
	bo, err := domain.NewContact(ids.New(ids.Contact), a.ID, domain.CreateContactInput{Email: "bo@example.com", EmailTypes: []string{"marketing"}}, f.s.cat, f.s.now())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.s.CreateContact(ctx, operator, bo, nil, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []domain.Contact{legacy[0], bo} {
		k, _ := attributevalue.MarshalMap(table.ContactType(a.ID, "marketing", c.ID))
		if _, err := f.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(f.name), Key: k, UpdateExpression: aws.String("REMOVE termsText")}); err != nil {
			t.Fatal(err)
		}
	}
	list := func(q, typ string, limit int, cursor string) (Page[domain.Contact], int) {
		t.Helper()
		f.calls.reset()
		p, err := f.s.ListContacts(ctx, operator, a.ID, ContactFilter{Text: q, EmailType: typ}, limit, cursor)
		if err != nil {
			t.Fatalf("%q %q: %v", q, typ, err)
		}
		return p, f.calls.reset()["Query"]
	}
	emails := func(p Page[domain.Contact]) []string {
		var out []string
		for _, c := range p.Items {
			out = append(out, c.Email)
		}
		return out
	}
	// Few recipients of the type (4, one not named Ann), a search matching 150: the type's
	// entries answer, older entries checked against the contact's terms.
	p, n := list("ann", "marketing", 50, "")
	if !slices.Equal(emails(p), want) || p.Next != "" || n != 2 {
		t.Errorf("ann+marketing: %v next %q, %d queries (want %v, no cursor, 2 in parallel)", emails(p), p.Next, n, want)
	}
	// A selective search (one contact), a type of 150: the search entries answer.
	p, n = list("ann042", "billing", 50, "")
	if !slices.Equal(emails(p), []string{"ann042@example.com"}) || p.Next != "" || n != 2 {
		t.Errorf("ann042+billing: %v next %q, %d queries", emails(p), p.Next, n)
	}
	// Neither selective: pages of the search, each one Query, until the end; every contact once.
	var all []string
	cursor := ""
	for range 20 {
		p, n := list("ann", "billing", 40, cursor)
		if (cursor == "" && n != 2) || (cursor != "" && n != 1) {
			t.Fatalf("page after %q: %d queries", cursor, n)
		}
		all = append(all, emails(p)...)
		if cursor = p.Next; cursor == "" {
			break
		}
	}
	if len(all) != 150 || len(slices.Compact(slices.Sorted(slices.Values(all)))) != 150 {
		t.Errorf("ann+billing paged: %d contacts, %d distinct", len(all), len(slices.Compact(slices.Sorted(slices.Values(all)))))
	}
	// A page of the search (the type's page is cut by the limit) continues with its cursor.
	p, _ = list("ann", "marketing", 2, "")
	if len(p.Items) != 2 || p.Next == "" {
		t.Fatalf("ann+marketing by 2: %v %q", emails(p), p.Next)
	}
	q, n := list("ann", "marketing", 2, p.Next)
	if got := append(emails(p), emails(q)...); !slices.Equal(slices.Sorted(slices.Values(got)), want) || n != 1 {
		t.Errorf("ann+marketing paged: %v %v (%d queries)", emails(p), emails(q), n)
	}
}
