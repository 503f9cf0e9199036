package store

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"rollcall/shared/auth"
	"rollcall/shared/domain"
	"rollcall/shared/idempotency"
	"rollcall/shared/ids"
	"rollcall/shared/table"
)

// item is one item's attributes.
type item = map[string]types.AttributeValue

// onFail turns the failed condition of one transaction item into the caller's error; old is the
// item as it was (nil when it did not exist).
type onFail func(old item) error

// txn collects the items of one TransactWriteItems and how to explain each one's failure.
type txn struct {
	s      *Store
	items  []types.TransactWriteItem
	onFail []onFail
	err    error // the first error met while building
}

func (s *Store) txn() *txn { return &txn{s: s} }

// maxTxnAttempts bounds the retries of a transaction that lost a race (TransactionConflict).
const maxTxnAttempts = 8

func (t *txn) fail(err error) {
	if t.err == nil {
		t.err = err
	}
}

func (t *txn) key(k table.Key) item {
	m, err := attributevalue.MarshalMap(k)
	t.fail(err)
	return m
}

// put adds a Put of v (a struct with its keys) under condition cond (nil for none).
func (t *txn) put(v any, cond *expression.ConditionBuilder, why onFail) {
	m, err := attributevalue.MarshalMap(v)
	if err != nil {
		t.fail(err)
		return
	}
	p := &types.Put{TableName: aws.String(t.s.table), Item: m, ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}
	if cond != nil {
		e, err := expression.NewBuilder().WithCondition(*cond).Build()
		t.fail(err)
		p.ConditionExpression, p.ExpressionAttributeNames, p.ExpressionAttributeValues = e.Condition(), e.Names(), e.Values()
	}
	t.add(types.TransactWriteItem{Put: p}, why)
}

// putNew adds a Put of v that fails when an item with its key exists.
func (t *txn) putNew(v any, why onFail) {
	c := expression.AttributeNotExists(expression.Name(table.PK))
	t.put(v, &c, why)
}

// update adds an Update of key k under condition cond (nil for none).
func (t *txn) update(k table.Key, upd expression.UpdateBuilder, cond *expression.ConditionBuilder, why onFail) {
	b := expression.NewBuilder().WithUpdate(upd)
	if cond != nil {
		b = b.WithCondition(*cond)
	}
	e, err := b.Build()
	t.fail(err)
	t.add(types.TransactWriteItem{Update: &types.Update{
		TableName: aws.String(t.s.table), Key: t.key(k),
		UpdateExpression: e.Update(), ConditionExpression: e.Condition(),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}}, why)
}

// delete adds a Delete of key k under condition cond (nil for none).
func (t *txn) delete(k table.Key, cond *expression.ConditionBuilder, why onFail) {
	d := &types.Delete{TableName: aws.String(t.s.table), Key: t.key(k), ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}
	if cond != nil {
		e, err := expression.NewBuilder().WithCondition(*cond).Build()
		t.fail(err)
		d.ConditionExpression, d.ExpressionAttributeNames, d.ExpressionAttributeValues = e.Condition(), e.Names(), e.Values()
	}
	t.add(types.TransactWriteItem{Delete: d}, why)
}

// check adds a ConditionCheck of key k.
func (t *txn) check(k table.Key, cond expression.ConditionBuilder, why onFail) {
	e, err := expression.NewBuilder().WithCondition(cond).Build()
	t.fail(err)
	t.add(types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName: aws.String(t.s.table), Key: t.key(k), ConditionExpression: e.Condition(),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}}, why)
}

func (t *txn) add(w types.TransactWriteItem, why onFail) {
	t.items = append(t.items, w)
	t.onFail = append(t.onFail, why)
}

// auditItem is an audit entry as stored.
type auditItem struct {
	table.Key
	domain.AuditEntry
	TTL int64 `dynamodbav:"ttl"`
}

// audit adds the audit entry of the change (R23).
func (t *txn) audit(accountID string, c auth.Caller, op string, targets map[string]string, changes map[string]any) {
	now := t.s.now()
	id := ids.New(ids.Audit)
	t.put(auditItem{
		Key:        table.Audit(accountID, id),
		AuditEntry: domain.AuditEntry{ID: id, AccountID: accountID, At: now, Actor: c.Actor(), Operation: op, Targets: targets, Changes: changes},
		TTL:        now.Add(domain.AuditRetention).Unix(),
	}, nil, nil)
}

// idempotencyItem is an idempotency record as stored.
type idempotencyItem struct {
	table.Key
	idempotency.Record
	TTL int64 `dynamodbav:"ttl"`
}

// idempotent adds the record of req's answer (status, body) when req is not nil. When the key was
// used before, the transaction fails with an *idempotency.Replay or a 422.
func (t *txn) idempotent(req *idempotency.Request, status int, body any) {
	if req == nil {
		return
	}
	now := t.s.now()
	rec, err := newIdempotencyItem(req, status, body, now)
	if err != nil {
		t.fail(err)
		return
	}
	cond := idempotencyFree(now)
	t.put(rec, &cond, func(old item) error {
		var r idempotencyItem
		if err := attributevalue.UnmarshalMap(old, &r); err != nil {
			return err
		}
		if err := idempotency.Check(r.Record, req, now); err != nil {
			if errors.Is(err, idempotency.ErrInProgress) {
				return inProgress()
			}
			return err
		}
		return errRetry // expired within the second the condition compares: write it anew
	})
}

// newIdempotencyItem is the record of req's answer, kept idempotency.Retention from now.
func newIdempotencyItem(req *idempotency.Request, status int, body any, now time.Time) (idempotencyItem, error) {
	b, err := json.Marshal(body)
	return idempotencyItem{
		Key:    table.Idempotency(req.AccountID, req.Sub, req.Key),
		Record: idempotency.Record{Hash: req.Hash, Status: status, Body: string(b), Expires: now.Add(idempotency.Retention)},
		TTL:    now.Add(idempotency.Retention).Unix(),
	}, err
}

// idempotencyFree is the condition under which a record may be written: none is there, or the
// one there has expired (DynamoDB deletes expired items only some time later).
func idempotencyFree(now time.Time) expression.ConditionBuilder {
	return expression.AttributeNotExists(expression.Name(table.PK)).
		Or(expression.Name(table.TTLAttribute).LessThanEqual(expression.Value(now.Unix())))
}

// errRetry marks a transaction to run again (a record expired between attempts).
var errRetry = errors.New("store: retry")

// run executes the transaction. A failed condition becomes the error its onFail gives (the first
// in item order); a transaction that lost a race to another is retried with back-off.
func (t *txn) run(ctx context.Context) error {
	if t.err != nil {
		return t.err
	}
	token := make([]byte, 16)
	_, _ = crand.Read(token)
	in := &dynamodb.TransactWriteItemsInput{TransactItems: t.items, ClientRequestToken: aws.String(hex.EncodeToString(token))}
	delay := 10 * time.Millisecond
	for attempt := 1; ; attempt++ {
		_, err := t.s.db.TransactWriteItems(ctx, in)
		if err == nil {
			return nil
		}
		retry, explained := t.explain(err)
		if !retry {
			return explained
		}
		if attempt == maxTxnAttempts {
			return fmt.Errorf("transaction still conflicting after %d attempts: %w", attempt, err)
		}
		// A new token: the same token with a cancelled transaction would be refused as reused.
		_, _ = crand.Read(token)
		in.ClientRequestToken = aws.String(hex.EncodeToString(token))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay/2 + rand.N(delay)):
		}
		delay = min(delay*2, 400*time.Millisecond)
	}
}

// explain maps a failed transaction to the caller's error; retry is true when it lost a race.
func (t *txn) explain(err error) (retry bool, explained error) {
	var cancelled *types.TransactionCanceledException
	if !errors.As(err, &cancelled) {
		var conflict *types.TransactionConflictException
		var inProgress *types.TransactionInProgressException
		return errors.As(err, &conflict) || errors.As(err, &inProgress), err
	}
	conflict := false
	var last []string // email types that would lose their last recipient (R18)
	for i, r := range cancelled.CancellationReasons {
		switch aws.ToString(r.Code) {
		case "ConditionalCheckFailed":
			why := t.onFail[i]
			if why == nil {
				return false, fmt.Errorf("transaction item %d failed its condition: %w", i, err)
			}
			e := why(nilIfEmpty(r.Item))
			if typ, ok := asLastRecipient(e); ok {
				last = append(last, typ)
				continue
			}
			if len(last) > 0 {
				return false, lastRecipients(last)
			}
			if e != nil {
				if e == errRetry {
					return true, err
				}
				return false, e
			}
			return true, err
		case "TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded":
			conflict = true
		}
	}
	if len(last) > 0 {
		return false, lastRecipients(last)
	}
	return conflict, err
}

func nilIfEmpty(m item) item {
	if len(m) == 0 {
		return nil
	}
	return m
}

// isConditionFailed reports whether err is a failed condition of a single-item write.
func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}
