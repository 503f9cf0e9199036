package store

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"rollcall/shared/apperr"
	"rollcall/shared/auth"
	"rollcall/shared/domain"
	"rollcall/shared/idempotency"
	"rollcall/shared/table"
)

// contactItem is a contact as stored, with a lower-cased search text for the list's text filter,
// a copy of its relationships (site id → roles) and the number of admin-eligible roles it holds
// (R9), which relationship changes keep in step with the relationship items (relationships.go).
// The linked user (Contact.UserID, attribute userId) is set by accepting a welcome invitation and
// removed with the user; neither changes the version, so writes that depend on it condition on
// it.
type contactItem struct {
	table.Key
	Entity string `dynamodbav:"entity"`
	domain.Contact
	Search     string           `dynamodbav:"search"`
	Sites      domain.SiteRoles `dynamodbav:"sites,omitempty"`
	AdminRoles int              `dynamodbav:"adminRoles"`
}

func newContactItem(c domain.Contact) contactItem {
	return contactItem{
		Key: table.Contact(c.AccountID, c.ID), Entity: entityContact, Contact: c,
		Search: strings.ToLower(strings.Join([]string{c.Email, c.FirstName, c.LastName}, " ")),
	}
}

// contactEmailItem keeps a contact email unique in its account (R17).
type contactEmailItem struct {
	table.Key
	Entity    string `dynamodbav:"entity"`
	ContactID string `dynamodbav:"contactId"`
}

func emailTaken(old item) error {
	var g contactEmailItem
	if err := attributevalue.UnmarshalMap(old, &g); err != nil {
		return err
	}
	return apperr.Conflict(apperr.CodeContactEmailTaken, "a contact with this email exists: %s", g.ContactID).
		With("contactId", g.ContactID)
}

// supportCaseRequired is the answer to a member adding contacts to a partner account (R19).
func supportCaseRequired() error {
	return apperr.New(http.StatusForbidden, apperr.CodeSupportCaseRequired,
		"contacts of a partner account are added by the vendor: raise a support case")
}

// CreateContact writes contact c with its email guard, its index items, the counters of its
// email types, the audit entry and the idempotency record (answer respond) in one transaction.
// The caller's rights, the account and the partner rule (R19) are checked by one BatchGetItem
// before it (contactWriter), with req's record: a repeat of a request that succeeded is answered
// from that read (*idempotency.Replay, one round trip); a first request takes two. So the
// transaction touches only the contact's own items and the counters of the types it receives,
// and creates of other contacts meet it only on those counters (issue 12). The window this opens:
// a right withdrawn, or the account made a partner, between the read and the transaction
// (milliseconds) does not stop that one create (docs/decisions.md). Errors: 404 when the caller
// is not a member or the account does not exist, 403 without contacts:write or for a partner
// account (support_case_required), 409 contact_email_taken naming the existing contact, 422 for
// another request with req's key.
func (s *Store) CreateContact(ctx context.Context, caller auth.Caller, c domain.Contact, req *idempotency.Request, respond any) error {
	found, err := s.contactWriter(ctx, caller, c.AccountID, idemKeys(req)...)
	if err != nil {
		return err
	}
	if err := s.replayed(req, found); err != nil {
		return err
	}
	t := s.txn()
	// The record first: a concurrent repeat that passed the read fails on it and gets the first
	// answer (not contact_email_taken).
	t.idempotent(req, 201, respond)
	return s.writeNewContact(ctx, t, caller, c)
}

// CreateCheckedContact is CreateContact for a row of a batch whose caller's rights and account
// CheckContactWriter has just checked: its transaction touches only the contact's own items (and
// the counters of its email types), so that rows run in parallel without meeting on a shared
// item. The window this opens: a right withdrawn while the batch runs (seconds) does not stop
// its remaining rows. Errors: 409 contact_email_taken.
func (s *Store) CreateCheckedContact(ctx context.Context, caller auth.Caller, c domain.Contact) error {
	return s.writeNewContact(ctx, s.txn(), caller, c)
}

func (s *Store) writeNewContact(ctx context.Context, t *txn, caller auth.Caller, c domain.Contact) error {
	t.recipients(c.AccountID, domain.RecipientDelta(nil, c.EmailTypes))
	t.putNew(newContactItem(c), nil)
	t.putNew(contactEmailItem{Key: table.ContactEmail(c.AccountID, domain.NormaliseEmail(c.Email)), Entity: entityContactEmail, ContactID: c.ID}, emailTaken)
	t.indexContact(nil, &c)
	t.audit(c.AccountID, caller, "contact.create", map[string]string{"contactId": c.ID}, contactFields(c))
	return t.run(ctx)
}

// CheckContactWriter answers whether caller may add contacts to account id before a batch runs:
// 404 for non-members, 403 without contacts:write, 403 support_case_required for a partner
// account (R19) unless the caller is an operator. The rows' transactions do not check it again
// (CreateCheckedContact).
func (s *Store) CheckContactWriter(ctx context.Context, caller auth.Caller, accountID string) error {
	_, err := s.contactWriter(ctx, caller, accountID)
	return err
}

// contactWriter reads the caller's access item, the account and extra keys in one BatchGetItem
// and checks that caller may add contacts to the account (as CheckContactWriter says); it
// returns the items found.
func (s *Store) contactWriter(ctx context.Context, caller auth.Caller, accountID string, extra ...table.Key) (map[table.Key]item, error) {
	_, found, err := s.getAuthorized(ctx, caller, accountID, needContactsWrite, append([]table.Key{table.Account(accountID)}, extra...)...)
	if err != nil {
		return nil, err
	}
	a, err := decodeAccount(found[table.Account(accountID)])
	if err != nil {
		return nil, err
	}
	if a.Type == domain.AccountPartner && !caller.Operator {
		return nil, supportCaseRequired()
	}
	return found, nil
}

func contactFields(c domain.Contact) map[string]any {
	m := map[string]any{"email": c.Email, "emailTypes": c.EmailTypes}
	diff := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	diff("firstName", c.FirstName)
	diff("lastName", c.LastName)
	diff("phone", c.Phone)
	return m
}

// GetContact returns contact id of account accountID with its relationships (from the
// contact's own copy: one BatchGetItem). Errors: 403 without contacts:read, 404 when it or the
// membership does not exist.
func (s *Store) GetContact(ctx context.Context, caller auth.Caller, accountID, id string) (domain.Contact, error) {
	_, found, err := s.getAuthorized(ctx, caller, accountID, needContactsRead, table.Contact(accountID, id))
	if err != nil {
		return domain.Contact{}, err
	}
	c, err := decodeContact(found[table.Contact(accountID, id)])
	c.Contact.Relationships = c.Sites.Relationships()
	return c.Contact, err
}

func decodeContact(it item) (contactItem, error) {
	var c contactItem
	if it == nil {
		return c, apperr.NotFound("contact")
	}
	err := attributevalue.UnmarshalMap(it, &c)
	return c, err
}

// ContactFilter narrows a contact list: to the recipients of an email type, to the contacts
// whose email, first name, last name or full name starts with Text (compared folded:
// domain.FoldSearch), or to the contacts whose email has a status (domain.EmailUndeliverable).
type ContactFilter struct {
	EmailType   string
	Text        string
	EmailStatus string
}

// ListContacts lists the contacts of account accountID: unfiltered or by email type in id
// (creation) order, by text in the order of the matching term (searchContacts). Each page is one
// Query (in parallel with the read of the caller's membership) at any account size, from the
// contact index items (contactindex.go), except text and type together (searchContacts).
// Errors: 404/403 as for reads, 400 for a cursor not of this list (another account, filter or
// a tampered one).
func (s *Store) ListContacts(ctx context.Context, caller auth.Caller, accountID string, f ContactFilter, limit int, cursor string) (Page[domain.Contact], error) {
	if f.EmailStatus != "" {
		// Undeliverable contacts (sparse GSI1 entries); type and text, if any, filter what it reads.
		var filter *expression.ConditionBuilder
		and := func(c expression.ConditionBuilder) {
			if filter != nil {
				c = filter.And(c)
			}
			filter = &c
		}
		if f.EmailType != "" {
			and(expression.Contains(expression.Name("emailTypes"), f.EmailType))
		}
		if t := strings.ToLower(strings.TrimSpace(f.Text)); t != "" {
			and(expression.Contains(expression.Name("search"), t))
		}
		return s.listUndeliverable(ctx, caller, accountID, filter, limit, cursor)
	}
	if text := domain.FoldSearch(f.Text); text != "" {
		return s.searchContacts(ctx, caller, accountID, text, f.EmailType, limit, cursor)
	}
	prefix := table.ContactPrefix
	if f.EmailType != "" {
		prefix = table.ContactTypePrefix(f.EmailType)
	}
	q, err := prefixQuery(accountID, prefix, nil, false, limit, cursor)
	if err != nil {
		return Page[domain.Contact]{}, err
	}
	return listAccount[domain.Contact](ctx, s, caller, accountID, needContactsRead, q)
}

// listUndeliverable lists the account's undeliverable contacts with one Query of their sparse
// GSI1 entries (table.UndeliverableContactGSI1), which the index projects whole; the other
// filters, if any, apply to what it reads. GSI1 is eventually consistent: a contact marked a
// moment ago may take a moment to appear.
func (s *Store) listUndeliverable(ctx context.Context, caller auth.Caller, accountID string, filter *expression.ConditionBuilder, limit int, cursor string) (Page[domain.Contact], error) {
	pk, _ := table.UndeliverableContactGSI1(accountID, "")
	b := expression.NewBuilder().WithKeyCondition(expression.Key(table.GSI1PK).Equal(expression.Value(pk)))
	if filter != nil {
		b = b.WithFilter(*filter)
	}
	e, err := b.Build()
	if err != nil {
		return Page[domain.Contact]{}, err
	}
	return listAccount[domain.Contact](ctx, s, caller, accountID, needContactsRead, listQuery{
		in: dynamodb.QueryInput{IndexName: aws.String(table.GSI1), KeyConditionExpression: e.KeyCondition(), FilterExpression: e.Filter(),
			ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values()},
		limit: limit, cursor: cursor, wantPK: pk, filtered: filter != nil,
	})
}

// UpdateContact applies in to contact id. ifMatch (0 for none) must equal its version (412).
// Errors: 403/404 as for reads, 409 contact_email_taken, 409 last_recipient (R18).
func (s *Store) UpdateContact(ctx context.Context, caller auth.Caller, accountID, id string, in domain.UpdateContactInput, ifMatch int) (domain.Contact, error) {
	var result domain.Contact
	err := optimistic(ifMatch, func() error {
		cur, err := s.readContactForWrite(ctx, caller, accountID, id, ifMatch)
		if err != nil {
			return err
		}
		ch, err := domain.ApplyContactUpdate(cur.Contact, in, s.cat, s.now())
		result = ch.Contact
		result.Relationships = cur.Sites.Relationships()
		if err != nil || len(ch.Changed) == 0 {
			return err
		}
		// Rights were checked by the read (readContactForWrite): the transaction touches only the
		// contact's own items and the counters of the types whose count changes.
		t := s.txn()
		t.recipients(accountID, ch.TypesDelta)
		upd := contactUpdate(ch.Contact)
		if ch.OldEmail != "" && cur.EmailStatus != nil {
			// A new address: the old one's bounce or complaint says nothing about it.
			upd = upd.Remove(expression.Name("emailStatus")).Remove(expression.Name("emailStatusAtMs")).Remove(expression.Name(table.GSI1PK)).Remove(expression.Name(table.GSI1SK))
			result.EmailStatus = nil
		}
		t.update(cur.Key, upd, versionIs(cur.Version), staleOrGone("contact"))
		if ch.OldEmail != "" {
			owned := expression.Name("contactId").Equal(expression.Value(id))
			t.delete(table.ContactEmail(accountID, ch.OldEmail), &owned, staleOrGone("contact"))
			t.putNew(contactEmailItem{Key: table.ContactEmail(accountID, domain.NormaliseEmail(ch.Contact.Email)), Entity: entityContactEmail, ContactID: id}, emailTaken)
		}
		t.indexContact(&cur.Contact, &result)
		t.audit(accountID, caller, "contact.update", map[string]string{"contactId": id}, ch.Changed)
		return t.run(ctx)
	})
	return result, err
}

// DeleteContact deletes contact id with its email guard, its share of the recipient counters,
// its relationships and the guards of the unique roles it holds (R21), and unlinks its user, whose
// admin flag it clears (R9). ifMatch (0 for none) must equal its version (412). Errors: 403/404,
// 409 last_recipient.
//
// It is one transaction when that fits DynamoDB's limit of 100 items. A contact with more
// relationships first loses some of them in transactions that each fit (shedRelationships): each
// removes relationship items, their role guards and the matching entries of the contact's copy
// together, under the contact's version; the contact item itself goes only in a last transaction
// that removes every relationship and guard it still lists. So at every moment, even when the
// request stops half-way, every role guard names an existing contact that holds the role, and a
// repeated DELETE finishes the job.
func (s *Store) DeleteContact(ctx context.Context, caller auth.Caller, accountID, id string, ifMatch int) error {
	expect := ifMatch
	return optimistic(ifMatch, func() error {
		cur, err := s.readContactForWrite(ctx, caller, accountID, id, expect)
		if err != nil {
			return err
		}
		for s.deleteContactItems(cur) > txnItemLimit {
			if cur, err = s.shedRelationships(ctx, caller, cur); err != nil {
				return err
			}
			if expect != 0 {
				expect = cur.Version // our own change: the caller's If-Match still holds
			}
		}
		t := s.txn()
		var unlink *memberChange
		if cur.UserID != "" {
			unlink = &memberChange{sub: cur.UserID, contactID: id,
				upd: expression.Set(expression.Name("admin"), expression.Value(false)).Remove(expression.Name("contactId"))}
		}
		if unlink != nil {
			t.memberChange(accountID, unlink)
		}
		t.recipients(accountID, domain.RecipientDelta(cur.EmailTypes, nil))
		t.delete(cur.Key, asRead(cur), staleOrGone("contact"))
		owned := expression.Name("contactId").Equal(expression.Value(id))
		t.delete(table.ContactEmail(accountID, domain.NormaliseEmail(cur.Email)), &owned, staleOrGone("contact"))
		t.indexContact(&cur.Contact, nil)
		sites := cur.Sites
		for _, site := range slices.Sorted(maps.Keys(cur.Sites)) {
			ch := domain.ChangeRelationship(sites, site, nil, s.cat)
			t.relationships(accountID, id, ch)
			sites = ch.After
		}
		changes := map[string]any{"email": cur.Email}
		if len(cur.Sites) > 0 {
			changes["relationships"] = cur.Sites.Relationships()
		}
		targets := map[string]string{"contactId": id}
		if cur.UserID != "" {
			targets["userId"] = cur.UserID
		}
		t.audit(accountID, caller, "contact.delete", targets, changes)
		return t.run(ctx)
	})
}

func (s *Store) readContactForWrite(ctx context.Context, caller auth.Caller, accountID, id string, ifMatch int) (contactItem, error) {
	_, found, err := s.getAuthorized(ctx, caller, accountID, needContactsWrite, table.Contact(accountID, id))
	if err != nil {
		return contactItem{}, err
	}
	cur, err := decodeContact(found[table.Contact(accountID, id)])
	if err == nil && ifMatch != 0 && cur.Version != ifMatch {
		return cur, apperr.PreconditionFailed()
	}
	return cur, err
}

// contactUpdate sets a contact's own fields as newContactItem writes them, leaving what other
// operations own (its relationships' copy, its admin-eligible role count, its linked user).
func contactUpdate(c domain.Contact) expression.UpdateBuilder {
	it := newContactItem(c)
	upd := expression.Set(expression.Name("email"), expression.Value(c.Email)).
		Set(expression.Name("emailTypes"), expression.Value(c.EmailTypes)).
		Set(expression.Name("updatedAt"), expression.Value(c.UpdatedAt)).
		Set(expression.Name("version"), expression.Value(c.Version)).
		Set(expression.Name("search"), expression.Value(it.Search))
	for _, f := range []struct{ name, value string }{{"firstName", c.FirstName}, {"lastName", c.LastName}, {"phone", c.Phone}} {
		if f.value == "" {
			upd = upd.Remove(expression.Name(f.name))
		} else {
			upd = upd.Set(expression.Name(f.name), expression.Value(f.value))
		}
	}
	return upd
}

// versionIs is the condition that an item still has version v.
func versionIs(v int) *expression.ConditionBuilder {
	c := expression.Name("version").Equal(expression.Value(v))
	return &c
}

// staleOrGone explains a failed version condition: 404 when the item is gone, else errStale.
func staleOrGone(what string) onFail {
	return func(old item) error {
		if old == nil {
			return apperr.NotFound(what)
		}
		return errStale
	}
}
