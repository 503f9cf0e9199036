package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/smithy-go"
	"golang.org/x/sync/errgroup"

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
	// TermsText is, on email-type entries, the contact's terms each after termsSeparator, so that
	// a filter contains(termsText, separator+query) finds the entries with a term the query
	// starts (?q= with ?emailType=).
	TermsText string `dynamodbav:"termsText,omitempty"`
}

// termsSeparator comes before each term in TermsText; folded terms never hold it (FoldSearch
// keeps no control characters of validated emails and names).
const termsSeparator = "\x1f"

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
			out[i] = contactIndexItem{Key: k, Entity: entityContactType, Contact: c, TermsText: termsSeparator + strings.Join(terms, termsSeparator)}
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
// ?q=) finds, each once, optionally only those receiving emailType.
//
// Without emailType it reads the search entries in term order: a page is one Query of at most
// 4·limit entries (a contact has at most four terms, so they hold limit contacts unless some were
// listed on an earlier page, when a further Query follows), skips the entries of contacts listed
// under an earlier term, and its cursor is the last entry used.
//
// With emailType, two Queries run in parallel, one round trip: the search entries filtered by
// the type (up to 1,000 entries read) and the type's entries filtered by the search
// (termsText). When the type's entries were read to their end, the page is theirs (contact id
// order; a type with few recipients); otherwise it is the search's (term order), which may hold
// fewer than limit contacts, even none, and still have a next cursor (docs/decisions.md). A
// cursor (always the search's: the type's page has none) continues the search, one Query per
// page.
func (s *Store) searchContacts(ctx context.Context, caller auth.Caller, accountID, folded, emailType string, limit int, cursor string) (Page[domain.Contact], error) {
	var typed *expression.ConditionBuilder
	if emailType != "" {
		c := expression.Contains(expression.Name("emailTypes"), emailType)
		typed = &c
	}
	q, err := prefixQuery(accountID, table.ContactSearchPrefix(folded), typed, false, limit, cursor)
	if err != nil {
		return Page[domain.Contact]{}, err
	}
	var byType listQuery // a first page with both filters: the type's entries whose terms match
	if emailType != "" && cursor == "" {
		found := expression.Contains(expression.Name("termsText"), termsSeparator+folded).
			Or(expression.AttributeNotExists(expression.Name("termsText"))) // older entries: typeEntries checks them
		if byType, err = prefixQuery(accountID, table.ContactTypePrefix(emailType), &found, false, limit, ""); err != nil {
			return Page[domain.Contact]{}, err
		}
		byType.maxPages = 1
	}
	var page Page[domain.Contact]
	_, err = s.queryAuthorized(ctx, caller, accountID, needContactsRead, func(ctx context.Context) error {
		switch {
		case emailType == "":
			page, err = s.search(ctx, q, accountID, folded, maxPagesPerList)
		case cursor != "":
			page, err = s.search(ctx, q, accountID, folded, 1)
		default:
			page, err = s.searchBoth(ctx, q, byType, accountID, folded)
		}
		return err
	})
	if err != nil {
		return Page[domain.Contact]{}, err
	}
	return page, nil
}

// searchBoth runs the first page of a search with a type filter: search entries q and type
// entries byType (one Query of at most MaxLimit entries) in parallel; the type's page when it is
// complete, else the search's.
func (s *Store) searchBoth(ctx context.Context, q, byType listQuery, accountID, folded string) (Page[domain.Contact], error) {
	var bySearch, typePage Page[domain.Contact]
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { bySearch, err = s.search(gctx, q, accountID, folded, 1); return err })
	g.Go(func() (err error) { typePage, err = s.typeEntries(gctx, byType, folded); return err })
	if err := g.Wait(); err != nil {
		return Page[domain.Contact]{}, err
	}
	if typePage.Next == "" {
		return typePage, nil
	}
	return bySearch, nil
}

// typeEntries is one page of email-type entries (one Query) as contacts: those whose terms
// match folded. The Query's filter finds them by termsText; entries written before termsText
// existed pass the filter too and are checked here against the contact's own terms.
func (s *Store) typeEntries(ctx context.Context, q listQuery, folded string) (Page[domain.Contact], error) {
	items, next, err := s.list(ctx, q)
	if err != nil {
		return Page[domain.Contact]{}, err
	}
	entries, err := unmarshalAll[contactIndexItem](items)
	page := Page[domain.Contact]{Items: make([]domain.Contact, 0, len(entries)), Next: next}
	for _, it := range entries {
		if it.TermsText != "" || slices.ContainsFunc(domain.SearchTerms(it.Contact), func(term string) bool { return strings.HasPrefix(term, folded) }) {
			page.Items = append(page.Items, it.Contact)
		}
	}
	return page, err
}

// search reads search entries q (at most rounds Queries) into a page of contacts, each once.
func (s *Store) search(ctx context.Context, q listQuery, accountID, folded string, rounds int) (Page[domain.Contact], error) {
	in := q.in
	in.TableName = aws.String(s.table)
	if q.cursor != "" {
		start, err := q.decodeCursor()
		if err != nil {
			return Page[domain.Contact]{}, err
		}
		in.ExclusiveStartKey = start
	}
	read := min(4*q.limit, 1000)
	if q.filtered {
		read = 1000 // a filter keeps few: read what one Query may
	}
	page := Page[domain.Contact]{Items: []domain.Contact{}}
	seen := map[string]bool{}
	for n := 1; ; n++ {
		in.Limit = aws.Int32(int32(read))
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
		if n == rounds {
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
