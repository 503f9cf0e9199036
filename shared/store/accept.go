package store

import (
	"context"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"rollcall/shared/apperr"
	"rollcall/shared/auth"
	"rollcall/shared/domain"
	"rollcall/shared/idempotency"
	"rollcall/shared/ids"
	"rollcall/shared/invitetoken"
	"rollcall/shared/table"
)

// tokenInvitation reads the invitation a token names, with its account, and checks the token
// against the invitation's current nonce (R15). extra keys are read in the same BatchGetItem.
// Errors: 400 invalid_token for a malformed, tampered or superseded token, or one that names no
// invitation.
func (s *Store) tokenInvitation(ctx context.Context, signer *invitetoken.Signer, token string, extra ...table.Key) (domain.Invitation, accountItem, map[table.Key]item, error) {
	accountID, invitationID, err := invitetoken.Parse(token)
	if err != nil || !ids.Valid(ids.Account, accountID) || !ids.Valid(ids.Invitation, invitationID) {
		return domain.Invitation{}, accountItem{}, nil, domain.ErrInvalidToken
	}
	keys := append([]table.Key{table.Invitation(accountID, invitationID), table.Account(accountID)}, extra...)
	found, err := s.batchGet(ctx, keys)
	if err != nil {
		return domain.Invitation{}, accountItem{}, nil, err
	}
	inv, err := decodeInvitation(found[keys[0]])
	if err != nil {
		return domain.Invitation{}, accountItem{}, nil, domain.ErrInvalidToken
	}
	if !signer.Verify(token, accountID, invitationID, inv.Nonce) {
		return domain.Invitation{}, accountItem{}, nil, domain.ErrInvalidToken
	}
	acc, err := decodeAccount(found[keys[1]])
	return inv.Invitation, acc, found, err
}

// LookupInvitation shows what a token invites to (a "join as X" screen): account name, inviter,
// invited email, kind, permissions, expiry and status. Anyone holding the token may look.
// Errors: 400 invalid_token.
func (s *Store) LookupInvitation(ctx context.Context, signer *invitetoken.Signer, token string) (domain.InvitationView, error) {
	inv, acc, _, err := s.tokenInvitation(ctx, signer, token)
	if err != nil {
		return domain.InvitationView{}, err
	}
	// Whoever holds the link sees who invited: a member of the account, never an operator (the
	// vendor's staff), whose invitations come from the account itself.
	var by *domain.Actor
	if !inv.InvitedBy.Operator {
		by = &inv.InvitedBy
	}
	return domain.InvitationView{
		AccountName: acc.Name, InvitedBy: by, InvitedEmail: inv.Email, Kind: inv.Kind,
		Permissions: inv.Permissions, ExpiresAt: inv.ExpiresAt, Status: inv.EffectiveStatus(s.now()),
	}, nil
}

// AcceptInvitation makes the caller a member as the token's invitation says (R12): any login may
// accept, the membership records the invited and the accepting email, and the invitation is
// used once. An owner invitation makes the caller the owner (R2); a welcome invitation links the
// new user to its contact (R22). Errors: 400 invalid_token, 410 invitation_expired or
// invitation_revoked, 409 invitation_already_accepted, 409 already_member, 409
// email_belongs_to_user (R4), 409 conflict when the account has an owner already.
func (s *Store) AcceptInvitation(ctx context.Context, c auth.Caller, signer *invitetoken.Signer, token string, req *idempotency.Request) (domain.User, error) {
	var result domain.User
	// A BatchGetItem is not isolated from a transaction: it can see the membership and the used
	// invitation that a concurrent accept with the same Idempotency-Key wrote, but not yet that
	// accept's idempotency record. Such a refusal is read once more, so that the repeat gets the
	// first answer rather than 409.
	recheck := req != nil
	refuse := func(err error) error {
		if recheck {
			recheck = false
			return errStale
		}
		return err
	}
	err := optimistic(0, func() error {
		accountID, _, _ := invitetoken.Parse(token)
		inv, acc, found, err := s.tokenInvitation(ctx, signer, token, append(idemKeys(req), table.User(accountID, c.Sub))...)
		if err != nil {
			return err
		}
		if err := s.replayed(req, found); err != nil {
			return err
		}
		now := s.now()
		if err := inv.Acceptable(now); err != nil {
			return refuse(err)
		}
		if found[table.User(accountID, c.Sub)] != nil {
			return refuse(alreadyMember(nil))
		}
		u := domain.User{ID: c.Sub, AccountID: accountID, Email: c.Email, InvitedEmail: inv.Email, Role: domain.RoleUser,
			Permissions: inv.Permissions, ContactID: inv.ContactID, JoinedAt: now}
		if u.Email == "" {
			u.Email = inv.Email
		}
		done := inv
		done.Status, done.AcceptedBy, done.AcceptedEmail = domain.StatusAccepted, c.Sub, c.Email

		if inv.Kind == domain.KindOwner {
			u.Role, u.Permissions = domain.RoleOwner, []string{}
		}
		t := s.txn()
		// The record first: a concurrent accept with the same key fails on it and gets the
		// first answer (not "already accepted").
		t.idempotent(req, http.StatusCreated, u)
		t.update(table.Invitation(accountID, inv.ID), expression.Set(expression.Name("status"), expression.Value(done.Status)).
			Set(expression.Name("acceptedBy"), expression.Value(done.AcceptedBy)).
			Set(expression.Name("acceptedEmail"), expression.Value(done.AcceptedEmail)), sendCountIs(inv.SendCount), func(old item) error {
			cur, err := decodeInvitation(old)
			if err != nil {
				return domain.ErrInvalidToken
			}
			if err := cur.Acceptable(now); err != nil {
				return err
			}
			return domain.ErrInvalidToken // resent meanwhile: this link is superseded
		})
		t.dropGuard(inv)
		switch inv.Kind {
		case domain.KindOwner:
			noOwner := expression.AttributeNotExists(expression.Name("ownerSub")).And(expression.AttributeExists(expression.Name(table.PK))).
				And(sameNameAndType(acc))
			t.update(table.Account(accountID), expression.Set(expression.Name("ownerSub"), expression.Value(c.Sub)).
				Set(expression.Name("ownerLogin"), expression.Value(u.Email)), &noOwner, func(old item) error {
				if old == nil {
					return apperr.NotFound("account")
				}
				if a, err := decodeAccount(old); err == nil && (a.Name != acc.Name || a.Type != acc.Type) {
					return errStale // renamed meanwhile: write the new name on the membership
				}
				return apperr.Conflict(apperr.CodeConflict, "the account has an owner already; ownership moves only by a transfer")
			})
		case domain.KindWelcome:
			free := expression.AttributeExists(expression.Name(table.PK)).And(expression.AttributeNotExists(expression.Name("userId")))
			t.update(table.Contact(accountID, inv.ContactID), expression.Set(expression.Name("userId"), expression.Value(c.Sub)), &free, func(old item) error {
				if old == nil {
					return apperr.Conflict(apperr.CodeConflict, "the contact this invitation was for no longer exists")
				}
				return apperr.Conflict(apperr.CodeConflict, "the contact this invitation was for is linked to another user")
			})
		}
		if inv.Kind != domain.KindOwner {
			// The membership copies the account's name and type: they must be the ones read.
			t.check(table.Account(accountID), sameNameAndType(acc), func(old item) error {
				if old == nil {
					return apperr.NotFound("account")
				}
				return errStale
			})
		}
		t.putNew(newUserItem(u, acc.Account), alreadyMember)
		// Every member's login email is guarded (R4); the owner's only when it is not the account's
		// owner email, which has its guard already.
		if u.Role == domain.RoleUser || domain.NormaliseEmail(u.Email) != domain.NormaliseEmail(acc.Owner.Email) {
			t.putNew(userEmailItem{Key: table.UserEmail(accountID, domain.NormaliseEmail(u.Email)), Entity: entityUserEmail, Sub: c.Sub}, userEmailTaken)
		}
		t.audit(accountID, c, "invitation.accept", map[string]string{"invitationId": inv.ID, "userId": c.Sub},
			map[string]any{"role": u.Role, "permissions": u.Permissions, "invitedEmail": inv.Email, "acceptedEmail": c.Email})
		if err := t.run(ctx); err != nil {
			return err
		}
		result = u
		return nil
	})
	return result, err
}

func alreadyMember(item) error {
	return apperr.Conflict(apperr.CodeAlreadyMember, "this login is already a member of the account")
}
