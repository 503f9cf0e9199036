package store

import (
	"context"
	"slices"
	"testing"

	"rollcall/shared/apperr"
	"rollcall/shared/domain"
	"rollcall/shared/ids"
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
