package store

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"rollcall/shared/auth"
	"rollcall/shared/domain"
	"rollcall/shared/table"
)

// userItem is a membership as stored; GSI1 lists a login's memberships (R6).
type userItem struct {
	table.Key
	GSI1PK string `dynamodbav:"GSI1PK"`
	GSI1SK string `dynamodbav:"GSI1SK"`
	Entity string `dynamodbav:"entity"`
	domain.User
}

func newUserItem(u domain.User) userItem {
	pk, sk := table.UserGSI1(u.AccountID, u.ID)
	return userItem{Key: table.User(u.AccountID, u.ID), GSI1PK: pk, GSI1SK: sk, Entity: entityUser, User: u}
}

// MyAccount is one account of the calling login, as GET /me/accounts lists it.
type MyAccount struct {
	Account     domain.AccountSummary `json:"account"`
	Role        string                `json:"role"`
	Permissions []string              `json:"permissions"`
	Admin       bool                  `json:"admin"`
}

// ListMyAccounts lists the accounts the caller is a member of, with its role and permissions in
// each: one query of GSI1 and one BatchGetItem of the accounts' names.
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
	users, err := unmarshalAll[domain.User](items)
	if err != nil || len(users) == 0 {
		return Page[MyAccount]{Items: []MyAccount{}}, err
	}
	keys := make([]table.Key, len(users))
	for i, u := range users {
		keys[i] = table.Account(u.AccountID)
	}
	accounts, err := s.batchGet(ctx, keys)
	if err != nil {
		return Page[MyAccount]{}, err
	}
	out := Page[MyAccount]{Items: make([]MyAccount, 0, len(users)), Next: next}
	for _, u := range users {
		a, err := decodeAccount(accounts[table.Account(u.AccountID)])
		if err != nil {
			continue // the account is gone; its membership is not shown
		}
		out.Items = append(out.Items, MyAccount{
			Account: domain.AccountSummary{ID: a.ID, Name: a.Name, Type: a.Type},
			Role:    u.Role, Permissions: u.Permissions, Admin: u.Admin,
		})
	}
	return out, nil
}
