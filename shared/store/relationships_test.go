package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"rollcall/shared/apperr"
	"rollcall/shared/auth"
	"rollcall/shared/domain"
	"rollcall/shared/ids"
	"rollcall/shared/routes"
	"rollcall/shared/table"
)

var welcomePerms = []string{routes.ContactsRead}

// mainSite returns the id of the main site of account accountID.
func (f *fixture) mainSite(accountID string) string {
	f.t.Helper()
	p, err := f.s.ListSites(context.Background(), operator, accountID, 10, "")
	if err != nil || len(p.Items) == 0 || !p.Items[0].Main {
		f.t.Fatalf("main site: %+v %v", p, err)
	}
	return p.Items[0].ID
}

// site adds a further site to account accountID as an operator.
func (f *fixture) site(accountID, name string) string {
	f.t.Helper()
	st, err := domain.NewSite(ids.New(ids.Site), accountID, domain.CreateSiteInput{Name: name})
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.s.CreateSite(context.Background(), operator, st, nil, nil); err != nil {
		f.t.Fatal(err)
	}
	return st.ID
}

func (f *fixture) relate(c auth.Caller, accountID, siteID, contactID string, roles ...string) (RelationshipResult, error) {
	if roles == nil {
		roles = []string{}
	}
	return f.s.PutRelationship(context.Background(), c, accountID, siteID, contactID, roles, welcomePerms)
}

func (f *fixture) mustContact(c auth.Caller, accountID, email string) domain.Contact {
	f.t.Helper()
	ct, err := f.contact(c, accountID, email, "billing")
	if err != nil {
		f.t.Fatal(err)
	}
	return ct
}

func (f *fixture) raw(k table.Key) item {
	f.t.Helper()
	it, err := f.s.get(context.Background(), k)
	if err != nil {
		f.t.Fatal(err)
	}
	return it
}

func (f *fixture) userItem(accountID, sub string) domain.User {
	f.t.Helper()
	u, err := decodeUser(f.raw(table.User(accountID, sub)))
	if err != nil {
		f.t.Fatalf("membership %s: %v", sub, err)
	}
	return u
}

// invitationsOf lists the invitations of an account of kind.
func (f *fixture) invitationsOf(accountID, kind string) []domain.Invitation {
	f.t.Helper()
	var out []domain.Invitation
	for _, it := range f.items() {
		if it["PK"] == table.AccountPK(accountID) && it["entity"] == entityInvitation && it["kind"] == kind {
			m, _ := attributevalue.MarshalMap(it)
			inv, err := decodeInvitation(m)
			if err != nil {
				f.t.Fatal(err)
			}
			out = append(out, inv.Invitation)
		}
	}
	return out
}

// assertRelationshipsConsistent checks, over every item of the account, that each contact's copy
// of its relationships equals its relationship items, that its admin count matches, and that each
// role guard names an existing contact holding the role on the site (and each held unique role
// has its guard).
func (f *fixture) assertRelationshipsConsistent(accountID string) {
	f.t.Helper()
	contacts := map[string]contactItem{}
	rels := map[string]domain.SiteRoles{}
	guards := map[string]string{} // site#role → contact
	for _, it := range f.items() {
		if it["PK"] != table.AccountPK(accountID) {
			continue
		}
		m, _ := attributevalue.MarshalMap(it)
		switch it["entity"] {
		case entityContact:
			c, err := decodeContact(m)
			if err != nil {
				f.t.Fatal(err)
			}
			contacts[c.ID] = c
		case entityRelationship:
			var r domain.Relationship
			if err := attributevalue.UnmarshalMap(m, &r); err != nil {
				f.t.Fatal(err)
			}
			if rels[r.ContactID] == nil {
				rels[r.ContactID] = domain.SiteRoles{}
			}
			rels[r.ContactID][r.SiteID] = r.Roles
		case entityRoleGuard:
			var g roleGuardItem
			if err := attributevalue.UnmarshalMap(m, &g); err != nil {
				f.t.Fatal(err)
			}
			guards[g.SiteID+"#"+g.Role] = g.ContactID
		}
	}
	for id, r := range rels {
		if _, ok := contacts[id]; !ok {
			f.t.Errorf("relationships of missing contact %s: %v", id, r)
		}
	}
	for id, c := range contacts {
		if fmt.Sprint(c.Sites.Relationships()) != fmt.Sprint(rels[id].Relationships()) {
			f.t.Errorf("contact %s lists %v, relationship items %v", id, c.Sites, rels[id])
		}
		if c.AdminRoles != domain.AdminHoldings(c.Sites, f.s.cat) {
			f.t.Errorf("contact %s: adminRoles %d for %v", id, c.AdminRoles, c.Sites)
		}
		for site, roles := range c.Sites {
			for _, r := range roles {
				if role, _ := f.s.cat.Role(r); role.UniquePerSite && guards[site+"#"+r] != id {
					f.t.Errorf("contact %s holds %s on %s but the guard names %q", id, r, site, guards[site+"#"+r])
				}
			}
		}
	}
	for k, holder := range guards {
		site, role, _ := strings.Cut(k, "#")
		c, ok := contacts[holder]
		if !ok {
			f.t.Errorf("guard %s names missing contact %s", k, holder)
			continue
		}
		if !slices.Contains(c.Sites[site], role) {
			f.t.Errorf("guard %s names contact %s, which does not hold it (%v)", k, holder, c.Sites)
		}
	}
}

func TestTwentyConcurrentPrimaryPutsLeaveOneHolder(t *testing.T) {
	f := newFixture(t)
	a := f.account(domain.AccountCustomer)
	owner := f.member(a.ID, "owner", domain.RoleOwner)
	site := f.mainSite(a.ID)
	var contacts []domain.Contact
	for i := range 20 {
		contacts = append(contacts, f.mustContact(operator, a.ID, fmt.Sprintf("p%d@example.com", i)))
	}
	var mu sync.Mutex
	var winners []string
	holders := map[string]int{}
	var wg sync.WaitGroup
	for _, c := range contacts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.relate(owner, a.ID, site, c.ID, "Primary")
			mu.Lock()
			defer mu.Unlock()
			switch e, _ := apperr.As(err); {
			case err == nil:
				winners = append(winners, c.ID)
			case apperr.Is(err, apperr.CodeRoleTaken):
				holders[fmt.Sprint(e.Extra["contactId"])]++
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}()
	}
	wg.Wait()
	if len(winners) != 1 {
		t.Fatalf("%d contacts got Primary: %v", len(winners), winners)
	}
	if holders[winners[0]] != 19 || len(holders) != 1 {
		t.Fatalf("the 19 refusals name %v, want the holder %s", holders, winners[0])
	}
	var g roleGuardItem
	if err := attributevalue.UnmarshalMap(f.raw(table.RoleGuard(a.ID, site, "Primary")), &g); err != nil || g.ContactID != winners[0] {
		t.Fatalf("guard %+v %v, want it to name %s", g, err, winners[0])
	}
	p, err := f.s.ListSiteContacts(context.Background(), owner, a.ID, site, 100, "")
	if err != nil || len(p.Items) != 1 || p.Items[0].ContactID != winners[0] {
		t.Fatalf("site contacts: %+v %v", p, err)
	}
	// Only the winner's first relationship made a welcome invitation.
	if w := f.invitationsOf(a.ID, domain.KindWelcome); len(w) != 1 || w[0].ContactID != winners[0] {
		t.Fatalf("welcome invitations: %+v", w)
	}
	f.assertRelationshipsConsistent(a.ID)
}

func TestRelationshipIsCreatedChangedShownListedAndRemoved(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := f.account(domain.AccountCustomer)
	owner := f.member(a.ID, "owner", domain.RoleOwner)
	site, other := f.mainSite(a.ID), f.site(a.ID, "Annex")
	c := f.mustContact(operator, a.ID, "grace@example.com")

	res, err := f.relate(owner, a.ID, site, c.ID, "Primary", "Technical")
	if err != nil || !res.Created || !slices.Equal(res.Relationship.Roles, []string{"Primary", "Technical"}) || res.Relationship.ContactID != c.ID {
		t.Fatalf("create: %+v %v", res, err)
	}
	audits := len(f.mustAudit(a.ID))
	again, err := f.relate(owner, a.ID, site, c.ID, "Technical", "Primary")
	if err != nil || again.Created || len(f.mustAudit(a.ID)) != audits {
		t.Fatalf("same roles again: %+v %v (it must write nothing)", again, err)
	}
	changed, err := f.relate(owner, a.ID, site, c.ID, "Billing", "Secondary")
	if err != nil || changed.Created || !slices.Equal(changed.Relationship.Roles, []string{"Secondary", "Billing"}) {
		t.Fatalf("change: %+v %v", changed, err)
	}
	if f.raw(table.RoleGuard(a.ID, site, "Primary")) != nil {
		t.Fatal("Primary's guard is kept after the role was given up")
	}
	if _, err := f.relate(owner, a.ID, other, c.ID, "Renewal"); err != nil {
		t.Fatal(err)
	}
	got, err := f.s.GetContact(ctx, owner, a.ID, c.ID)
	want := []domain.Relationship{{SiteID: site, Roles: []string{"Secondary", "Billing"}}, {SiteID: other, Roles: []string{"Renewal"}}}
	slices.SortFunc(want, func(x, y domain.Relationship) int { return strings.Compare(x.SiteID, y.SiteID) })
	if err != nil || fmt.Sprint(got.Relationships) != fmt.Sprint(want) || got.Version != 4 {
		t.Fatalf("contact: %+v %v, want relationships %v at version 4", got, err, want)
	}
	// A PATCH keeps the relationships (and shows them).
	up, err := f.s.UpdateContact(ctx, owner, a.ID, c.ID, domain.UpdateContactInput{FirstName: set("Grace")}, got.Version)
	if err != nil || fmt.Sprint(up.Relationships) != fmt.Sprint(want) {
		t.Fatalf("update: %+v %v", up, err)
	}
	if got, _ := f.s.GetContact(ctx, owner, a.ID, c.ID); fmt.Sprint(got.Relationships) != fmt.Sprint(want) || got.FirstName != "Grace" {
		t.Fatalf("after update: %+v", got)
	}
	list, err := f.s.ListSiteContacts(ctx, owner, a.ID, other, 10, "")
	if err != nil || len(list.Items) != 1 || list.Items[0].ContactID != c.ID || list.Items[0].SiteID != other {
		t.Fatalf("site contacts: %+v %v", list, err)
	}
	if err := f.s.DeleteRelationship(ctx, owner, a.ID, other, c.ID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, f.s.DeleteRelationship(ctx, owner, a.ID, other, c.ID), 404, apperr.CodeNotFound)
	if list, _ := f.s.ListSiteContacts(ctx, owner, a.ID, other, 10, ""); len(list.Items) != 0 {
		t.Fatalf("site contacts after delete: %+v", list)
	}
	var ops []string
	for _, e := range f.mustAudit(a.ID) {
		if strings.HasPrefix(e.Operation, "relationship.") {
			ops = append(ops, e.Operation)
		}
	}
	if fmt.Sprint(ops) != "[relationship.delete relationship.create relationship.update relationship.create]" {
		t.Fatalf("audit, newest first: %v", ops)
	}
	f.assertRelationshipsConsistent(a.ID)
}

func (f *fixture) mustAudit(accountID string) []domain.AuditEntry {
	f.t.Helper()
	p, err := f.s.ListAudit(context.Background(), operator, accountID, 100, "")
	if err != nil {
		f.t.Fatal(err)
	}
	return p.Items
}

func TestUnknownContactOrSiteIs404AndWritesNothing(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, b := f.account(domain.AccountCustomer), f.account(domain.AccountCustomer)
	owner := f.member(a.ID, "owner", domain.RoleOwner)
	site := f.mainSite(a.ID)
	c := f.mustContact(operator, a.ID, "c@example.com")
	inB := f.mustContact(operator, b.ID, "b@example.com")
	before := len(f.items())
	_, err := f.relate(owner, a.ID, site, ids.New(ids.Contact), "Primary")
	wantCode(t, err, 404, apperr.CodeNotFound)
	_, err = f.relate(owner, a.ID, ids.New(ids.Site), c.ID, "Primary")
	wantCode(t, err, 404, apperr.CodeNotFound)
	_, err = f.relate(owner, a.ID, f.mainSite(b.ID), c.ID, "Primary") // another account's site
	wantCode(t, err, 404, apperr.CodeNotFound)
	_, err = f.relate(owner, a.ID, site, inB.ID, "Primary") // another account's contact
	wantCode(t, err, 404, apperr.CodeNotFound)
	_, err = f.relate(owner, b.ID, f.mainSite(b.ID), inB.ID, "Primary") // not a member of b
	wantCode(t, err, 404, apperr.CodeNotFound)
	reader := f.member(a.ID, "reader", domain.RoleUser, routes.ContactsRead, routes.ContactsWrite)
	_, err = f.relate(reader, a.ID, site, c.ID, "Primary")
	wantCode(t, err, 403, apperr.CodeForbidden)
	wantCode(t, f.s.DeleteRelationship(ctx, reader, a.ID, site, c.ID), 403, apperr.CodeForbidden)
	_, err = f.s.ListSiteContacts(ctx, owner, a.ID, ids.New(ids.Site), 10, "")
	wantCode(t, err, 404, apperr.CodeNotFound)
	_, err = f.s.ListSiteContacts(ctx, f.member(a.ID, "nobody", domain.RoleUser), a.ID, site, 10, "")
	wantCode(t, err, 403, apperr.CodeForbidden)
	if after := len(f.items()); after != before+2 { // the two memberships this test added
		t.Fatalf("refused changes wrote %d items", after-before-2)
	}
}

func TestMovingPrimaryBetweenContactsInTwoSteps(t *testing.T) {
	f := newFixture(t)
	a := f.account(domain.AccountCustomer)
	site := f.mainSite(a.ID)
	x, y := f.mustContact(operator, a.ID, "x@example.com"), f.mustContact(operator, a.ID, "y@example.com")
	if _, err := f.relate(operator, a.ID, site, x.ID, "Primary"); err != nil {
		t.Fatal(err)
	}
	_, err := f.relate(operator, a.ID, site, y.ID, "Primary", "Technical")
	if e := wantCode(t, err, 409, apperr.CodeRoleTaken); e.Extra["contactId"] != x.ID || e.Extra["role"] != "Primary" {
		t.Fatalf("role_taken names %v", e.Extra)
	}
	if res, err := f.relate(operator, a.ID, site, x.ID, "Secondary"); err != nil || res.Created {
		t.Fatalf("step 1: %+v %v", res, err)
	}
	if res, err := f.relate(operator, a.ID, site, y.ID, "Primary", "Technical"); err != nil || !res.Created {
		t.Fatalf("step 2: %+v %v", res, err)
	}
	var g roleGuardItem
	_ = attributevalue.UnmarshalMap(f.raw(table.RoleGuard(a.ID, site, "Primary")), &g)
	if g.ContactID != y.ID {
		t.Fatalf("guard names %s, want %s", g.ContactID, y.ID)
	}
	f.assertRelationshipsConsistent(a.ID)
}

func TestWelcomeInvitationComesWithTheFirstRelationshipOnly(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, owner := f.owned()
	site, annex := f.mainSite(a.ID), f.site(a.ID, "Annex")
	c := f.mustContact(owner, a.ID, "Linus@Example.com")

	res, err := f.relate(owner, a.ID, site, c.ID, "Technical")
	if err != nil || res.Welcome == nil {
		t.Fatalf("first relationship: %+v %v", res, err)
	}
	w := f.invitationsOf(a.ID, domain.KindWelcome)
	if len(w) != 1 || w[0].ContactID != c.ID || w[0].Email != "Linus@Example.com" || w[0].SendCount != 1 ||
		!slices.Equal(w[0].Permissions, welcomePerms) || w[0].AccountName != a.Name || w[0].Status != domain.StatusPending || w[0].Nonce == "" ||
		w[0].InvitedBy.Sub != owner.Sub {
		t.Fatalf("welcome invitation: %+v", w)
	}
	if e := f.mustAudit(a.ID)[0]; e.Operation != "relationship.create" || e.Targets["invitationId"] != w[0].ID {
		t.Fatalf("audit: %+v", e)
	}
	// A second relationship is not the first.
	if res, err := f.relate(owner, a.ID, annex, c.ID, "Billing"); err != nil || res.Welcome != nil {
		t.Fatalf("second relationship: %+v %v", res, err)
	}
	// Removing them all and relating again while the welcome is pending: no second welcome.
	for _, s := range []string{site, annex} {
		if err := f.s.DeleteRelationship(ctx, owner, a.ID, s, c.ID); err != nil {
			t.Fatal(err)
		}
	}
	if res, err := f.relate(owner, a.ID, site, c.ID, "Primary"); err != nil || res.Welcome != nil || !res.Created {
		t.Fatalf("first again, welcome pending: %+v %v", res, err)
	}
	if n := len(f.invitationsOf(a.ID, domain.KindWelcome)); n != 1 {
		t.Fatalf("%d welcome invitations", n)
	}

	// Accepting links the user and the contact; a user gets no welcome.
	linus := auth.Caller{Sub: "linus", Email: "linus@home.example"}
	u, err := f.s.AcceptInvitation(ctx, linus, testSigner, f.token(a.ID, w[0].ID), nil)
	if err != nil || u.ContactID != c.ID {
		t.Fatalf("accept: %+v %v", u, err)
	}
	got, err := f.s.GetContact(ctx, owner, a.ID, c.ID)
	if err != nil || got.UserID != "linus" {
		t.Fatalf("contact after accept: %+v %v", got, err)
	}
	if err := f.s.DeleteRelationship(ctx, owner, a.ID, site, c.ID); err != nil {
		t.Fatal(err)
	}
	if res, err := f.relate(owner, a.ID, site, c.ID, "Technical"); err != nil || res.Welcome != nil {
		t.Fatalf("first relationship of a user: %+v %v", res, err)
	}

	// A contact whose email has a pending user invitation, or is the owner's, is saved without one.
	if _, err := f.invite(owner, a.ID, "invited@example.com"); err != nil {
		t.Fatal(err)
	}
	for _, email := range []string{"INVITED@example.com", "owner@acme.example"} {
		d := f.mustContact(owner, a.ID, email)
		if res, err := f.relate(owner, a.ID, site, d.ID, "Billing"); err != nil || res.Welcome != nil || !res.Created {
			t.Fatalf("%s: %+v %v", email, res, err)
		}
	}
	if n := len(f.invitationsOf(a.ID, domain.KindWelcome)); n != 1 {
		t.Fatalf("%d welcome invitations", n)
	}
	f.assertRelationshipsConsistent(a.ID)
}

// linkedUser creates contact email related to site with roles, and has its welcome invitation
// accepted by login sub; it returns the contact and the user's caller.
func (f *fixture) linkedUser(owner auth.Caller, accountID, site, email, sub string, roles ...string) (domain.Contact, auth.Caller) {
	f.t.Helper()
	c := f.mustContact(owner, accountID, email)
	res, err := f.relate(owner, accountID, site, c.ID, roles...)
	if err != nil || res.Welcome == nil {
		f.t.Fatalf("relate %s: %+v %v", email, res, err)
	}
	u := auth.Caller{Sub: sub, Email: email}
	if _, err := f.s.AcceptInvitation(context.Background(), u, testSigner, f.token(accountID, res.Welcome.ID), nil); err != nil {
		f.t.Fatal(err)
	}
	return c, u
}

func TestAdminNeedsAnEligibleRoleAndLosesItWithTheLastOne(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, owner := f.owned()
	site, annex := f.mainSite(a.ID), f.site(a.ID, "Annex")
	c, linus := f.linkedUser(owner, a.ID, site, "linus@example.com", "linus", "Technical")
	other := f.mustContact(owner, a.ID, "other@example.com")

	// Refused: a contact without Primary or Secondary, a caller who is no operator, a user
	// without a contact.
	_, err := f.s.GrantAdmin(ctx, operator, a.ID, linus.Sub)
	if e := wantCode(t, err, 409, apperr.CodeNotAdminEligible); fmt.Sprint(e.Extra["eligibleRoles"]) != "[Primary Secondary]" {
		t.Fatalf("not eligible names %v", e.Extra)
	}
	_, err = f.s.GrantAdmin(ctx, owner, a.ID, linus.Sub)
	wantCode(t, err, 403, apperr.CodeForbidden)
	_, err = f.s.GrantAdmin(ctx, auth.Caller{Sub: "stranger"}, a.ID, linus.Sub)
	wantCode(t, err, 404, apperr.CodeNotFound)
	_, err = f.s.GrantAdmin(ctx, operator, a.ID, "nobody")
	wantCode(t, err, 404, apperr.CodeNotFound)
	inv, err := f.invite(owner, a.ID, "plain@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.AcceptInvitation(ctx, auth.Caller{Sub: "plain"}, testSigner, f.token(a.ID, inv.ID), nil); err != nil {
		t.Fatal(err)
	}
	_, err = f.s.GrantAdmin(ctx, operator, a.ID, "plain")
	wantCode(t, err, 409, apperr.CodeNotAdminEligible)
	if f.userItem(a.ID, linus.Sub).Admin {
		t.Fatal("a refused grant set the flag")
	}
	// Without admin, linus (contacts:read from the welcome) may not change relationships.
	_, err = f.relate(linus, a.ID, site, other.ID, "Billing")
	wantCode(t, err, 403, apperr.CodeForbidden)

	// Primary on the main site and Secondary on the annex make it eligible.
	if _, err := f.relate(owner, a.ID, site, c.ID, "Primary"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.relate(owner, a.ID, annex, c.ID, "Secondary"); err != nil {
		t.Fatal(err)
	}
	u, err := f.s.GrantAdmin(ctx, operator, a.ID, linus.Sub)
	if err != nil || !u.Admin || !f.userItem(a.ID, linus.Sub).Admin {
		t.Fatalf("grant: %+v %v", u, err)
	}
	if _, err := f.relate(linus, a.ID, site, other.ID, "Billing"); err != nil {
		t.Fatalf("an admin has sites:write: %v", err)
	}
	// Losing one eligible role keeps the flag; losing the last clears it in that same request,
	// here made by the admin itself (its membership is both the access check and the change).
	if err := f.s.DeleteRelationship(ctx, linus, a.ID, annex, c.ID); err != nil {
		t.Fatal(err)
	}
	if !f.userItem(a.ID, linus.Sub).Admin {
		t.Fatal("admin cleared while the contact still holds Primary")
	}
	if _, err := f.relate(linus, a.ID, site, c.ID, "Technical"); err != nil {
		t.Fatalf("the admin gives up its last eligible role: %v", err)
	}
	if f.userItem(a.ID, linus.Sub).Admin {
		t.Fatal("admin flag kept after the last eligible role went")
	}
	_, err = f.relate(linus, a.ID, site, other.ID, "Renewal")
	wantCode(t, err, 403, apperr.CodeForbidden)

	// Again, with the owner removing the relationship.
	if _, err := f.relate(owner, a.ID, annex, c.ID, "Secondary"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.GrantAdmin(ctx, operator, a.ID, linus.Sub); err != nil {
		t.Fatal(err)
	}
	if err := f.s.DeleteRelationship(ctx, owner, a.ID, annex, c.ID); err != nil {
		t.Fatal(err)
	}
	if f.userItem(a.ID, linus.Sub).Admin {
		t.Fatal("admin flag kept after the owner removed the last eligible role")
	}
	_, err = f.relate(linus, a.ID, site, other.ID, "Renewal")
	wantCode(t, err, 403, apperr.CodeForbidden)

	// Revoke.
	if _, err := f.relate(owner, a.ID, annex, c.ID, "Primary"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.GrantAdmin(ctx, operator, a.ID, linus.Sub); err != nil {
		t.Fatal(err)
	}
	_, err = f.s.RevokeAdmin(ctx, owner, a.ID, linus.Sub)
	wantCode(t, err, 403, apperr.CodeForbidden)
	if u, err := f.s.RevokeAdmin(ctx, operator, a.ID, linus.Sub); err != nil || u.Admin || f.userItem(a.ID, linus.Sub).Admin {
		t.Fatalf("revoke: %+v %v", u, err)
	}
	var ops []string
	for _, e := range f.mustAudit(a.ID) {
		if strings.HasPrefix(e.Operation, "user.") {
			ops = append(ops, e.Operation)
		}
	}
	if fmt.Sprint(ops) != "[user.revokeAdmin user.grantAdmin user.grantAdmin user.grantAdmin]" {
		t.Fatalf("admin audit: %v", ops)
	}
	f.assertRelationshipsConsistent(a.ID)
}

func TestConcurrentGrantAndLastRoleRemovalNeverLeaveAnIneligibleAdmin(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, owner := f.owned()
	site := f.mainSite(a.ID)
	for i := range 6 {
		c, u := f.linkedUser(owner, a.ID, site, fmt.Sprintf("r%d@example.com", i), fmt.Sprintf("racer%d", i), "Secondary")
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); _, _ = f.s.GrantAdmin(ctx, operator, a.ID, u.Sub) }()
		go func() {
			defer wg.Done()
			if _, err := f.relate(owner, a.ID, site, c.ID, "Billing"); err != nil {
				t.Error(err)
			}
		}()
		wg.Wait()
		if f.userItem(a.ID, u.Sub).Admin {
			t.Fatalf("round %d: admin without an eligible role", i)
		}
	}
}

func TestDeleteContactRemovesRelationshipsFreesRolesAndUnlinksItsUser(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, owner := f.owned()
	site, annex := f.mainSite(a.ID), f.site(a.ID, "Annex")
	c, linus := f.linkedUser(owner, a.ID, site, "linus@example.com", "linus", "Primary")
	if _, err := f.relate(owner, a.ID, annex, c.ID, "Primary", "Renewal"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.GrantAdmin(ctx, operator, a.ID, linus.Sub); err != nil {
		t.Fatal(err)
	}
	if err := f.s.DeleteContact(ctx, owner, a.ID, c.ID, 0); err != nil {
		t.Fatal(err)
	}
	for _, it := range f.items() {
		if it["contactId"] == c.ID && (it["entity"] == entityRelationship || it["entity"] == entityRoleGuard) {
			t.Errorf("left behind: %v", it)
		}
	}
	if u := f.userItem(a.ID, linus.Sub); u.Admin || u.ContactID != "" {
		t.Fatalf("membership after its contact went: %+v", u)
	}
	// The roles are free, and the user can still be removed.
	d := f.mustContact(owner, a.ID, "next@example.com")
	for _, s := range []string{site, annex} {
		if _, err := f.relate(owner, a.ID, s, d.ID, "Primary"); err != nil {
			t.Fatalf("Primary after the holder was deleted: %v", err)
		}
	}
	if err := f.s.RemoveUser(ctx, owner, a.ID, linus.Sub); err != nil {
		t.Fatal(err)
	}
	f.assertRelationshipsConsistent(a.ID)
	f.assertCountersMatch(a.ID)
}

// faulty fails TransactWriteItems call number failAt (counted from 1) with a network-like error.
type faulty struct {
	DB
	calls, failAt atomic.Int32
}

func (f *faulty) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if f.calls.Add(1) == f.failAt.Load() {
		return nil, errors.New("connection reset")
	}
	return f.DB.TransactWriteItems(ctx, in, o...)
}

func TestDeleteContactBeyondTheTransactionLimitNeverLeavesAGuardWithoutItsContact(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	old := txnItemLimit
	txnItemLimit = 12 // as if DynamoDB took 12 items per transaction
	t.Cleanup(func() { txnItemLimit = old })
	a, owner := f.owned()
	c := f.mustContact(owner, a.ID, "many@example.com")
	sites := []string{f.mainSite(a.ID)}
	for i := range 6 {
		sites = append(sites, f.site(a.ID, fmt.Sprintf("Site %d", i)))
	}
	for _, s := range sites {
		if _, err := f.relate(owner, a.ID, s, c.ID, "Primary", "Technical"); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.s.deleteContactItems(mustRead(f, a.ID, c.ID)); n <= txnItemLimit {
		t.Fatalf("the deletion takes %d items: not beyond the limit", n)
	}
	// The request stops after its first transaction: what is left is consistent.
	fault := &faulty{DB: f.s.db}
	fault.failAt.Store(2)
	f.s.db = fault
	if err := f.s.DeleteContact(ctx, owner, a.ID, c.ID, 0); err == nil || apperr.Is(err, apperr.CodeNotFound) {
		t.Fatalf("want the injected failure, got %v", err)
	}
	f.assertRelationshipsConsistent(a.ID)
	left := mustRead(f, a.ID, c.ID)
	if len(left.Sites) == 0 || len(left.Sites) == len(sites) {
		t.Fatalf("after one step the contact has %d of %d relationships", len(left.Sites), len(sites))
	}
	// Deleting again (with the ETag read now) finishes the job.
	fault.failAt.Store(0)
	if err := f.s.DeleteContact(ctx, owner, a.ID, c.ID, left.Version); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.GetContact(ctx, owner, a.ID, c.ID); !apperr.Is(err, apperr.CodeNotFound) {
		t.Fatalf("contact after delete: %v", err)
	}
	for _, it := range f.items() {
		if it["entity"] == entityRelationship || it["entity"] == entityRoleGuard {
			t.Errorf("left behind: %v", it)
		}
	}
	f.assertRelationshipsConsistent(a.ID)
	f.assertCountersMatch(a.ID)
}

// TestDeleteContactCountsEveryItemOfItsTransaction: a contact with every email type whose
// deletion takes 101 items (one over DynamoDB's limit) is deleted, a relationship removed first,
// rather than refused by DynamoDB: each type's counter and index entry counts.
func TestDeleteContactCountsEveryItemOfItsTransaction(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, owner := f.owned()
	c, err := f.contact(owner, a.ID, "all@example.com", "billing", "service", "security", "marketing")
	if err != nil {
		t.Fatal(err)
	}
	// The contact, its email guard, the audit entry, 4 counters, its index entries (a search
	// entry per term, one per type) and one item per relationship (Technical has no guard): 101.
	own := 3 + len(c.EmailTypes) + len(domain.SearchTerms(c)) + len(c.EmailTypes)
	for i := range txnItemLimit + 1 - own {
		if _, err := f.relate(owner, a.ID, f.site(a.ID, fmt.Sprintf("Site %d", i)), c.ID, "Technical"); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.s.deleteContactItems(mustRead(f, a.ID, c.ID)); n <= txnItemLimit {
		t.Fatalf("deleteContactItems says %d items, within the limit of %d: the deletion takes %d", n, txnItemLimit, txnItemLimit+1)
	}
	if err := f.s.DeleteContact(ctx, owner, a.ID, c.ID, 0); err != nil {
		t.Fatal(err)
	}
	f.assertRelationshipsConsistent(a.ID)
	f.assertCountersMatch(a.ID)
}

func mustRead(f *fixture, accountID, contactID string) contactItem {
	f.t.Helper()
	c, err := decodeContact(f.raw(table.Contact(accountID, contactID)))
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func TestPartnerAccountRelationshipsWorkAsForCustomers(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := f.account(domain.AccountPartner)
	owner := f.member(a.ID, "owner", domain.RoleOwner)
	site := f.mainSite(a.ID)
	_, err := f.contact(owner, a.ID, "mine@example.com")
	wantCode(t, err, 403, apperr.CodeSupportCaseRequired) // contact creation stays the vendor's
	c := f.mustContact(operator, a.ID, "partner@example.com")
	res, err := f.relate(owner, a.ID, site, c.ID, "Primary")
	if err != nil || !res.Created || res.Welcome == nil {
		t.Fatalf("partner owner relates: %+v %v", res, err)
	}
	if _, err := f.relate(owner, a.ID, site, c.ID, "Primary", "Billing"); err != nil {
		t.Fatal(err)
	}
	if err := f.s.DeleteRelationship(ctx, owner, a.ID, site, c.ID); err != nil {
		t.Fatal(err)
	}
	f.assertRelationshipsConsistent(a.ID)
}

func TestListSiteContactsPages(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := f.account(domain.AccountCustomer)
	site := f.mainSite(a.ID)
	for i := range 5 {
		c := f.mustContact(operator, a.ID, fmt.Sprintf("l%d@example.com", i))
		if _, err := f.relate(operator, a.ID, site, c.ID, "Technical"); err != nil {
			t.Fatal(err)
		}
	}
	var all []domain.Relationship
	cursor := ""
	for {
		p, err := f.s.ListSiteContacts(ctx, operator, a.ID, site, 2, cursor)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, p.Items...)
		if cursor = p.Next; cursor == "" {
			break
		}
	}
	if len(all) != 5 || !slices.IsSortedFunc(all, func(x, y domain.Relationship) int { return strings.Compare(x.ContactID, y.ContactID) }) {
		t.Fatalf("paged: %+v", all)
	}
	first, _ := f.s.ListSiteContacts(ctx, operator, a.ID, site, 2, "")
	_, err := f.s.ListSiteContacts(ctx, operator, a.ID, f.site(a.ID, "Other"), 2, first.Next)
	wantCode(t, err, 400, apperr.CodeValidation)
	_, err = f.s.ListContacts(ctx, operator, a.ID, ContactFilter{}, 2, first.Next)
	wantCode(t, err, 400, apperr.CodeValidation)
}

// TestRelationshipRoundTrips holds the new operations to DESIGN §7 (as TestRoundTripBudget does
// the others): reads one round trip, changes two.
func TestRelationshipRoundTrips(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, owner := f.owned()
	site := f.mainSite(a.ID)
	c, linus := f.linkedUser(owner, a.ID, site, "budget@example.com", "budget", "Primary")
	d := f.mustContact(owner, a.ID, "d@example.com")
	f.calls.reset()
	change := map[string]int{"BatchGetItem": 1, "TransactWriteItems": 1}
	cases := []struct {
		name string
		run  func() error
		want map[string]int
	}{
		{"put relationship (first, with welcome)", func() error { _, err := f.relate(owner, a.ID, site, d.ID, "Technical"); return err }, change},
		{"put relationship (change)", func() error { _, err := f.relate(owner, a.ID, site, d.ID, "Billing"); return err }, change},
		{"put relationship (unchanged)", func() error { _, err := f.relate(owner, a.ID, site, d.ID, "Billing"); return err }, map[string]int{"BatchGetItem": 1}},
		{"get contact with relationships", func() error { _, err := f.s.GetContact(ctx, owner, a.ID, c.ID); return err }, map[string]int{"BatchGetItem": 1}},
		{"list site contacts (parallel)", func() error { _, err := f.s.ListSiteContacts(ctx, owner, a.ID, site, 10, ""); return err }, map[string]int{"BatchGetItem": 1, "Query": 1}},
		{"grant admin", func() error { _, err := f.s.GrantAdmin(ctx, operator, a.ID, linus.Sub); return err }, change},
		{"revoke admin", func() error { _, err := f.s.RevokeAdmin(ctx, operator, a.ID, linus.Sub); return err }, change},
		{"delete relationship", func() error { return f.s.DeleteRelationship(ctx, owner, a.ID, site, d.ID) }, change},
		{"delete contact with relationships and a user", func() error { return f.s.DeleteContact(ctx, owner, a.ID, c.ID, 0) }, change},
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
