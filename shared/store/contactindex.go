package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/smithy-go"

	"rollcall/shared/apperr"
	"rollcall/shared/auth"
	"rollcall/shared/domain"
	"rollcall/shared/table"
)

// Entities of the contact index items.
const (
	entityContactSearch = "contactSearch"
	entityContactType   = "contactType"
)

// contactIndexItem is a copy of a contact in one of its filtered lists: a search entry
// (table.ContactSearch, one per search term, ?q=) or an email-type entry (table.ContactType,
// one per email type it receives, ?emailType=). Each holds the contact's fields as lists show
// them, so that a filtered page is one Query; the linked user (userId) is left out, as accepting
// a welcome invitation and removing a user change it without reading the contact (GET the
// contact for it). Every transaction that writes the contact item rewrites its entries: its own
// changes (create, update, delete: txn.indexContact) and relationship changes, which bump its
// version and updatedAt (txn.contactSites); the stream function's email status does the same
// (sesevents), after the contact's own write.
type contactIndexItem struct {
	table.Key
	Entity string `dynamodbav:"entity"`
	domain.Contact
	Terms []string `dynamodbav:"terms,omitempty"` // search entries: all the contact's terms, to show it once
}

// contactIndex returns the index items of contact c (keys: table.ContactIndex).
func contactIndex(c domain.Contact) []contactIndexItem {
	c.UserID, c.Relationships = "", nil
	terms := domain.SearchTerms(c)
	keys := table.ContactIndex(c.AccountID, c.ID, terms, c.EmailTypes)
	out := make([]contactIndexItem, len(keys))
	for i, k := range keys {
		if i < len(terms) {
			out[i] = contactIndexItem{Key: k, Entity: entityContactSearch, Contact: c, Terms: terms}
		} else {
			out[i] = contactIndexItem{Key: k, Entity: entityContactType, Contact: c}
		}
	}
	return out
}

// indexContact adds the writes that take a contact's index items from those of before (nil for
// a new contact) to those of after (nil for a deleted one): deletes of the entries that go, puts
// of every entry of after (they hold the contact's fields and version).
func (t *txn) indexContact(before, after *domain.Contact) {
	var keep map[table.Key]bool
	if after != nil {
		keep = map[table.Key]bool{}
		for _, it := range contactIndex(*after) {
			keep[it.Key] = true
			t.put(it, nil, nil)
		}
	}
	if before != nil {
		for _, it := range contactIndex(*before) {
			if !keep[it.Key] {
				t.delete(it.Key, nil, nil)
			}
		}
	}
}

// contactIndexCount is the number of index items of contact c.
func contactIndexCount(c domain.Contact) int { return len(domain.SearchTerms(c)) + len(c.EmailTypes) }

// searchContacts lists the contacts of account accountID that a search for folded (a folded
// ?q=) finds, ordered by the term that matched, each once, optionally only those receiving
// emailType. Without emailType a page is one Query: it reads at most 4·limit entries (a contact
// has at most four terms), skips the entries of contacts already listed under an earlier term, and
// its cursor is the last entry used. With emailType, the type is a filter on the search entries and
// a page may take up to maxPagesPerList Queries (docs/decisions.md).
func (s *Store) searchContacts(ctx context.Context, caller auth.Caller, accountID, folded, emailType string, limit int, cursor string) (Page[domain.Contact], error) {
	var filter *expression.ConditionBuilder
	if emailType != "" {
		c := expression.Contains(expression.Name("emailTypes"), emailType)
		filter = &c
	}
	q, err := prefixQuery(accountID, table.ContactSearchPrefix(folded), filter, false, limit, cursor)
	if err != nil {
		return Page[domain.Contact]{}, err
	}
	var page Page[domain.Contact]
	_, err = s.queryAuthorized(ctx, caller, accountID, needContactsRead, func(ctx context.Context) error {
		page, err = s.search(ctx, q, accountID, folded)
		return err
	})
	if err != nil {
		return Page[domain.Contact]{}, err
	}
	return page, nil
}

func (s *Store) search(ctx context.Context, q listQuery, accountID, folded string) (Page[domain.Contact], error) {
	in := q.in
	in.TableName = aws.String(s.table)
	if q.cursor != "" {
		start, err := q.decodeCursor()
		if err != nil {
			return Page[domain.Contact]{}, err
		}
		in.ExclusiveStartKey = start
	}
	page := Page[domain.Contact]{Items: []domain.Contact{}}
	seen := map[string]bool{}
	for n := 1; ; n++ {
		in.Limit = aws.Int32(int32(min(4*q.limit, 1000)))
		out, err := s.db.Query(ctx, &in)
		var invalid smithy.APIError
		if err != nil && n == 1 && q.cursor != "" && errors.As(err, &invalid) && invalid.ErrorCode() == "ValidationException" {
			return page, apperr.InvalidField("cursor", "is not a cursor of this list")
		}
		if err != nil {
			return page, fmt.Errorf("query: %w", err)
		}
		for i, raw := range out.Items {
			var it contactIndexItem
			if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
				return page, err
			}
			if seen[it.ID] || listedEarlier(it, accountID, folded) {
				continue
			}
			seen[it.ID] = true
			page.Items = append(page.Items, it.Contact)
			if len(page.Items) == q.limit {
				if i < len(out.Items)-1 || out.LastEvaluatedKey != nil {
					page.Next, err = q.encodeCursor(raw)
				}
				return page, err
			}
		}
		if out.LastEvaluatedKey == nil {
			return page, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
		if n == maxPagesPerList {
			page.Next, err = q.encodeCursor(out.LastEvaluatedKey)
			return page, err
		}
	}
}

// listedEarlier reports whether the contact of search entry it has another term that the search
// for folded also finds and that sorts before it: the contact is listed under that entry instead.
func listedEarlier(it contactIndexItem, accountID, folded string) bool {
	for _, term := range it.Terms {
		if strings.HasPrefix(term, folded) && table.ContactSearch(accountID, term, it.ID).SK < it.SK {
			return true
		}
	}
	return false
}
