package store

import (
	"context"
	"fmt"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"net/http"
	"rollcall/shared/apperr"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"rollcall/shared/auth"
	"rollcall/shared/domain"
	"rollcall/shared/idempotency"
	"rollcall/shared/table"
)

// userItem is a membership as stored; GSI1 lists a login's memberships (R6).
//
// It also holds the account's name and type as GET /me/accounts shows them, so that the list is
// one Query of GSI1: accepting an invitation writes them from the account it read (and checks, in
// its transaction, that the account still has them), and a rename or change of type rewrites them
// on every membership (writeAccountChange).
type userItem struct {
	table.Key
	GSI1PK string `dynamodbav:"GSI1PK"`
	GSI1SK string `dynamodbav:"GSI1SK"`
	Entity string `dynamodbav:"entity"`
	domain.User
	AccountName string `dynamodbav:"accountName,omitempty"`
	AccountType string `dynamodbav:"accountType,omitempty"`
}

func newUserItem(u domain.User, a domain.Account) userItem {
	pk, sk := table.UserGSI1(u.AccountID, u.ID)
	return userItem{Key: table.User(u.AccountID, u.ID), GSI1PK: pk, GSI1SK: sk, Entity: entityUser, User: u,
		AccountName: a.Name, AccountType: a.Type}
}

// MyAccount is one account of the calling login, as GET /me/accounts lists it.
type MyAccount struct {
	Account     domain.AccountSummary `json:"account"`
	Role        string                `json:"role"`
	Permissions []string              `json:"permissions"`
	Admin       bool                  `json:"admin"`
}

// ListMyAccounts lists the accounts the caller is a member of, with its role and permissions in
// each: one query of GSI1, whose membership items carry the accounts' names and types. (A
// membership written before they did, not yet given them by Migrate, has its account read with one
// BatchGetItem: needed between a deploy and the end of its migration; remove it once every stage
// is at SchemaVersion 2.)
func (s *Store) ListMyAccounts(ctx context.Context, c auth.Caller, limit int, cursor string) (Page[MyAccount], error) {
	pk := table.LoginPK(c.Sub)
	e, err := expression.NewBuilder().WithKeyCondition(expression.Key(table.GSI1PK).Equal(expression.Value(pk))).Build()
	if err != nil {
		return Page[MyAccount]{}, err
	}
	items, next, err := s.list(ctx, listQuery{
		in: dynamodb.QueryInput{IndexName: aws.String(table.GSI1), KeyConditionExpression: e.KeyCondition(),
			ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values()},
		limit: limit, cursor: cursor, wantPK: pk,
	})
	if err != nil {
		return Page[MyAccount]{}, err
	}
	users, err := unmarshalAll[userItem](items)
	if err != nil || len(users) == 0 {
		return Page[MyAccount]{Items: []MyAccount{}}, err
	}
	var keys []table.Key
	for _, u := range users {
		if u.AccountName == "" {
			keys = append(keys, table.Account(u.AccountID))
		}
	}
	accounts := map[table.Key]item{}
	if len(keys) > 0 {
		if accounts, err = s.batchGet(ctx, keys); err != nil {
			return Page[MyAccount]{}, err
		}
	}
	out := Page[MyAccount]{Items: make([]MyAccount, 0, len(users)), Next: next}
	for _, u := range users {
		sum := domain.AccountSummary{ID: u.AccountID, Name: u.AccountName, Type: u.AccountType}
		if u.AccountName == "" {
			it := accounts[table.Account(u.AccountID)]
			if it == nil {
				continue // the account is gone; its membership is not shown
			}
			a, err := decodeAccount(it)
			if err != nil {
				return Page[MyAccount]{}, fmt.Errorf("account %s of login %s cannot be read: %w", u.AccountID, c.Sub, err)
			}
			sum = domain.AccountSummary{ID: a.ID, Name: a.Name, Type: a.Type}
		}
		out.Items = append(out.Items, MyAccount{Account: sum, Role: u.Role, Permissions: u.Permissions, Admin: u.Admin})
	}
	return out, nil
}

// ListUsers lists the members of an account, owner included (owner or operator only).
func (s *Store) ListUsers(ctx context.Context, c auth.Caller, accountID string, limit int, cursor string) (Page[domain.User], error) {
	q, err := prefixQuery(accountID, table.UserPrefix, nil, false, limit, cursor)
	if err != nil {
		return Page[domain.User]{}, err
	}
	return listAccount[domain.User](ctx, s, c, accountID, needOwner, q)
}

// GetUser returns member sub of an account (owner or operator only; 404 when not a member).
func (s *Store) GetUser(ctx context.Context, c auth.Caller, accountID, sub string) (domain.User, error) {
	_, found, err := s.getAuthorized(ctx, c, accountID, needOwner, table.User(accountID, sub))
	if err != nil {
		return domain.User{}, err
	}
	return decodeUser(found[table.User(accountID, sub)])
}

func decodeUser(it item) (domain.User, error) {
	var u domain.User
	if it == nil {
		return u, apperr.NotFound("user")
	}
	err := attributevalue.UnmarshalMap(it, &u)
	return u, err
}

func ownerProtected() error {
	return apperr.Conflict(apperr.CodeOwnerProtected, "the owner cannot be changed or removed; transfer ownership first")
}

// isUser is the condition that a membership exists with role user (not the owner).
func isUser() *expression.ConditionBuilder {
	c := expression.Name("role").Equal(expression.Value(domain.RoleUser))
	return &c
}

func userGoneOrOwner(old item) error {
	if old == nil {
		return apperr.NotFound("user")
	}
	return ownerProtected()
}

// UpdateUserPermissions sets the permissions of member sub (R7, R8); perms must already be
// checked against the catalog. Errors: 404/403, 409 owner_protected for the owner.
func (s *Store) UpdateUserPermissions(ctx context.Context, c auth.Caller, accountID, sub string, perms []string) (domain.User, error) {
	u, err := s.GetUser(ctx, c, accountID, sub)
	if err != nil {
		return u, err
	}
	if u.Role == domain.RoleOwner {
		return u, ownerProtected()
	}
	old := u.Permissions
	u.Permissions = perms
	t := s.txn()
	t.access(c, accountID, needOwner)
	t.update(table.User(accountID, sub), expression.Set(expression.Name("permissions"), expression.Value(perms)), isUser(), userGoneOrOwner)
	t.audit(accountID, c, "user.update", map[string]string{"userId": sub}, map[string]any{"permissions": perms, "previousPermissions": old})
	return u, t.run(ctx)
}

// RemoveUser ends the membership of sub (never the owner), frees its email (R4) and unlinks its
// contact. Errors: 404/403, 409 owner_protected.
func (s *Store) RemoveUser(ctx context.Context, c auth.Caller, accountID, sub string) error {
	return optimistic(0, func() error {
		u, err := s.GetUser(ctx, c, accountID, sub)
		if err != nil {
			return err
		}
		if u.Role == domain.RoleOwner {
			return ownerProtected()
		}
		t := s.txn()
		t.access(c, accountID, needOwner)
		t.delete(table.User(accountID, sub), isUser(), userGoneOrOwner)
		mine := expression.AttributeNotExists(expression.Name(table.PK)).Or(expression.Name("sub").Equal(expression.Value(sub)))
		t.delete(table.UserEmail(accountID, domain.NormaliseEmail(u.Email)), &mine, func(item) error { return errStale })
		if u.ContactID != "" {
			// The contact and its user stay paired: unlink the contact in the same transaction.
			linked := expression.Name("userId").Equal(expression.Value(sub))
			t.update(table.Contact(accountID, u.ContactID), expression.Remove(expression.Name("userId")), &linked, func(item) error { return errStale })
		}
		t.audit(accountID, c, "user.remove", map[string]string{"userId": sub}, map[string]any{"email": u.Email})
		return t.run(ctx)
	})
}

// TransferOwnership makes member newOwner the owner (R5): the old owner stays a user with every
// permission of the catalog, and the account's owner email becomes the new owner's, so that the
// owner's email stays apart from the users' (R4). Owner or operator only. Errors: 404/403, 404
// when newOwner is not a member, 409 when it is the owner already.
func (s *Store) TransferOwnership(ctx context.Context, c auth.Caller, accountID, newOwner string, req *idempotency.Request) (domain.Account, error) {
	var result domain.Account
	err := optimistic(0, func() error {
		// The right first, then the record. A transfer's own success takes the right to transfer
		// from the caller, so its repeat needs the caller to be a member still (it keeps every
		// permission, R5); anyone else needs the owner role. A removed member gets 404.
		me, found, err := s.getAuthorized(ctx, c, accountID, needMember, append(idemKeys(req), table.Account(accountID), table.User(accountID, newOwner))...)
		if err != nil {
			return err
		}
		if err := s.replayed(req, found); err != nil {
			return err
		}
		if me != nil && !permits(*me, needOwner) {
			return forbidden(needOwner)
		}
		acc, err := decodeAccount(found[table.Account(accountID)])
		if err != nil {
			return err
		}
		target, err := decodeUser(found[table.User(accountID, newOwner)])
		if err != nil {
			return err
		}
		if target.Role == domain.RoleOwner {
			return apperr.Conflict(apperr.CodeConflict, "this user is the owner already")
		}
		oldOwner := me // the caller, when it is the owner; for an operator, the owner as the account names it
		if c.Operator && acc.OwnerSub != "" && acc.OwnerLogin != "" {
			oldOwner = &domain.User{ID: acc.OwnerSub, Email: acc.OwnerLogin}
		} else if c.Operator && acc.OwnerSub != "" {
			// An owner who accepted before the account kept its login email: read the membership.
			it, err := s.get(ctx, table.User(accountID, acc.OwnerSub))
			if err != nil {
				return err
			}
			if it != nil {
				u, err := decodeUser(it)
				if err != nil {
					return err
				}
				oldOwner = &u
			}
		}
		now := s.now()
		next := acc.Account
		oldOwnerEmail := domain.NormaliseEmail(next.Owner.Email)
		next.Owner.Email, next.UpdatedAt, next.Version = target.Email, now, next.Version+1

		// No separate access check: for a member caller, the old owner's update below is the
		// caller's own membership, conditioned on its owner role.
		t := s.txn()
		sameOwner := expression.Name("version").Equal(expression.Value(acc.Version))
		if acc.OwnerSub == "" {
			sameOwner = sameOwner.And(expression.AttributeNotExists(expression.Name("ownerSub")))
		} else {
			sameOwner = sameOwner.And(expression.Name("ownerSub").Equal(expression.Value(acc.OwnerSub)))
		}
		t.update(table.Account(accountID), expression.Set(expression.Name("ownerSub"), expression.Value(newOwner)).
			Set(expression.Name("ownerLogin"), expression.Value(target.Email)).
			Set(expression.Name("owner.email"), expression.Value(next.Owner.Email)).
			Set(expression.Name("updatedAt"), expression.Value(now)).
			Set(expression.Name("version"), expression.Value(next.Version)), &sameOwner, staleOrGone("account"))
		t.update(table.User(accountID, newOwner), expression.Set(expression.Name("role"), expression.Value(domain.RoleOwner)), isUser(), userGoneOrOwner)
		// The email guards after the transfer: the new owner's email is the owner's, the old
		// owner's login email is a user's, and the old owner email is free unless it is that.
		guards := map[string]userEmailItem{}
		if oldOwner != nil {
			wasOwner := expression.Name("role").Equal(expression.Value(domain.RoleOwner))
			t.update(table.User(accountID, oldOwner.ID), expression.Set(expression.Name("role"), expression.Value(domain.RoleUser)).
				Set(expression.Name("permissions"), expression.Value(domain.AllPermissions(s.cat))), &wasOwner, func(old item) error {
				if c.Operator {
					return errStale
				}
				if old == nil {
					return apperr.NotFound("account")
				}
				return forbidden(needOwner)
			})
			e := domain.NormaliseEmail(oldOwner.Email)
			guards[e] = userEmailItem{Key: table.UserEmail(accountID, e), Entity: entityUserEmail, Sub: oldOwner.ID}
		}
		// The record after the right (the caller's own membership above, for a member) and before
		// the state's conditions: a concurrent repeat gets the first answer, not a conflict.
		t.idempotent(req, http.StatusOK, next)
		e := domain.NormaliseEmail(target.Email)
		guards[e] = userEmailItem{Key: table.UserEmail(accountID, e), Entity: entityUserEmail, Owner: true}
		known := expression.AttributeNotExists(expression.Name(table.PK)).Or(expression.Name("owner").Equal(expression.Value(true))).
			Or(expression.Name("sub").In(expression.Value(newOwner), expression.Value(acc.OwnerSub)))
		for _, g := range guards {
			t.put(g, &known, userEmailTaken)
		}
		if _, kept := guards[oldOwnerEmail]; !kept {
			isOwners := expression.Name("owner").Equal(expression.Value(true))
			t.delete(table.UserEmail(accountID, oldOwnerEmail), &isOwners, func(item) error { return errStale })
		}
		t.audit(accountID, c, "account.transferOwnership", map[string]string{"accountId": accountID, "userId": newOwner},
			map[string]any{"previousOwner": acc.OwnerSub, "ownerEmail": next.Owner.Email})
		if err := t.run(ctx); err != nil {
			return err
		}
		result = next
		return nil
	})
	return result, err
}
