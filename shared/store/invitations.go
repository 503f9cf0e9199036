package store

import (
	"context"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"rollcall/shared/apperr"
	"rollcall/shared/auth"
	"rollcall/shared/domain"
	"rollcall/shared/idempotency"
	"rollcall/shared/invitetoken"
	"rollcall/shared/table"
)

// invitationItem is an invitation as stored; expiresEpoch is its expiry in epoch seconds, for
// conditions and filters.
type invitationItem struct {
	table.Key
	Entity       string `dynamodbav:"entity"`
	ExpiresEpoch int64  `dynamodbav:"expiresEpoch"`
	domain.Invitation
}

func newInvitationItem(inv domain.Invitation) invitationItem {
	return invitationItem{Key: table.Invitation(inv.AccountID, inv.ID), Entity: entityInvitation,
		ExpiresEpoch: inv.ExpiresAt.Unix(), Invitation: inv}
}

// inviteEmailItem allows one pending invitation per email (R11). It is stale once expiresAt
// (epoch seconds) has passed, and removed when its invitation ends.
type inviteEmailItem struct {
	table.Key
	Entity       string `dynamodbav:"entity"`
	InvitationID string `dynamodbav:"invitationId"`
	ExpiresAt    int64  `dynamodbav:"expiresAt"`
}

func inviteGuard(inv domain.Invitation) inviteEmailItem {
	return inviteEmailItem{Key: table.InvitationEmail(inv.AccountID, domain.NormaliseEmail(inv.Email)),
		Entity: entityInviteEmail, InvitationID: inv.ID, ExpiresAt: inv.ExpiresAt.Unix()}
}

// freeGuard is the condition under which an invitation may take the pending guard of its email:
// none exists, the one there has expired, or it is the invitation's own.
func freeGuard(invitationID string, now time.Time) expression.ConditionBuilder {
	return expression.AttributeNotExists(expression.Name(table.PK)).
		Or(expression.Name("expiresAt").LessThanEqual(expression.Value(now.Unix()))).
		Or(expression.Name("invitationId").Equal(expression.Value(invitationID)))
}

func pendingConflict(old item) error {
	var g inviteEmailItem
	if err := attributevalue.UnmarshalMap(old, &g); err != nil {
		return err
	}
	return apperr.Conflict(apperr.CodeInvitationPending, "a pending invitation for this email exists: %s", g.InvitationID).
		With("invitationId", g.InvitationID)
}

// invite adds a new invitation and its pending guard to t; the transaction fails with 409
// invitation_pending, naming the pending one, when the email has one already (R11).
func (t *txn) invite(inv domain.Invitation) {
	t.putNew(newInvitationItem(inv), nil)
	cond := freeGuard(inv.ID, t.s.now())
	t.put(inviteGuard(inv), &cond, pendingConflict)
}

// userEmailFree adds the check that email is neither the owner's nor a user's (R4).
func (t *txn) userEmailFree(accountID, email string) {
	t.check(table.UserEmail(accountID, domain.NormaliseEmail(email)), expression.AttributeNotExists(expression.Name(table.PK)), userEmailTaken)
}

func userEmailTaken(old item) error {
	var g userEmailItem
	if err := attributevalue.UnmarshalMap(old, &g); err != nil {
		return err
	}
	if g.Owner {
		return apperr.Conflict(apperr.CodeEmailBelongsToUser, "this email is the account owner's")
	}
	return apperr.Conflict(apperr.CodeEmailBelongsToUser, "this email belongs to a user of the account: %s", g.Sub).With("userId", g.Sub)
}

// CreateInvitation writes user invitation inv (R10) for the owner or an operator, in one
// transaction with its pending guard, the check that the email is not the owner's or a user's
// (R4), the audit entry and the idempotency record. Errors: 404/403 (access), 409
// invitation_pending naming the pending invitation (R11), 409 email_belongs_to_user.
func (s *Store) CreateInvitation(ctx context.Context, c auth.Caller, inv domain.Invitation, req *idempotency.Request, respond any) error {
	t := s.txn()
	t.access(c, inv.AccountID, needOwner)
	t.check(table.Account(inv.AccountID), expression.AttributeExists(expression.Name(table.PK)), func(item) error {
		return apperr.NotFound("account")
	})
	t.idempotent(req, 201, respond)
	t.userEmailFree(inv.AccountID, inv.Email)
	t.invite(inv)
	t.audit(inv.AccountID, c, "invitation.create", map[string]string{"invitationId": inv.ID},
		map[string]any{"email": inv.Email, "permissions": inv.Permissions, "expiresAt": inv.ExpiresAt})
	return t.run(ctx)
}

// validStatus reports whether s is a status ListInvitations filters by ("" for all).
func validStatus(s string) bool {
	switch s {
	case "", domain.StatusPending, domain.StatusAccepted, domain.StatusRevoked, domain.StatusExpired:
		return true
	}
	return false
}

// ListInvitations lists the invitations of an account, oldest first, with their status as at
// now; status ("" for all) filters. Owner or operator only. A bad status is 400.
func (s *Store) ListInvitations(ctx context.Context, c auth.Caller, accountID, status string, limit int, cursor string) (Page[domain.Invitation], error) {
	if !validStatus(status) {
		return Page[domain.Invitation]{}, apperr.InvalidField("status", "must be pending, accepted, revoked or expired")
	}
	now := s.now()
	st, expires := expression.Name("status"), expression.Name("expiresEpoch")
	var filter *expression.ConditionBuilder
	switch status {
	case domain.StatusPending:
		f := st.Equal(expression.Value(domain.StatusPending)).And(expires.GreaterThan(expression.Value(now.Unix())))
		filter = &f
	case domain.StatusExpired:
		f := st.Equal(expression.Value(domain.StatusPending)).And(expires.LessThanEqual(expression.Value(now.Unix())))
		filter = &f
	case domain.StatusAccepted, domain.StatusRevoked:
		f := st.Equal(expression.Value(status))
		filter = &f
	}
	q, err := prefixQuery(accountID, table.InvitationPrefix, filter, false, limit, cursor)
	if err != nil {
		return Page[domain.Invitation]{}, err
	}
	p, err := listAccount[domain.Invitation](ctx, s, c, accountID, needOwner, q)
	for i := range p.Items {
		p.Items[i].Status = p.Items[i].EffectiveStatus(now)
	}
	return p, err
}

func decodeInvitation(it item) (invitationItem, error) {
	var inv invitationItem
	if it == nil {
		return inv, apperr.NotFound("invitation")
	}
	err := attributevalue.UnmarshalMap(it, &inv)
	return inv, err
}

// readInvitation reads an invitation together with the caller's access (owner) item and the
// record of req, which it checks first (see replayed).
func (s *Store) readInvitation(ctx context.Context, c auth.Caller, accountID, id string, req *idempotency.Request) (domain.Invitation, error) {
	_, found, err := s.getAuthorized(ctx, c, accountID, needOwner, append(idemKeys(req), table.Invitation(accountID, id))...)
	if err != nil {
		return domain.Invitation{}, err
	}
	if err := s.replayed(req, found); err != nil {
		return domain.Invitation{}, err
	}
	inv, err := decodeInvitation(found[table.Invitation(accountID, id)])
	return inv.Invitation, err
}

// dropGuard adds the removal of an ending invitation's pending guard. While an invitation is
// pending and unexpired it owns its email's guard; once expired the guard is stale (or already
// another invitation's) and is left alone.
func (t *txn) dropGuard(inv domain.Invitation) {
	if inv.EffectiveStatus(t.s.now()) != domain.StatusPending {
		return
	}
	mine := expression.Name("invitationId").Equal(expression.Value(inv.ID))
	t.delete(inviteGuard(inv).Key, &mine, func(item) error { return errStale })
}

// sendCountIs is the condition that an invitation is still pending with the send count read.
// Invitation changes are updates of the fields they change, never whole-item writes, so that the
// email function's delivery status (written beside them) is not lost.
func sendCountIs(n int) *expression.ConditionBuilder {
	c := expression.Name("sendCount").Equal(expression.Value(n)).And(expression.Name("status").Equal(expression.Value(domain.StatusPending)))
	return &c
}

// ResendInvitation sends invitation id again (R14): new nonce and so a new link, expiry reset,
// send count +1 (the stream function sends the email). Works on expired invitations. Errors:
// 404/403, 409 when it has ended or another invitation for the email is pending, 409
// email_undeliverable when its address hard-bounced or complained (EmailStatus) unless force,
// 429 within 60 s of the last send.
func (s *Store) ResendInvitation(ctx context.Context, c auth.Caller, accountID, id string, force bool, req *idempotency.Request) (domain.Invitation, error) {
	var result domain.Invitation
	err := optimistic(0, func() error {
		cur, err := s.readInvitation(ctx, c, accountID, id, req)
		if err != nil {
			return err
		}
		if st := cur.EmailStatus; st != nil && st.Status == domain.EmailUndeliverable && !force {
			return apperr.Conflict(apperr.CodeEmailUndeliverable,
				"the invitation's address is undeliverable (%s since %s): resend with {\"force\": true} to send anyway",
				st.Reason, st.At.UTC().Format(time.RFC3339)).With("emailStatus", st)
		}
		next, err := cur.Resent(invitetoken.NewNonce(), s.now())
		if err != nil {
			return err
		}
		result = next
		result.Status = result.EffectiveStatus(s.now())
		t := s.txn()
		t.access(c, accountID, needOwner)
		t.idempotent(req, http.StatusOK, result)
		t.update(table.Invitation(accountID, id), expression.Set(expression.Name("nonce"), expression.Value(next.Nonce)).
			Set(expression.Name("sendCount"), expression.Value(next.SendCount)).
			Set(expression.Name("lastSentAt"), expression.Value(next.LastSentAt)).
			Set(expression.Name("expiresAt"), expression.Value(next.ExpiresAt)).
			Set(expression.Name("expiresEpoch"), expression.Value(next.ExpiresAt.Unix())).
			Remove(expression.Name("delivery")), sendCountIs(cur.SendCount), staleOrGone("invitation"))
		cond := freeGuard(id, s.now())
		t.put(inviteGuard(next), &cond, pendingConflict)
		t.audit(accountID, c, "invitation.resend", map[string]string{"invitationId": id},
			map[string]any{"sendCount": next.SendCount, "expiresAt": next.ExpiresAt})
		return t.run(ctx)
	})
	return result, err
}

// RevokeInvitation ends pending invitation id at once (R14) and frees its email's guard.
// Errors: 404/403, 409 when it is not pending.
func (s *Store) RevokeInvitation(ctx context.Context, c auth.Caller, accountID, id string) (domain.Invitation, error) {
	var result domain.Invitation
	err := optimistic(0, func() error {
		cur, err := s.readInvitation(ctx, c, accountID, id, nil)
		if err != nil {
			return err
		}
		if st := cur.EffectiveStatus(s.now()); st != domain.StatusPending {
			return apperr.Conflict(apperr.CodeConflict, "the invitation is %s and cannot be revoked", st)
		}
		result = cur
		result.Status = domain.StatusRevoked
		t := s.txn()
		t.access(c, accountID, needOwner)
		t.update(table.Invitation(accountID, id), expression.Set(expression.Name("status"), expression.Value(domain.StatusRevoked)),
			sendCountIs(cur.SendCount), staleOrGone("invitation"))
		t.dropGuard(cur)
		t.audit(accountID, c, "invitation.revoke", map[string]string{"invitationId": id}, map[string]any{"status": domain.StatusRevoked})
		return t.run(ctx)
	})
	return result, err
}
