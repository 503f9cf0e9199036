package store

import (
	"slices"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"rollcall/shared/apperr"
	"rollcall/shared/auth"
	"rollcall/shared/domain"
	"rollcall/shared/routes"
	"rollcall/shared/table"
)

// Need is what a caller must be to do an operation in an account (the route table's Who and
// Permission).
type Need struct {
	Who        routes.Who
	Permission string
}

// NeedOf returns what route r requires.
func NeedOf(r routes.Route) Need { return Need{Who: r.Who, Permission: r.Permission} }

// Needs used by the store's own operations.
var (
	needMember        = Need{Who: routes.Member}
	needOwner         = Need{Who: routes.Owner}
	needOperator      = Need{Who: routes.Operator}
	needContactsRead  = Need{Who: routes.Permission, Permission: routes.ContactsRead}
	needContactsWrite = Need{Who: routes.Permission, Permission: routes.ContactsWrite}
	needAuditRead     = Need{Who: routes.Permission, Permission: routes.AuditRead}
)

// accessKey is the item whose presence grants caller access to the account: the account item
// for operators (who may act in every account that exists), else the caller's membership.
func accessKey(c auth.Caller, accountID string) table.Key {
	if c.Operator {
		return table.Account(accountID)
	}
	return table.User(accountID, c.Sub)
}

// allow decides a read: item is what accessKey named (nil when absent). A caller who is not a
// member gets 404 so that account ids cannot be probed; a member who lacks the right gets 403.
func allow(c auth.Caller, need Need, item map[string]types.AttributeValue) (*domain.User, error) {
	if item == nil {
		return nil, apperr.NotFound("account")
	}
	if c.Operator {
		return nil, nil
	}
	var u domain.User
	if err := attributevalue.UnmarshalMap(item, &u); err != nil {
		return nil, err
	}
	if !permits(u, need) {
		return &u, forbidden(need)
	}
	return &u, nil
}

func permits(u domain.User, need Need) bool {
	switch need.Who {
	case routes.Anyone, routes.Member:
		return true
	case routes.Owner:
		return u.Role == domain.RoleOwner
	case routes.Permission:
		return u.Can(need.Permission)
	}
	return false
}

func forbidden(need Need) error {
	switch need.Who {
	case routes.Owner:
		return apperr.Forbidden("only the account owner may do this")
	case routes.Operator:
		return apperr.Forbidden("only an operator may do this")
	case routes.Permission:
		return apperr.Forbidden("the permission %q is required", need.Permission)
	}
	return apperr.Forbidden("not allowed")
}

// memberCondition is the condition on the caller's membership item under which need is met; it
// mirrors permits, so that a write checks the right in the same transaction as the change.
func memberCondition(need Need) expression.ConditionBuilder {
	exists := expression.AttributeExists(expression.Name(table.PK))
	owner := expression.Name("role").Equal(expression.Value(domain.RoleOwner))
	switch need.Who {
	case routes.Anyone, routes.Member:
		return exists
	case routes.Owner:
		return owner
	case routes.Permission:
		c := owner.Or(expression.Contains(expression.Name("permissions"), need.Permission))
		if slices.Contains(domain.AdminPermissions, need.Permission) {
			c = c.Or(expression.Name("admin").Equal(expression.Value(true)))
		}
		return c
	}
	// Operators only: no membership meets it; the old item tells 403 from 404.
	return exists.And(expression.AttributeNotExists(expression.Name(table.PK)))
}

// access adds to t the check that caller may act in accountID with need. Operators need no
// membership (every write also conditions the account item on its existence).
func (t *txn) access(c auth.Caller, accountID string, need Need) {
	if c.Operator {
		return
	}
	t.check(table.User(accountID, c.Sub), memberCondition(need), func(old item) error {
		if old == nil {
			return apperr.NotFound("account")
		}
		return forbidden(need)
	})
}
