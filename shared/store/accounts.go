package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"golang.org/x/sync/errgroup"

	"rollcall/shared/apperr"
	"rollcall/shared/auth"
	"rollcall/shared/domain"
	"rollcall/shared/idempotency"
	"rollcall/shared/ids"
	"rollcall/shared/invitetoken"
	"rollcall/shared/table"
)

// Entity names, stored in each item's "entity" attribute.
const (
	entityAccount      = "account"
	entitySite         = "site"
	entityContact      = "contact"
	entityContactEmail = "contactEmail"
	entityUser         = "user"
	entityUserEmail    = "userEmail"
	entityInvitation   = "invitation"
	entityInviteEmail  = "invitationEmail"
)

// accountItem is an account as stored: the account, its list keys, the main site's id and the
// number of recipients of each email type (the owner and contacts, R18).
type accountItem struct {
	table.Key
	GSI1PK     string `dynamodbav:"GSI1PK"`
	GSI1SK     string `dynamodbav:"GSI1SK"`
	Entity     string `dynamodbav:"entity"`
	MainSiteID string `dynamodbav:"mainSiteId"`
	OwnerSub   string `dynamodbav:"ownerSub,omitempty"` // the owner's login, once the owner invitation is accepted
	// OwnerLogin is the email of the owner's membership (its login email, which the owner email
	// need not be), kept with OwnerSub so that an operator's transfer need not read the owner's
	// membership; empty on accounts whose owner accepted before it was kept.
	OwnerLogin string `dynamodbav:"ownerLogin,omitempty"`
	// OwnerInvitationID is the account's latest owner invitation (R2), which a change of the owner
	// email re-issues while the account has no owner.
	OwnerInvitationID string `dynamodbav:"ownerInvitationId,omitempty"`
	domain.Account
}

// siteItem is a site as stored. GSI1 lists an account's sites: their sort keys share the SITE#
// prefix with relationships and role guards (DESIGN §5), so the table itself cannot list sites
// alone in one query.
type siteItem struct {
	table.Key
	GSI1PK string `dynamodbav:"GSI1PK"`
	GSI1SK string `dynamodbav:"GSI1SK"`
	Entity string `dynamodbav:"entity"`
	domain.Site
}

func newSiteItem(st domain.Site) siteItem {
	return siteItem{Key: table.Site(st.AccountID, st.ID), GSI1PK: table.SitesGSI1PK(st.AccountID), GSI1SK: st.ID, Entity: entitySite, Site: st}
}

// userEmailItem keeps the emails of the owner and the users of an account apart (R4).
type userEmailItem struct {
	table.Key
	Entity string `dynamodbav:"entity"`
	Sub    string `dynamodbav:"sub,omitempty"` // the user's login; "" for the owner's email
	Owner  bool   `dynamodbav:"owner"`
}

// NewAccount is what creating an account writes: the account, its main site and the owner
// invitation (R2, R20).
type NewAccount struct {
	Account    domain.Account
	MainSite   domain.Site
	Invitation domain.Invitation
}

// CreateAccount writes a new account with its main site, the owner's email guard and the owner
// invitation, in one transaction with its audit entry and idempotency record (respond is the
// answer recorded for req). Only operators may; others get 403.
func (s *Store) CreateAccount(ctx context.Context, c auth.Caller, n NewAccount, req *idempotency.Request, respond any) error {
	if !c.Operator {
		return forbidden(needOperator)
	}
	a, inv := n.Account, n.Invitation
	t := s.txn()
	t.idempotent(req, 201, respond)
	t.putNew(accountItem{
		Key: table.Account(a.ID), GSI1PK: table.AccountsGSI1PK, GSI1SK: table.AccountsGSI1SK(a.Name, a.ID),
		Entity: entityAccount, MainSiteID: n.MainSite.ID, OwnerInvitationID: inv.ID, Account: a,
	}, nil)
	t.initialRecipients(a.ID, a.OwnerEmailTypes)
	t.putNew(newSiteItem(n.MainSite), nil)
	t.putNew(userEmailItem{Key: table.UserEmail(a.ID, domain.NormaliseEmail(a.Owner.Email)), Entity: entityUserEmail, Owner: true}, nil)
	t.invite(inv)
	t.audit(a.ID, c, "account.create", map[string]string{"accountId": a.ID, "siteId": n.MainSite.ID, "invitationId": inv.ID},
		map[string]any{"name": a.Name, "type": a.Type, "legacyId": a.LegacyID, "owner": a.Owner})
	return t.run(ctx)
}

// GetAccount returns account id to a member of it or an operator (404 otherwise), with its
// warnings (domain.EmailWarnings): the access check and the account are one BatchGetItem, and
// the account's undeliverable contacts one Query of GSI1 run beside it (one round trip).
func (s *Store) GetAccount(ctx context.Context, c auth.Caller, id string) (domain.Account, error) {
	var found map[table.Key]item
	var undeliverable [][]string
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var err error
		keys := []table.Key{table.Account(id)}
		for _, typ := range s.cat.EmailTypeNames() {
			keys = append(keys, table.RecipientCounter(id, typ)) // the counters, in the same read
		}
		_, found, err = s.getAuthorized(gctx, c, id, needMember, keys...)
		return err
	})
	g.Go(func() error {
		var err error
		undeliverable, err = s.undeliverableTypes(gctx, id)
		return err
	})
	if err := g.Wait(); err != nil {
		return domain.Account{}, err
	}
	a, err := decodeAccount(found[table.Account(id)])
	if err != nil {
		return domain.Account{}, err
	}
	recipients := map[string]int{}
	for _, typ := range s.cat.EmailTypeNames() {
		if it := found[table.RecipientCounter(id, typ)]; it != nil {
			var ci counterItem
			if err := attributevalue.UnmarshalMap(it, &ci); err != nil {
				return domain.Account{}, err
			}
			recipients[typ] = ci.N
		}
	}
	a.Warnings = domain.EmailWarnings(a.Account, recipients, undeliverable, s.cat.RequiredEmailType)
	return a.Account, nil
}

// undeliverableTypes returns the email types of each undeliverable contact of account id, from
// their sparse GSI1 entries (table.UndeliverableContactGSI1).
func (s *Store) undeliverableTypes(ctx context.Context, id string) ([][]string, error) {
	pk, _ := table.UndeliverableContactGSI1(id, "")
	e, err := expression.NewBuilder().WithKeyCondition(expression.Key(table.GSI1PK).Equal(expression.Value(pk))).
		WithProjection(expression.NamesList(expression.Name("emailTypes"))).Build()
	if err != nil {
		return nil, err
	}
	in := &dynamodb.QueryInput{TableName: aws.String(s.table), IndexName: aws.String(table.GSI1), KeyConditionExpression: e.KeyCondition(),
		ProjectionExpression: e.Projection(), ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values()}
	var out [][]string
	for {
		page, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, it := range page.Items {
			var c struct {
				EmailTypes []string `dynamodbav:"emailTypes"`
			}
			if err := attributevalue.UnmarshalMap(it, &c); err != nil {
				return nil, err
			}
			out = append(out, c.EmailTypes)
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

func decodeAccount(it item) (accountItem, error) {
	var a accountItem
	if it == nil {
		return a, apperr.NotFound("account")
	}
	err := attributevalue.UnmarshalMap(it, &a)
	return a, err
}

// ListAccounts lists accounts by name for operators, optionally those whose name starts with
// prefix (case-insensitive). Others get 403; a bad cursor is 400.
func (s *Store) ListAccounts(ctx context.Context, c auth.Caller, prefix string, limit int, cursor string) (Page[domain.Account], error) {
	if !c.Operator {
		return Page[domain.Account]{}, forbidden(needOperator)
	}
	key := expression.Key(table.GSI1PK).Equal(expression.Value(table.AccountsGSI1PK))
	if prefix != "" {
		key = key.And(expression.Key(table.GSI1SK).BeginsWith(strings.ToLower(prefix)))
	}
	e, err := expression.NewBuilder().WithKeyCondition(key).Build()
	if err != nil {
		return Page[domain.Account]{}, err
	}
	items, next, err := s.list(ctx, listQuery{
		in: dynamodb.QueryInput{IndexName: aws.String(table.GSI1), KeyConditionExpression: e.KeyCondition(),
			ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values()},
		limit: limit, cursor: cursor, wantPK: table.AccountsGSI1PK, skPrefix: strings.ToLower(prefix),
	})
	if err != nil {
		return Page[domain.Account]{}, err
	}
	accounts, err := unmarshalAll[domain.Account](items)
	return Page[domain.Account]{Items: accounts, Next: next}, err
}

// errStale marks an item that changed between the read and the write of an operation: the
// operation reads again and retries, unless the caller named a version with If-Match (412).
var errStale = errors.New("store: item changed since read")

// maxOptimisticAttempts bounds how often an operation re-reads after a concurrent change.
const maxOptimisticAttempts = 6

// optimistic runs attempt until it does not fail with errStale; with ifMatch set, errStale is 412.
func optimistic(ifMatch int, attempt func() error) error {
	for i := 1; ; i++ {
		err := attempt()
		if !errors.Is(err, errStale) {
			return err
		}
		if ifMatch != 0 {
			return apperr.PreconditionFailed()
		}
		if i == maxOptimisticAttempts {
			return fmt.Errorf("item kept changing during %d attempts: %w", i, err)
		}
	}
}

// UpdateAccount applies in to account id for its owner or an operator (name, type and legacy id:
// operators only, R1). ifMatch (0 for none) must equal the account's version (412 otherwise).
// It returns 409 email_belongs_to_user when the new owner email is a user's (R4) and 409
// last_recipient when the owner would leave an email type without recipients (R18).
func (s *Store) UpdateAccount(ctx context.Context, c auth.Caller, id string, in domain.UpdateAccountInput, ifMatch int) (domain.Account, error) {
	var result domain.Account
	err := optimistic(ifMatch, func() error {
		// A rename or change of type rewrites the memberships, which copy them: their list is
		// read in parallel with the account, so that the change stays two round trips.
		var found map[table.Key]item
		var members []string
		g, gctx := errgroup.WithContext(ctx)
		g.Go(func() error {
			var err error
			_, found, err = s.getAuthorized(gctx, c, id, needOwner, table.Account(id))
			return err
		})
		if in.Name.Set || in.Type.Set {
			g.Go(func() error {
				var err error
				members, err = s.memberSubs(gctx, id)
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return err
		}
		cur, err := decodeAccount(found[table.Account(id)])
		if err != nil {
			return err
		}
		if ifMatch != 0 && cur.Version != ifMatch {
			return apperr.PreconditionFailed()
		}
		ch, err := domain.ApplyAccountUpdate(cur.Account, in, c.Operator, s.cat, s.now())
		if err != nil || len(ch.Changed) == 0 {
			result = ch.Account
			return err
		}
		result = ch.Account
		var emails ownerEmailState
		if ch.OldOwnerMail != "" {
			result.EmailStatus = nil // cleared by writeAccountChange
			if emails, err = s.readOwnerEmailState(ctx, cur, ch); err != nil {
				return err
			}
		}
		if ch.Account.Name == cur.Name && ch.Account.Type == cur.Type {
			members = nil
		}
		return s.writeAccountChange(ctx, c, cur, ch, emails, members)
	})
	return result, err
}

// ownerEmailState is what a change of the owner email depends on beyond the account: the guards
// of the old and new emails, the owner's membership, and the pending owner invitation.
type ownerEmailState struct {
	oldGuard, newGuard *userEmailItem
	ownerLogin         string             // the owner's login email, normalised ("" without an owner)
	invitation         *domain.Invitation // the owner invitation to re-issue (no owner yet), else nil
}

// readOwnerEmailState reads, in one BatchGetItem, what a change of the owner email depends on.
func (s *Store) readOwnerEmailState(ctx context.Context, cur accountItem, ch domain.AccountChange) (ownerEmailState, error) {
	id := cur.ID
	oldKey, newKey := table.UserEmail(id, ch.OldOwnerMail), table.UserEmail(id, domain.NormaliseEmail(ch.Account.Owner.Email))
	keys := []table.Key{oldKey, newKey}
	if cur.OwnerSub != "" {
		keys = append(keys, table.User(id, cur.OwnerSub))
	} else if cur.OwnerInvitationID != "" {
		keys = append(keys, table.Invitation(id, cur.OwnerInvitationID))
	}
	found, err := s.batchGet(ctx, keys)
	if err != nil {
		return ownerEmailState{}, err
	}
	var st ownerEmailState
	guard := func(k table.Key) (*userEmailItem, error) {
		if found[k] == nil {
			return nil, nil
		}
		var g userEmailItem
		return &g, attributevalue.UnmarshalMap(found[k], &g)
	}
	if st.oldGuard, err = guard(oldKey); err != nil {
		return st, err
	}
	if st.newGuard, err = guard(newKey); err != nil {
		return st, err
	}
	if cur.OwnerSub != "" {
		if it := found[table.User(id, cur.OwnerSub)]; it != nil {
			var u domain.User
			if err := attributevalue.UnmarshalMap(it, &u); err != nil {
				return st, err
			}
			st.ownerLogin = domain.NormaliseEmail(u.Email)
		}
	} else if it := found[table.Invitation(id, cur.OwnerInvitationID)]; it != nil {
		inv, err := decodeInvitation(it)
		if err != nil {
			return st, err
		}
		if inv.Kind == domain.KindOwner && inv.Status == domain.StatusPending { // pending or expired: not ended
			st.invitation = &inv.Invitation
		}
	}
	return st, nil
}

// ownerEmailGuards adds to t the guard changes of a new owner email (R4, finding 6 of issue 14):
//   - the new email's guard is created, or, when it is the owner's own login email (guarded for
//     the login), marked as the owner email too; any other holder is 409 email_belongs_to_user;
//   - the old email's guard is removed, unless it is also the owner's login email, which stays
//     guarded for the login.
func (t *txn) ownerEmailGuards(cur accountItem, ch domain.AccountChange, st ownerEmailState) {
	id := cur.ID
	newEmail := domain.NormaliseEmail(ch.Account.Owner.Email)
	taken := func(item) error {
		return apperr.Conflict(apperr.CodeEmailBelongsToUser, "the owner email belongs to a user of this account")
	}
	isOwners := expression.Name("owner").Equal(expression.Value(true))
	switch g := st.newGuard; {
	case g == nil:
		t.putNew(userEmailItem{Key: table.UserEmail(id, newEmail), Entity: entityUserEmail, Owner: true}, taken)
	case cur.OwnerSub != "" && g.Sub == cur.OwnerSub && !g.Owner:
		mine := expression.Name("sub").Equal(expression.Value(cur.OwnerSub)).And(expression.Name("owner").Equal(expression.Value(false)))
		t.update(g.Key, expression.Set(expression.Name("owner"), expression.Value(true)), &mine, func(old item) error {
			if old == nil {
				return errStale
			}
			return taken(old)
		})
	default:
		t.fail(apperr.Conflict(apperr.CodeEmailBelongsToUser, "the owner email belongs to a user of this account"))
	}
	oldKey := table.UserEmail(id, ch.OldOwnerMail)
	if cur.OwnerSub != "" && st.ownerLogin == ch.OldOwnerMail {
		// The owner logs in with the old owner email: its guard stays, as the login's.
		t.update(oldKey, expression.Set(expression.Name("owner"), expression.Value(false)).Set(expression.Name("sub"), expression.Value(cur.OwnerSub)),
			&isOwners, func(item) error { return errStale })
		return
	}
	t.delete(oldKey, &isOwners, func(item) error { return errStale })
}

// reissueOwnerInvitation adds to t the re-issue of the pending owner invitation to the corrected
// owner email (finding 7): the old one is revoked (its link stops working), a new one is created
// for the new address (the stream function emails it), and the account points at it.
func (t *txn) reissueOwnerInvitation(c auth.Caller, a domain.Account, old domain.Invitation, id string) {
	now := t.s.now()
	inv := domain.NewOwnerInvitation(id, a, c.Actor(), invitetoken.NewNonce(), now)
	t.update(table.Invitation(a.ID, old.ID), expression.Set(expression.Name("status"), expression.Value(domain.StatusRevoked)),
		sendCountIs(old.SendCount), staleOrGone("invitation"))
	t.dropGuard(old)
	t.invite(inv)
}

// sameNameAndType is the condition that the account item still has a's name and type (which
// membership items copy).
func sameNameAndType(a accountItem) expression.ConditionBuilder {
	return expression.Name("name").Equal(expression.Value(a.Name)).And(expression.Name("type").Equal(expression.Value(a.Type)))
}

// memberSubs lists the logins that are members of account id (every page of its USER# items).
func (s *Store) memberSubs(ctx context.Context, id string) ([]string, error) {
	var subs []string
	cursor := ""
	for {
		q, err := prefixQuery(id, table.UserPrefix, nil, false, MaxLimit, cursor)
		if err != nil {
			return nil, err
		}
		items, next, err := s.list(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			var u userItem
			if err := attributevalue.UnmarshalMap(it, &u); err != nil {
				return nil, err
			}
			subs = append(subs, u.ID)
		}
		if cursor = next; cursor == "" {
			return subs, nil
		}
	}
}

// membershipsInRename is how many membership items a rename rewrites in its own transaction; an
// account with more members has the rest rewritten right after, in further transactions.
const membershipsInRename = 80

// writeAccountChange writes change ch of account cur; emails is what an owner email change
// depends on (readOwnerEmailState); members are the logins whose membership
// items copy the account's name and type, when the change renames or retypes it.
func (s *Store) writeAccountChange(ctx context.Context, c auth.Caller, cur accountItem, ch domain.AccountChange, emails ownerEmailState, members []string) error {
	a := ch.Account
	t := s.txn()
	t.access(c, a.ID, needOwner)
	upd := expression.Set(expression.Name("name"), expression.Value(a.Name)).
		Set(expression.Name("type"), expression.Value(a.Type)).
		Set(expression.Name("owner"), expression.Value(a.Owner)).
		Set(expression.Name("ownerEmailTypes"), expression.Value(a.OwnerEmailTypes)).
		Set(expression.Name("updatedAt"), expression.Value(a.UpdatedAt)).
		Set(expression.Name("version"), expression.Value(a.Version)).
		Set(expression.Name(table.GSI1SK), expression.Value(table.AccountsGSI1SK(a.Name, a.ID)))
	if a.LegacyID == "" {
		upd = upd.Remove(expression.Name("legacyId"))
	} else {
		upd = upd.Set(expression.Name("legacyId"), expression.Value(a.LegacyID))
	}
	targets := map[string]string{"accountId": a.ID}
	var nextInvitation string
	if emails.invitation != nil {
		nextInvitation = ids.New(ids.Invitation)
		upd = upd.Set(expression.Name("ownerInvitationId"), expression.Value(nextInvitation))
		targets["invitationId"], targets["revokedInvitationId"] = nextInvitation, emails.invitation.ID
	}
	if ch.OldOwnerMail != "" {
		upd = upd.Remove(expression.Name("emailStatus")).Remove(expression.Name("emailStatusAtMs")) // a new address: the old one's bounce says nothing about it
	}
	cond := expression.Name("version").Equal(expression.Value(cur.Version))
	t.update(table.Account(a.ID), upd, &cond, func(old item) error {
		return s.explainAccount(old, cur.Version)
	})
	t.recipients(a.ID, ch.TypesDelta)
	if _, renamed := ch.Changed["name"]; renamed || ch.Changed["legacyId"] != nil {
		c := expression.AttributeExists(expression.Name(table.PK))
		t.update(table.Site(a.ID, cur.MainSiteID), expression.Set(expression.Name("name"), expression.Value(domain.MainSiteName(a))), &c, nil)
	}
	if ch.OldOwnerMail != "" {
		t.ownerEmailGuards(cur, ch, emails)
		if emails.invitation != nil {
			t.reissueOwnerInvitation(c, a, *emails.invitation, nextInvitation)
		}
	}
	rest := members
	if len(rest) > membershipsInRename {
		rest = members[membershipsInRename:]
		members = members[:membershipsInRename]
	} else {
		rest = nil
	}
	for _, sub := range members {
		t.renameMembership(a, sub)
	}
	t.audit(a.ID, c, "account.update", targets, ch.Changed)
	if err := t.run(ctx); err != nil {
		return err
	}
	for len(rest) > 0 {
		n := min(len(rest), txnItemLimit)
		more := s.txn()
		for _, sub := range rest[:n] {
			more.renameMembership(a, sub)
		}
		err := more.run(ctx)
		if errors.Is(err, errStale) {
			// A membership of the chunk was removed meanwhile: rewrite the others one by one.
			for _, sub := range rest[:n] {
				one := s.txn()
				one.renameMembership(a, sub)
				if err := one.run(ctx); err != nil && !errors.Is(err, errStale) {
					return err
				}
			}
		} else if err != nil {
			return err
		}
		rest = rest[n:]
	}
	return nil
}

// renameMembership adds the rewrite of the account name and type on sub's membership item; a
// membership removed meanwhile makes the change run again (errStale).
func (t *txn) renameMembership(a domain.Account, sub string) {
	exists := expression.AttributeExists(expression.Name(table.PK))
	t.update(table.User(a.ID, sub), expression.Set(expression.Name("accountName"), expression.Value(a.Name)).
		Set(expression.Name("accountType"), expression.Value(a.Type)), &exists, func(item) error { return errStale })
}

// explainAccount says why a change conditioned on the account item failed: it is gone (404) or
// it changed (errStale).
func (s *Store) explainAccount(old item, version int) error {
	if old == nil {
		return apperr.NotFound("account")
	}
	return errStale
}
