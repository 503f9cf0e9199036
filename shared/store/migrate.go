package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"

	"rollcall/shared/table"
)

// SchemaVersion is the layout of the table this code reads and writes. Version 1 (no schema
// item) is the layout before issue 12: recipient counts in the account item's "recipients" map,
// no contact index items, memberships without the account's name and type, accounts without
// their owner's login email. Version 2 adds the contact index items (CSEARCH#, CTYPE#), one
// counter item per email type (RECIPIENTS#<type>), the copies of the account's name and type on
// memberships and the owner's login email on accounts (ownerLogin). Migrate brings a table from
// 1 to 2.
const SchemaVersion = 2

const entitySchema = "schema"

// legacyRecipients is the account item's attribute that held the recipient counts (R18) in
// layout 1: a map from email type to count. Migrate moves it to the counter items.
const legacyRecipients = "recipients"

// schemaItem records the layout the table's data is in (table.SchemaVersion): written by Migrate
// once every item is in that layout, so that the next Migrate costs one GetItem.
type schemaItem struct {
	table.Key
	Entity     string    `dynamodbav:"entity"`
	Version    int       `dynamodbav:"version"`
	MigratedAt time.Time `dynamodbav:"migratedAt"`
}

// ErrSchemaNewer is Migrate's answer for a table whose schema item names a layout newer than
// SchemaVersion: code older than the data must not write to it.
var ErrSchemaNewer = errors.New("store: the table's data is in a newer layout than this code knows")

// MigrationReport says what one Migrate did.
type MigrationReport struct {
	From, To    int  // the layout found and the one left (equal when there was nothing to do)
	Current     bool // the schema item said the table was migrated already: only it was read
	Accounts    int  // accounts looked at
	Counters    int  // accounts whose counts moved from the account item to counter items
	Memberships int  // membership items given their account's name and type
	OwnerLogins int  // accounts given their owner's login email (ownerLogin)
	Contacts    int  // contacts whose index items were written
	Retries     int  // writes that lost to a concurrent change and were redone after a fresh read
}

// migrationConcurrency bounds the accounts Migrate works on at once, and the contacts of one
// account it indexes at once.
const migrationConcurrency = 4

// Migrate brings data written before layout SchemaVersion up to it, safely while the current
// code serves writes, and records the layout in the table's schema item. It is idempotent and
// resumable: every step looks at what is there and writes only what is missing, so a run that
// stopped half-way is finished by the next; once the schema item says SchemaVersion, a run reads
// that one item and nothing else. The steps, per account (accounts listed from GSI1):
//
//   - memberships without the account's name and type get them, conditioned in the same
//     transaction on the account still having the name and type read (a concurrent rename is
//     never overwritten: the rename writes its own name on every membership, and the step reads
//     again);
//   - the account item's legacy counts ("recipients") are added to the counter items
//     (n = if_not_exists(n, 0) + legacy, so what the current code counted since its deploy is kept)
//     and removed from the account item in one transaction conditioned on the map being as read:
//     exactly once, whoever runs concurrently;
//   - an account whose owner accepted before accounts kept the owner's login email gets it from
//     the owner's membership, conditioned on the same owner and on its still lacking it;
//   - then (a second pass, after every account's first) each contact that lacks one of its index
//     items gets them all, in one transaction per contact conditioned on the contact's existence,
//     version and email status as read; a contact changed meanwhile is read again and indexed anew.
//
// Writes carry no audit entry: they change the layout, not what the API shows. log (nil for
// none) gets one line per pass and per account that needed work. Errors: ErrSchemaNewer, a
// DynamoDB error, or a write that kept losing races (maxOptimisticAttempts).
func (s *Store) Migrate(ctx context.Context, log *slog.Logger) (MigrationReport, error) {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	rep := MigrationReport{To: SchemaVersion}
	var err error
	if rep.From, err = s.schemaVersion(ctx); err != nil {
		return rep, err
	}
	switch {
	case rep.From == SchemaVersion:
		rep.Current = true
		return rep, nil
	case rep.From > SchemaVersion:
		rep.To = rep.From
		return rep, fmt.Errorf("%w: version %d, this code knows %d", ErrSchemaNewer, rep.From, SchemaVersion)
	}
	ids, err := s.accountIDs(ctx)
	if err != nil {
		return rep, err
	}
	rep.Accounts = len(ids)
	if len(ids) == 0 {
		return rep, s.recordSchema(ctx) // a new table: nothing to bring up to date
	}
	log.Info("migration: table layout", "from", rep.From, "to", SchemaVersion, "accounts", len(ids))
	var mu sync.Mutex
	add := func(f func(*MigrationReport)) {
		mu.Lock()
		defer mu.Unlock()
		f(&rep)
	}
	// Pass 1: memberships and counters, the small part (a few items per account), first, so that
	// /me/accounts and R18 are exact as early as possible.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(migrationConcurrency)
	for _, id := range ids {
		g.Go(func() error {
			m, mr, err := s.migrateMemberships(gctx, id)
			if err != nil {
				return fmt.Errorf("account %s: memberships: %w", id, err)
			}
			c, cr, err := s.migrateCounters(gctx, id)
			if err != nil {
				return fmt.Errorf("account %s: counters: %w", id, err)
			}
			o, ol, err := s.migrateOwnerLogin(gctx, id)
			if err != nil {
				return fmt.Errorf("account %s: owner login: %w", id, err)
			}
			if m > 0 || c || o {
				log.Debug("migration: account", "account", id, "memberships", m, "counters", c, "ownerLogin", o)
			}
			add(func(r *MigrationReport) {
				r.Memberships += m
				r.Retries += mr + cr + ol
				if c {
					r.Counters++
				}
				if o {
					r.OwnerLogins++
				}
			})
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return rep, err
	}
	log.Info("migration: memberships, counters and owner logins done", "memberships", rep.Memberships, "counters", rep.Counters, "ownerLogins", rep.OwnerLogins)
	// Pass 2: the contacts' index items.
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(migrationConcurrency)
	for _, id := range ids {
		g.Go(func() error {
			n, retries, err := s.migrateContacts(gctx, id)
			if err != nil {
				return fmt.Errorf("account %s: contacts: %w", id, err)
			}
			if n > 0 {
				log.Debug("migration: account", "account", id, "contacts", n)
			}
			add(func(r *MigrationReport) { r.Contacts += n; r.Retries += retries })
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return rep, err
	}
	log.Info("migration: contacts done", "contacts", rep.Contacts, "retries", rep.Retries)
	return rep, s.recordSchema(ctx)
}

// schemaVersion reads the table's layout: 1 when it has no schema item.
func (s *Store) schemaVersion(ctx context.Context) (int, error) {
	it, err := s.get(ctx, table.SchemaVersion())
	if err != nil || it == nil {
		return 1, err
	}
	var si schemaItem
	if err := attributevalue.UnmarshalMap(it, &si); err != nil {
		return 0, fmt.Errorf("schema item: %w", err)
	}
	return si.Version, nil
}

// recordSchema writes the schema item saying SchemaVersion, unless one says as much already.
func (s *Store) recordSchema(ctx context.Context) error {
	m, err := attributevalue.MarshalMap(schemaItem{Key: table.SchemaVersion(), Entity: entitySchema, Version: SchemaVersion, MigratedAt: s.now()})
	if err != nil {
		return err
	}
	cond := expression.AttributeNotExists(expression.Name(table.PK)).Or(expression.Name("version").LessThan(expression.Value(SchemaVersion)))
	e, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: m, ConditionExpression: e.Condition(),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values()})
	if isConditionFailed(err) {
		return nil // a concurrent run recorded it
	}
	return err
}

// accountIDs lists every account's id (GSI1 ACCOUNTS). The index is eventually consistent; an
// account too new to be listed was written by the current code, in the current layout.
func (s *Store) accountIDs(ctx context.Context) ([]string, error) {
	e, err := expression.NewBuilder().
		WithKeyCondition(expression.Key(table.GSI1PK).Equal(expression.Value(table.AccountsGSI1PK))).
		WithProjection(expression.NamesList(expression.Name(table.PK))).Build()
	if err != nil {
		return nil, err
	}
	in := &dynamodb.QueryInput{TableName: aws.String(s.table), IndexName: aws.String(table.GSI1),
		KeyConditionExpression: e.KeyCondition(), ProjectionExpression: e.Projection(),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values()}
	var ids []string
	for {
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list accounts: %w", err)
		}
		for _, it := range out.Items {
			var k struct {
				PK string `dynamodbav:"PK"`
			}
			if err := attributevalue.UnmarshalMap(it, &k); err != nil {
				return nil, err
			}
			if id, ok := table.AccountIDFromPK(k.PK); ok {
				ids = append(ids, id)
			}
		}
		if out.LastEvaluatedKey == nil {
			return ids, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// queryPrefix calls f with every item of account accountID whose sort key starts with prefix,
// read consistently; projection, when given, names the attributes to read.
func (s *Store) queryPrefix(ctx context.Context, accountID, prefix string, projection []string, f func(item) error) error {
	b := expression.NewBuilder().WithKeyCondition(expression.Key(table.PK).Equal(expression.Value(table.AccountPK(accountID))).
		And(expression.Key(table.SK).BeginsWith(prefix)))
	if len(projection) > 0 {
		p := expression.NamesList(expression.Name(projection[0]))
		for _, n := range projection[1:] {
			p = p.AddNames(expression.Name(n))
		}
		b = b.WithProjection(p)
	}
	e, err := b.Build()
	if err != nil {
		return err
	}
	in := &dynamodb.QueryInput{TableName: aws.String(s.table), ConsistentRead: aws.Bool(true),
		KeyConditionExpression: e.KeyCondition(), ProjectionExpression: e.Projection(),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values()}
	for {
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return fmt.Errorf("query %s: %w", prefix, err)
		}
		for _, it := range out.Items {
			if err := f(it); err != nil {
				return err
			}
		}
		if out.LastEvaluatedKey == nil {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// stale is the onFail of the migration's conditions: whatever changed, read again.
func stale(item) error { return errStale }

// asStored is an attribute value as read, for a condition that it is still the same: compared as
// DynamoDB stored it, not as this code would encode it again.
type asStored struct{ av types.AttributeValue }

func (a asStored) MarshalDynamoDBAttributeValue() (types.AttributeValue, error) { return a.av, nil }

// unchanged is the condition that attribute name still holds what read holds (absent included).
func unchanged(read item, name string) expression.ConditionBuilder {
	if av, ok := read[name]; ok {
		return expression.Name(name).Equal(expression.Value(asStored{av}))
	}
	return expression.AttributeNotExists(expression.Name(name))
}

// migrateMemberships gives the memberships of account id that lack them the account's name and
// type, in transactions that check the account still has the ones read. It returns how many it
// wrote and how often it had to read again.
func (s *Store) migrateMemberships(ctx context.Context, id string) (written, retries int, err error) {
	for attempt := 1; ; attempt++ {
		it, err := s.get(ctx, table.Account(id))
		if err != nil || it == nil {
			return written, retries, err
		}
		acc, err := decodeAccount(it)
		if err != nil {
			return written, retries, err
		}
		var missing []string
		err = s.queryPrefix(ctx, id, table.UserPrefix, nil, func(it item) error {
			var u userItem
			if err := attributevalue.UnmarshalMap(it, &u); err != nil {
				return err
			}
			if u.AccountName == "" {
				missing = append(missing, u.ID)
			}
			return nil
		})
		if err != nil || len(missing) == 0 {
			return written, retries, err
		}
		for chunk := range slices.Chunk(missing, txnItemLimit-1) {
			t := s.txn()
			t.check(table.Account(id), sameNameAndType(acc), stale)
			noCopy := expression.AttributeExists(expression.Name(table.PK)).And(expression.AttributeNotExists(expression.Name("accountName")))
			for _, sub := range chunk {
				t.update(table.User(id, sub), expression.Set(expression.Name("accountName"), expression.Value(acc.Name)).
					Set(expression.Name("accountType"), expression.Value(acc.Type)), &noCopy, stale)
			}
			if err = t.run(ctx); err != nil {
				break
			}
			written += len(chunk)
		}
		if !errors.Is(err, errStale) {
			return written, retries, err
		}
		// Renamed, or a membership removed or given its copy meanwhile: read again.
		if attempt == maxOptimisticAttempts {
			return written, retries, fmt.Errorf("the account kept changing during %d attempts: %w", attempt, err)
		}
		retries++
	}
}

// migrateCounters moves account id's legacy recipient counts (attribute "recipients") onto the
// counter items, adding each to what the item holds, and removes them from the account item, in
// one transaction conditioned on the counts being as read. It reports whether it moved them.
func (s *Store) migrateCounters(ctx context.Context, id string) (moved bool, retries int, err error) {
	for attempt := 1; ; attempt++ {
		it, err := s.get(ctx, table.Account(id))
		if err != nil || it == nil {
			return false, retries, err
		}
		legacy, ok := it[legacyRecipients]
		if !ok {
			return false, retries, nil // migrated, or written by the current code
		}
		var counts map[string]int
		if m, isMap := legacy.(*types.AttributeValueMemberM); isMap {
			if err := attributevalue.UnmarshalMap(m.Value, &counts); err != nil {
				return false, retries, fmt.Errorf("legacy recipient counts: %w", err)
			}
		}
		cond := unchanged(it, legacyRecipients) // the map as read: an old-code write meanwhile makes this read again
		t := s.txn()
		t.recipients(id, counts) // increases only: no last-recipient condition
		t.update(table.Account(id), expression.Remove(expression.Name(legacyRecipients)), &cond, stale)
		err = t.run(ctx)
		if !errors.Is(err, errStale) {
			return err == nil, retries, err
		}
		if attempt == maxOptimisticAttempts {
			return false, retries, fmt.Errorf("the legacy counts kept changing during %d attempts: %w", attempt, err)
		}
		retries++
	}
}

// migrateOwnerLogin gives account id, when its owner accepted before the account kept the
// owner's login email (ownerLogin, which an operator's ownership transfer uses instead of reading
// the owner's membership), that email from the owner's membership (a membership's email never
// changes), conditioned on the account still having the owner read and no ownerLogin. It reports
// whether it wrote it.
func (s *Store) migrateOwnerLogin(ctx context.Context, id string) (written bool, retries int, err error) {
	for attempt := 1; ; attempt++ {
		it, err := s.get(ctx, table.Account(id))
		if err != nil || it == nil {
			return false, retries, err
		}
		acc, err := decodeAccount(it)
		if err != nil || acc.OwnerSub == "" || acc.OwnerLogin != "" {
			return false, retries, err
		}
		m, err := s.get(ctx, table.User(id, acc.OwnerSub))
		if err != nil || m == nil {
			return false, retries, err // no membership to copy from: the transfer reads it as before
		}
		var u userItem
		if err := attributevalue.UnmarshalMap(m, &u); err != nil {
			return false, retries, err
		}
		t := s.txn()
		cond := expression.Name("ownerSub").Equal(expression.Value(acc.OwnerSub)).And(expression.AttributeNotExists(expression.Name("ownerLogin")))
		t.update(table.Account(id), expression.Set(expression.Name("ownerLogin"), expression.Value(u.Email)), &cond, stale)
		err = t.run(ctx)
		if !errors.Is(err, errStale) {
			return err == nil, retries, err
		}
		if attempt == maxOptimisticAttempts {
			return false, retries, fmt.Errorf("the owner kept changing during %d attempts: %w", attempt, err)
		}
		retries++
	}
}

// migrateContacts writes the index items of every contact of account id that lacks one of them
// (indexLegacyContact). It returns how many contacts it indexed and how often it read again.
func (s *Store) migrateContacts(ctx context.Context, id string) (indexed, retries int, err error) {
	have := map[string]bool{} // sort keys of the account's index items
	keyOnly := func(it item) error {
		var k table.Key
		if err := attributevalue.UnmarshalMap(it, &k); err != nil {
			return err
		}
		have[k.SK] = true
		return nil
	}
	for _, prefix := range []string{table.ContactSearchPrefix(""), table.ContactTypesPrefix} {
		if err := s.queryPrefix(ctx, id, prefix, []string{table.PK, table.SK}, keyOnly); err != nil {
			return 0, 0, err
		}
	}
	// Contacts are indexed as the query reads them, migrationConcurrency at a time (g.Go waits for
	// a free slot, so the query waits too): memory holds the index keys, not the contacts.
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(migrationConcurrency)
	qerr := s.queryPrefix(gctx, id, table.ContactPrefix, nil, func(it item) error {
		c, err := decodeContact(it)
		if err != nil {
			return err
		}
		complete := true
		for _, ix := range contactIndex(c.Contact) {
			complete = complete && have[ix.SK]
		}
		if complete {
			return nil
		}
		g.Go(func() error {
			done, r, err := s.indexLegacyContact(gctx, it)
			mu.Lock()
			defer mu.Unlock()
			retries += r
			if done {
				indexed++
			}
			if err != nil {
				return fmt.Errorf("contact %s: %w", c.ID, err)
			}
			return nil
		})
		return nil
	})
	if err := g.Wait(); err != nil {
		return indexed, retries, err // the cause, rather than the query's cancellation it caused
	}
	return indexed, retries, qerr
}

// indexLegacyContact writes the index items of contact read (the item as read) in one
// transaction conditioned on the contact still existing with the version and email status read
// (the stream function marks a bounce on the contact, then on its index items if they exist);
// when it changed meanwhile it is read again and indexed as it is then (a deleted contact is left
// alone). The store's own index builder (txn.indexContact) makes the items. done reports whether
// it wrote them.
func (s *Store) indexLegacyContact(ctx context.Context, read item) (done bool, retries int, err error) {
	for attempt := 1; ; attempt++ {
		cur, err := decodeContact(read)
		if err != nil {
			return false, retries, err
		}
		t := s.txn()
		asRead := expression.AttributeExists(expression.Name(table.PK)).
			And(expression.Name("version").Equal(expression.Value(cur.Version))).
			And(unchanged(read, "emailStatus"))
		t.check(cur.Key, asRead, stale)
		t.indexContact(nil, &cur.Contact)
		err = t.run(ctx)
		if !errors.Is(err, errStale) {
			return err == nil, retries, err
		}
		if attempt == maxOptimisticAttempts {
			return false, retries, fmt.Errorf("the contact kept changing during %d attempts: %w", attempt, err)
		}
		retries++
		if read, err = s.get(ctx, cur.Key); err != nil || read == nil {
			return false, retries, err // deleted meanwhile: its index items went with it
		}
	}
}
