package store

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"rollcall/shared/idempotency"
	"rollcall/shared/table"
)

// Idempotent runs an operation that is not one transaction (a batch) under req's key: a repeat
// gets *idempotency.Replay with the first answer, another request with the key gets 422. The
// record is written after run succeeds; when req is nil, run just runs.
func (s *Store) Idempotent(ctx context.Context, req *idempotency.Request, run func() (int, any, error)) (int, any, error) {
	if req == nil {
		return run()
	}
	old, err := s.get(ctx, table.Idempotency(req.AccountID, req.Sub, req.Key))
	if err != nil {
		return 0, nil, err
	}
	if old != nil {
		var r idempotencyItem
		if err := attributevalue.UnmarshalMap(old, &r); err != nil {
			return 0, nil, err
		}
		if err := idempotency.Check(r.Record, req, s.now()); err != nil {
			return 0, nil, err
		}
	}
	status, body, err := run()
	if err != nil {
		return 0, nil, err
	}
	now := s.now()
	rec, err := newIdempotencyItem(req, status, body, now)
	if err != nil {
		return 0, nil, err
	}
	item, err := attributevalue.MarshalMap(rec)
	if err != nil {
		return 0, nil, err
	}
	cond, err := expression.NewBuilder().WithCondition(idempotencyFree(now)).Build()
	if err != nil {
		return 0, nil, err
	}
	// A concurrent repeat may have written first; its record answers later repeats just as well.
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item,
		ConditionExpression: cond.Condition(), ExpressionAttributeNames: cond.Names(), ExpressionAttributeValues: cond.Values()})
	if err != nil && !isConditionFailed(err) {
		return 0, nil, err
	}
	return status, body, nil
}

// idemKeys lists the key of req's record, to read with an operation's state (none for nil).
func idemKeys(req *idempotency.Request) []table.Key {
	if req == nil {
		return nil
	}
	return []table.Key{table.Idempotency(req.AccountID, req.Sub, req.Key)}
}

// replayed checks req's record among items read with an operation's state, before the
// operation judges that state: a repeat of a request that succeeded gets *idempotency.Replay
// (not, say, "already accepted"), another request with the key 422, a new key nil.
func (s *Store) replayed(req *idempotency.Request, found map[table.Key]item) error {
	if req == nil {
		return nil
	}
	old := found[table.Idempotency(req.AccountID, req.Sub, req.Key)]
	if old == nil {
		return nil
	}
	var r idempotencyItem
	if err := attributevalue.UnmarshalMap(old, &r); err != nil {
		return err
	}
	return idempotency.Check(r.Record, req, s.now())
}
