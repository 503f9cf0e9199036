package store

// Relationships between contacts and support sites (R21), unique-per-site roles, the welcome
// invitation of a contact's first relationship (R22) and the admin flag's dependence on
// admin-eligible roles (R9).
//
// Table design. A relationship is an item SITE#site#CONTACT#contact (so a site's relationships
// are one query) and each unique-per-site role held is a guard item SITE#site#ROLE#role naming
// its holder. The contact item keeps a copy of its relationships, `sites` (site id → roles), and
// the number of admin-eligible roles it holds, `adminRoles`. Every change writes the contact item
// (its `sites`, `adminRoles`, `version` and `updatedAt`), the relationship item and the guards in
// one transaction, under the condition that the contact is as it was read: same `version`, same
// linked user (`userId`, which accepting a welcome invitation sets and removing the user clears,
// without touching the version). Hence:
//   - GET contact shows the relationships from its own item: one BatchGetItem;
//   - "first relationship" (R22) is an empty `sites` as read, and two concurrent first
//     relationships cannot both see it empty (one fails the version condition and reads again);
//   - the admin grant (R9) conditions on the contact's `adminRoles` > 0 and `userId`, and a change
//     that takes `adminRoles` to 0 clears the linked user's `admin` flag in that same transaction;
//   - a guard is written and removed only together with the contact item that lists its role, so
//     a guard never names a contact that does not hold the role.
//
// Each change reads once (one BatchGetItem of the caller's access item, the account, the site and
// the contact) and writes one transaction: two round trips. The one exception is a contact's
// first relationship when its email already has a pending invitation, or belongs to a user or the
// owner: the guards that say so are keyed by the email, which the read could not know, so the
// transaction that would create the welcome invitation fails on them and the change is written
// again without it (a third round trip, only in that case).

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"golang.org/x/sync/errgroup"

	"rollcall/shared/apperr"
	"rollcall/shared/auth"
	"rollcall/shared/domain"
	"rollcall/shared/ids"
	"rollcall/shared/invitetoken"
	"rollcall/shared/routes"
	"rollcall/shared/table"
)

// Entity names of relationship items and unique-role guards.
const (
	entityRelationship = "relationship"
	entityRoleGuard    = "roleGuard"
)

// needSitesWrite is what relationship changes require (DESIGN §3).
var needSitesWrite = Need{Who: routes.Permission, Permission: routes.SitesWrite}

// txnItemLimit is the most items one TransactWriteItems may hold (DynamoDB's limit); a variable
// so that tests can exercise what happens beyond it with few items.
var txnItemLimit = 100

// roleGuardItem keeps a unique-per-site role with one contact of a site (R21).
type roleGuardItem struct {
	table.Key
	Entity    string `dynamodbav:"entity"`
	SiteID    string `dynamodbav:"siteId"`
	Role      string `dynamodbav:"role"`
	ContactID string `dynamodbav:"contactId"`
}

// RelationshipResult is the outcome of PutRelationship.
type RelationshipResult struct {
	Relationship domain.Relationship
	Created      bool               // the relationship is new (201), else it changed or was already so (200)
	Welcome      *domain.Invitation // the welcome invitation created with it (R22), if one was
}

// PutRelationship relates contact contactID to site siteID with roles (which
// domain.RelationshipRoles validates and orders as the catalog does), replacing the roles it had
// (R21). It takes and gives up unique-per-site roles through their guards, creates the welcome
// invitation of the contact's first relationship with permissions welcomePerms when the contact
// is not a user and its email has no pending invitation and is not a user's or the owner's (R22),
// and clears the linked user's admin flag when the contact no longer holds an admin-eligible role
// (R9), all in one transaction with the audit entry. Setting the roles a relationship has already
// writes nothing.
// Errors: 400 for roles that are empty, unknown or repeated, 404 account (not a member), 403
// without sites:write, 404 site, 404 contact, 409 role_taken naming the holder (contactId) and
// the role.
//
// To move a unique role from contact A to contact B, first give A its new roles (without it),
// then give B the role; a batch (PUT rows applied in order) can do both in one request.
func (s *Store) PutRelationship(ctx context.Context, c auth.Caller, accountID, siteID, contactID string, roles, welcomePerms []string) (RelationshipResult, error) {
	var res RelationshipResult
	roles, err := domain.RelationshipRoles("roles", roles, s.cat) // in canonical order
	if err != nil {
		return res, err
	}
	err = optimistic(0, func() error {
		siteKey, contactKey := table.Site(accountID, siteID), table.Contact(accountID, contactID)
		me, found, err := s.getAuthorized(ctx, c, accountID, needSitesWrite, table.Account(accountID), siteKey, contactKey)
		if err != nil {
			return err
		}
		if found[siteKey] == nil {
			return apperr.NotFound("site")
		}
		cur, err := decodeContact(found[contactKey])
		if err != nil {
			return err
		}
		acc, err := decodeAccount(found[table.Account(accountID)])
		if err != nil {
			return err
		}
		ch := domain.ChangeRelationship(cur.Sites, siteID, roles, s.cat)
		res = RelationshipResult{Relationship: domain.Relationship{SiteID: siteID, ContactID: contactID, Roles: ch.New}, Created: ch.Created()}
		if ch.Unchanged() {
			return nil
		}
		var welcome *domain.Invitation
		if ch.First() && cur.UserID == "" {
			perms := domain.WelcomePermissions(welcomePerms, me)
			inv := domain.NewWelcomeInvitation(ids.New(ids.Invitation), acc.Account, cur.Contact, perms, c.Actor(), invitetoken.NewNonce(), s.now())
			welcome = &inv
		}
		err = s.writeRelationship(ctx, c, cur, ch, welcome)
		if errors.Is(err, errWelcomeBlocked) {
			welcome = nil
			err = s.writeRelationship(ctx, c, cur, ch, nil)
		}
		if err == nil {
			res.Welcome = welcome
		}
		return err
	})
	return res, err
}

// DeleteRelationship removes the relationship between contact contactID and site siteID with the
// guards of the unique roles it held, clearing the linked user's admin flag when the contact no
// longer holds an admin-eligible role (R9), in one transaction with the audit entry. Errors: 404
// account (not a member), 403 without sites:write, 404 contact, 404 relationship.
func (s *Store) DeleteRelationship(ctx context.Context, c auth.Caller, accountID, siteID, contactID string) error {
	return optimistic(0, func() error {
		contactKey := table.Contact(accountID, contactID)
		_, found, err := s.getAuthorized(ctx, c, accountID, needSitesWrite, contactKey)
		if err != nil {
			return err
		}
		cur, err := decodeContact(found[contactKey])
		if err != nil {
			return err
		}
		if cur.Sites[siteID] == nil {
			return apperr.NotFound("relationship")
		}
		return s.writeRelationship(ctx, c, cur, domain.ChangeRelationship(cur.Sites, siteID, nil, s.cat), nil)
	})
}

// errWelcomeBlocked says that a welcome invitation could not be created with a relationship: its
// email has a pending invitation, or is a user's or the owner's (R11, R4). The change is then
// written without it.
var errWelcomeBlocked = errors.New("store: the welcome invitation's email is taken")

// writeRelationship writes change ch of contact cur (as read) in one transaction: the contact's
// copy, the relationship item and role guards, the linked user's admin flag when it is lost, the
// welcome invitation when not nil, and the audit entry. The caller's rights and the site were
// checked by the read before it (sites are never deleted), so that relationship writes of
// different contacts meet only on the guards of the unique roles they take or give up; the
// window that opens: a right withdrawn between that read and this transaction (milliseconds)
// does not stop this one change (docs/decisions.md).
func (s *Store) writeRelationship(ctx context.Context, c auth.Caller, cur contactItem, ch domain.RelationshipChange, welcome *domain.Invitation) error {
	accountID, contactID := cur.AccountID, cur.ID
	t := s.txn()
	member := s.adminLoss(cur, ch.AdminAfter)
	if member != nil {
		t.memberChange(accountID, member)
	}
	t.contactSites(cur, ch.After, ch.AdminAfter)
	t.relationships(accountID, contactID, ch)
	targets := map[string]string{"siteId": ch.SiteID, "contactId": contactID}
	if welcome != nil {
		t.welcome(*welcome)
		targets["invitationId"] = welcome.ID
	}
	changes := map[string]any{"roles": ch.New, "previousRoles": ch.Old}
	if member != nil {
		changes["userAdmin"] = false
		targets["userId"] = cur.UserID
	}
	op := "relationship.update"
	switch {
	case ch.Created():
		op = "relationship.create"
	case ch.Removed():
		op = "relationship.delete"
	}
	t.audit(accountID, c, op, targets, changes)
	return t.run(ctx)
}

// contactSites adds the update of contact cur's copy of its relationships to after and of its
// admin-eligible role count to admin, with a new version, under the condition that the contact
// is as read: same version, same linked user (errStale otherwise, 404 when it is gone); and the
// rewrite of its index copies with that version. It returns the updatedAt it writes.
func (t *txn) contactSites(cur contactItem, after domain.SiteRoles, admin int) (updatedAt time.Time) {
	if after == nil {
		after = domain.SiteRoles{}
	}
	now := t.s.now()
	upd := expression.Set(expression.Name("sites"), expression.Value(after)).
		Set(expression.Name("adminRoles"), expression.Value(admin)).
		Set(expression.Name("version"), expression.Value(cur.Version+1)).
		Set(expression.Name("updatedAt"), expression.Value(now))
	t.update(cur.Key, upd, asRead(cur), staleOrGone("contact"))
	// The index copies show the contact's version and updatedAt (contactindex.go).
	c := cur.Contact
	c.Version, c.UpdatedAt = cur.Version+1, now
	t.indexContact(&cur.Contact, &c)
	return now
}

// asRead is the condition that contact cur still has the version and linked user it was read
// with.
func asRead(cur contactItem) *expression.ConditionBuilder {
	c := expression.Name("version").Equal(expression.Value(cur.Version))
	if cur.UserID == "" {
		c = c.And(expression.AttributeNotExists(expression.Name("userId")))
	} else {
		c = c.And(expression.Name("userId").Equal(expression.Value(cur.UserID)))
	}
	return &c
}

// relationships adds the writes of change ch to contact contactID's relationships, but not the
// contact item: the relationship item (written or deleted) and the guards of the unique roles
// taken (409 role_taken when another contact holds one) and given up.
func (t *txn) relationships(accountID, contactID string, ch domain.RelationshipChange) {
	key := table.Relationship(accountID, ch.SiteID, contactID)
	if ch.New == nil {
		t.delete(key, nil, nil)
	} else {
		now := t.s.now()
		t.update(key, expression.Set(expression.Name("entity"), expression.Value(entityRelationship)).
			Set(expression.Name("siteId"), expression.Value(ch.SiteID)).
			Set(expression.Name("contactId"), expression.Value(contactID)).
			Set(expression.Name("roles"), expression.Value(ch.New)).
			Set(expression.Name("updatedAt"), expression.Value(now)).
			Set(expression.Name("createdAt"), expression.IfNotExists(expression.Name("createdAt"), expression.Value(now))), nil, nil)
	}
	held := expression.AttributeNotExists(expression.Name(table.PK)).Or(expression.Name("contactId").Equal(expression.Value(contactID)))
	for _, role := range ch.Take {
		t.put(roleGuardItem{Key: table.RoleGuard(accountID, ch.SiteID, role), Entity: entityRoleGuard, SiteID: ch.SiteID, Role: role, ContactID: contactID},
			&held, roleTaken)
	}
	for _, role := range ch.Free {
		t.delete(table.RoleGuard(accountID, ch.SiteID, role), &held, func(old item) error {
			return fmt.Errorf("store: the guard of role %s on site %s names another contact than %s", role, ch.SiteID, contactID)
		})
	}
}

// roleTaken explains a failed guard: 409 role_taken naming the contact that holds the role.
func roleTaken(old item) error {
	var g roleGuardItem
	if err := attributevalue.UnmarshalMap(old, &g); err != nil {
		return err
	}
	return apperr.Conflict(apperr.CodeRoleTaken, "the role %s on this site is held by contact %s; give that contact other roles first", g.Role, g.ContactID).
		With("contactId", g.ContactID).With("role", g.Role)
}

// welcome adds welcome invitation inv with its pending guard, and the check that its email is no
// user's or owner's (R4). Either failing is errWelcomeBlocked: the change goes ahead without it.
func (t *txn) welcome(inv domain.Invitation) {
	blocked := func(item) error { return errWelcomeBlocked }
	t.putNew(newInvitationItem(inv), nil)
	free := freeGuard(inv.ID, t.s.now())
	t.put(inviteGuard(inv), &free, blocked)
	t.check(table.UserEmail(inv.AccountID, domain.NormaliseEmail(inv.Email)), expression.AttributeNotExists(expression.Name(table.PK)), blocked)
}

// memberChange is a change of a member's item made with a contact change: its admin flag
// cleared (R9), or its link to a deleted contact removed.
type memberChange struct {
	sub       string
	contactID string
	upd       expression.UpdateBuilder
}

// adminLoss is the clearing of the admin flag of contact cur's linked user when the contact goes
// from holding admin-eligible roles to holding none (adminAfter 0), else nil. The flag is set
// false whether or not it was set: the membership is not read.
func (s *Store) adminLoss(cur contactItem, adminAfter int) *memberChange {
	if cur.UserID == "" || adminAfter > 0 || (cur.AdminRoles == 0 && domain.AdminHoldings(cur.Sites, s.cat) == 0) {
		return nil
	}
	return &memberChange{sub: cur.UserID, contactID: cur.ID, upd: expression.Set(expression.Name("admin"), expression.Value(false))}
}

// memberChange adds change mc of a linked user's membership, without checking the caller's rights
// (the write that calls it checked them by its read).
func (t *txn) memberChange(accountID string, mc *memberChange) {
	linked := expression.AttributeExists(expression.Name(table.PK)).And(expression.Name("contactId").Equal(expression.Value(mc.contactID)))
	t.update(table.User(accountID, mc.sub), mc.upd, &linked, func(item) error { return errStale })
}

// ListSiteContacts lists the relationships of site siteID, by contact id: each related contact
// with its roles (R21). The site and the caller's access are read in one BatchGetItem in parallel
// with the query: one round trip. Errors: 404 account (not a member), 403 without
// contacts:read, 404 site, 400 for a cursor not of this list.
func (s *Store) ListSiteContacts(ctx context.Context, c auth.Caller, accountID, siteID string, limit int, cursor string) (Page[domain.Relationship], error) {
	q, err := prefixQuery(accountID, table.SiteRelationshipsPrefix(siteID), nil, false, limit, cursor)
	if err != nil {
		return Page[domain.Relationship]{}, err
	}
	siteKey := table.Site(accountID, siteID)
	var found map[table.Key]item
	var items []item
	var next string
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var err error
		found, err = s.batchGet(gctx, []table.Key{accessKey(c, accountID), siteKey})
		return err
	})
	g.Go(func() error {
		var err error
		items, next, err = s.list(gctx, q)
		return err
	})
	if err := g.Wait(); err != nil {
		return Page[domain.Relationship]{}, err
	}
	if _, err := allow(c, needContactsRead, found[accessKey(c, accountID)]); err != nil {
		return Page[domain.Relationship]{}, err
	}
	if found[siteKey] == nil {
		return Page[domain.Relationship]{}, apperr.NotFound("site")
	}
	rels, err := unmarshalAll[domain.Relationship](items)
	return Page[domain.Relationship]{Items: rels, Next: next}, err
}

// CheckSiteWriter answers whether caller may change the relationships of site siteID before a
// batch runs, and which contacts hold the site's unique-per-site roles (role → contact id), in one
// BatchGetItem: a batch orders the rows that meet on those roles (handlers.forRows). Errors: 404
// account for non-members, 403 without sites:write, 404 site. Each row reads the caller's rights
// again before its transaction.
func (s *Store) CheckSiteWriter(ctx context.Context, c auth.Caller, accountID, siteID string) (map[string]string, error) {
	keys := []table.Key{table.Site(accountID, siteID)}
	for _, r := range s.cat.Roles {
		if r.UniquePerSite {
			keys = append(keys, table.RoleGuard(accountID, siteID, r.Name))
		}
	}
	_, found, err := s.getAuthorized(ctx, c, accountID, needSitesWrite, keys...)
	if err != nil {
		return nil, err
	}
	if found[keys[0]] == nil {
		return nil, apperr.NotFound("site")
	}
	holders := map[string]string{}
	for _, k := range keys[1:] {
		if it := found[k]; it != nil {
			var g roleGuardItem
			if err := attributevalue.UnmarshalMap(it, &g); err != nil {
				return nil, err
			}
			holders[g.Role] = g.ContactID
		}
	}
	return holders, nil
}

// deleteContactItems is how many items deleting contact cur in one transaction takes: the linked
// user's membership, the contact, its email guard, the audit entry, the counter of each of its
// email types and its index items, plus its relationships and the guards of the unique roles it
// holds.
func (s *Store) deleteContactItems(cur contactItem) int {
	n := 4 + len(cur.EmailTypes) + contactIndexCount(cur.Contact)
	for _, roles := range cur.Sites {
		n++
		for _, r := range roles {
			if role, ok := s.cat.Role(r); ok && role.UniquePerSite {
				n++
			}
		}
	}
	return n
}

// shedRelationships removes, in one transaction, as many of contact cur's relationships (with
// their guards and the contact's copy) as fit, before the contact is deleted; it returns the
// contact as that transaction left it (no need to read it again). Each such transaction leaves the contact, its copy, its relationship
// items and its guards in agreement, so a deletion that stops half-way leaves a consistent
// contact with fewer relationships, and no guard naming a missing contact.
func (s *Store) shedRelationships(ctx context.Context, c auth.Caller, cur contactItem) (contactItem, error) {
	sites := domain.SiteRoles{}
	for k, v := range cur.Sites {
		sites[k] = v
	}
	budget := txnItemLimit - 3 - contactIndexCount(cur.Contact) // the linked user's membership, the contact, the audit entry, its index copies
	var changes []domain.RelationshipChange
	var removed []string
	for _, site := range slices.Sorted(maps.Keys(cur.Sites)) {
		ch := domain.ChangeRelationship(sites, site, nil, s.cat)
		cost := 1 + len(ch.Free)
		if cost > budget {
			break
		}
		budget -= cost
		changes = append(changes, ch)
		removed = append(removed, site)
		sites = ch.After
	}
	if len(changes) == 0 {
		return cur, fmt.Errorf("store: a relationship of contact %s does not fit in a transaction", cur.ID)
	}
	adminAfter := domain.AdminHoldings(sites, s.cat)
	t := s.txn()
	if member := s.adminLoss(cur, adminAfter); member != nil {
		t.memberChange(cur.AccountID, member)
	}
	now := t.contactSites(cur, sites, adminAfter)
	for _, ch := range changes {
		t.relationships(cur.AccountID, cur.ID, ch)
	}
	t.audit(cur.AccountID, c, "relationship.delete", map[string]string{"contactId": cur.ID},
		map[string]any{"siteIds": removed, "reason": "contact.delete"})
	if err := t.run(ctx); err != nil {
		return cur, err
	}
	next := cur
	next.Sites, next.AdminRoles, next.Version, next.UpdatedAt = sites, adminAfter, cur.Version+1, now
	return next, nil
}

// notAdminEligible is the 409 of an admin grant to a user whose contact holds no admin-eligible
// role (R9).
func (s *Store) notAdminEligible(why string) error {
	var eligible []string
	for _, r := range s.cat.Roles {
		if r.AdminEligible {
			eligible = append(eligible, r.Name)
		}
	}
	return apperr.New(http.StatusConflict, apperr.CodeNotAdminEligible,
		"%s: admin privileges need the user's linked contact to hold one of the roles %s on a site of the account",
		why, strings.Join(eligible, ", ")).With("eligibleRoles", eligible)
}
