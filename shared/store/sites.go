package store

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"rollcall/shared/apperr"
	"rollcall/shared/auth"
	"rollcall/shared/domain"
	"rollcall/shared/idempotency"
	"rollcall/shared/table"
)

// CreateSite writes site st (not a main site) for an operator (403 for others, 404 when the
// account does not exist), with its audit entry and idempotency record.
func (s *Store) CreateSite(ctx context.Context, c auth.Caller, st domain.Site, req *idempotency.Request, respond any) error {
	t := s.txn()
	t.access(c, st.AccountID, needOperator)
	t.check(table.Account(st.AccountID), expression.AttributeExists(expression.Name(table.PK)), func(item) error {
		return apperr.NotFound("account")
	})
	t.idempotent(req, 201, respond)
	t.putNew(newSiteItem(st), nil)
	t.audit(st.AccountID, c, "site.create", map[string]string{"siteId": st.ID}, map[string]any{"name": st.Name, "legacyId": st.LegacyID})
	return t.run(ctx)
}

// ListSites lists the sites of account accountID in id (creation) order, the main site first,
// from GSI1 (so a site created a moment ago may take a moment to appear). 403 without
// contacts:read, 404 for non-members.
func (s *Store) ListSites(ctx context.Context, c auth.Caller, accountID string, limit int, cursor string) (Page[domain.Site], error) {
	pk := table.SitesGSI1PK(accountID)
	e, err := expression.NewBuilder().WithKeyCondition(expression.Key(table.GSI1PK).Equal(expression.Value(pk))).Build()
	if err != nil {
		return Page[domain.Site]{}, err
	}
	return listAccount[domain.Site](ctx, s, c, accountID, needContactsRead, listQuery{
		in: dynamodb.QueryInput{IndexName: aws.String(table.GSI1), KeyConditionExpression: e.KeyCondition(),
			ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values()},
		limit: limit, cursor: cursor, wantPK: pk,
	})
}

// ListAudit lists the audit entries of account accountID, newest first (403 without audit:read,
// 404 for non-members).
func (s *Store) ListAudit(ctx context.Context, c auth.Caller, accountID string, limit int, cursor string) (Page[domain.AuditEntry], error) {
	q, err := prefixQuery(accountID, table.AuditPrefix, nil, true, limit, cursor)
	if err != nil {
		return Page[domain.AuditEntry]{}, err
	}
	return listAccount[domain.AuditEntry](ctx, s, c, accountID, needAuditRead, q)
}
