package store

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"rollcall/shared/apperr"
	"rollcall/shared/auth"
	"rollcall/shared/domain"
	"rollcall/shared/table"
)

// GrantAdmin gives member sub admin privileges (R9): contacts:read, contacts:write and
// sites:write whatever its own permissions. Only an operator may, and only when the member's
// linked contact holds an admin-eligible role on a site of the account: the transaction that sets
// the flag checks the contact's admin-eligible role count (`adminRoles` > 0) and link (`userId`),
// so it cannot interleave with the change that removes the contact's last such role (which
// clears the flag in its own transaction). One BatchGetItem (the account and the membership,
// for its contactId) and one transaction. A member who is an admin already is answered as is.
// Errors: 403 for non-operator members, 404 account (not a member, or no such account), 404
// user, 409 not_admin_eligible.
func (s *Store) GrantAdmin(ctx context.Context, c auth.Caller, accountID, sub string) (domain.User, error) {
	var result domain.User
	err := optimistic(0, func() error {
		u, err := s.readMember(ctx, c, accountID, sub)
		if err != nil {
			return err
		}
		result = u
		if u.ContactID == "" {
			return s.notAdminEligible("the user is not linked to a contact")
		}
		if u.Admin {
			return nil
		}
		t := s.txn()
		linked := expression.AttributeExists(expression.Name(table.PK)).And(expression.Name("contactId").Equal(expression.Value(u.ContactID)))
		t.update(table.User(accountID, sub), expression.Set(expression.Name("admin"), expression.Value(true)), &linked, staleOrGone("user"))
		eligible := expression.Name("userId").Equal(expression.Value(sub)).And(expression.Name("adminRoles").GreaterThan(expression.Value(0)))
		t.check(table.Contact(accountID, u.ContactID), eligible, func(old item) error {
			if old == nil {
				return s.notAdminEligible("the user's linked contact no longer exists")
			}
			ct, err := decodeContact(old)
			if err != nil {
				return err
			}
			if ct.UserID != sub {
				return errStale
			}
			return s.notAdminEligible("the user's linked contact holds no admin-eligible role")
		})
		t.audit(accountID, c, "user.grantAdmin", map[string]string{"userId": sub, "contactId": u.ContactID}, map[string]any{"admin": true})
		if err := t.run(ctx); err != nil {
			return err
		}
		result.Admin = true
		return nil
	})
	return result, err
}

// RevokeAdmin takes admin privileges from member sub (R9); only an operator may. A member that is
// no admin is answered as is. One BatchGetItem and one transaction. Errors: 403 for non-operator
// members, 404 account, 404 user.
func (s *Store) RevokeAdmin(ctx context.Context, c auth.Caller, accountID, sub string) (domain.User, error) {
	u, err := s.readMember(ctx, c, accountID, sub)
	if err != nil || !u.Admin {
		return u, err
	}
	t := s.txn()
	exists := expression.AttributeExists(expression.Name(table.PK))
	t.update(table.User(accountID, sub), expression.Set(expression.Name("admin"), expression.Value(false)), &exists, func(item) error {
		return apperr.NotFound("user")
	})
	t.audit(accountID, c, "user.revokeAdmin", map[string]string{"userId": sub}, map[string]any{"admin": false})
	if err := t.run(ctx); err != nil {
		return u, err
	}
	u.Admin = false
	return u, nil
}

// readMember reads member sub for an operator, with the account, in one BatchGetItem.
func (s *Store) readMember(ctx context.Context, c auth.Caller, accountID, sub string) (domain.User, error) {
	_, found, err := s.getAuthorized(ctx, c, accountID, needOperator, table.User(accountID, sub))
	if err != nil {
		return domain.User{}, err
	}
	return decodeUser(found[table.User(accountID, sub)])
}
