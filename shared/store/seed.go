package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"

	"rollcall/shared/domain"
	"rollcall/shared/ids"
	"rollcall/shared/table"
)

// BatchWriter is the DynamoDB call SeedContacts needs (*dynamodb.Client has it).
type BatchWriter interface {
	BatchWriteItem(context.Context, *dynamodb.BatchWriteItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
}

// SeedContacts writes contacts (all of account accountID, with new ids and unique emails) as
// CreateContact would, but with BatchWriteItem, 25 items a call, several calls at once, and then
// moves the recipient counters in one transaction. It is for tests and benchmarks that need a
// large account fast (10,000 contacts in seconds): it checks no rights, no uniqueness and writes
// no audit entries.
func (s *Store) SeedContacts(ctx context.Context, w BatchWriter, accountID string, contacts []domain.Contact) error {
	var puts []types.WriteRequest
	delta := map[string]int{}
	for _, c := range contacts {
		if c.AccountID != accountID {
			return fmt.Errorf("seed: contact %s is not of account %s", c.ID, accountID)
		}
		for _, v := range s.contactItems(c) {
			m, err := attributevalue.MarshalMap(v)
			if err != nil {
				return err
			}
			puts = append(puts, types.WriteRequest{PutRequest: &types.PutRequest{Item: m}})
		}
		addDelta(delta, domain.RecipientDelta(nil, c.EmailTypes))
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for start := 0; start < len(puts); start += 25 {
		chunk := puts[start:min(start+25, len(puts))]
		g.Go(func() error {
			req := map[string][]types.WriteRequest{s.table: chunk}
			for len(req[s.table]) > 0 {
				out, err := w.BatchWriteItem(gctx, &dynamodb.BatchWriteItemInput{RequestItems: req})
				if err != nil {
					return err
				}
				req = out.UnprocessedItems
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if len(delta) == 0 {
		return nil
	}
	t := s.txn()
	t.recipients(accountID, delta)
	return t.run(ctx)
}

// BulkContacts are n contacts of account accountID for SeedContacts: contact i has the email
// email(i) and receives billing; the first marked of them also receive marketing and are named
// "Zyzzyva <i>", so that ?q=zyzz and ?emailType=marketing each find just those among many.
func BulkContacts(accountID string, n, marked int, email func(i int) string) []domain.Contact {
	now := time.Now().UTC().Truncate(time.Millisecond)
	cs := make([]domain.Contact, n)
	for i := range cs {
		cs[i] = domain.Contact{ID: ids.New(ids.Contact), AccountID: accountID, Email: email(i),
			EmailTypes: []string{"billing"}, CreatedAt: now, UpdatedAt: now, Version: 1}
		if i < marked {
			cs[i].EmailTypes = []string{"billing", "marketing"}
			cs[i].FirstName, cs[i].LastName = "Zyzzyva", fmt.Sprint(i)
		}
	}
	return cs
}

func addDelta(sum, d map[string]int) {
	for k, v := range d {
		sum[k] += v
	}
}

// contactItems are the items that make up contact c (the contact, its email guard, its index
// items): what a create writes besides the audit entry and counters.
func (s *Store) contactItems(c domain.Contact) []any {
	out := []any{
		newContactItem(c),
		contactEmailItem{Key: table.ContactEmail(c.AccountID, domain.NormaliseEmail(c.Email)), Entity: entityContactEmail, ContactID: c.ID},
	}
	for _, it := range contactIndex(c) {
		out = append(out, it)
	}
	return out
}
