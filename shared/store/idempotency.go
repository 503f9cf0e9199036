package store

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"rollcall/shared/apperr"
	"rollcall/shared/idempotency"
	"rollcall/shared/table"
)

// ClaimWait is how long a repeat of a request whose first execution is still running waits for
// its answer before it is told to retry (409 conflict with retryAfterSeconds).
var ClaimWait = 10 * time.Second

// claimPoll is how often a waiting repeat reads the record.
const claimPoll = 50 * time.Millisecond

// Idempotent runs an operation that is not one transaction (a batch) once per Idempotency-Key
// (DESIGN §3, issue 14 finding 3):
//
//  1. authorize checks the caller's right first, so that a caller who has lost it is refused
//     (404/403) before any record is looked at, and never replays an earlier answer;
//  2. the key is claimed with a conditional write before run: of concurrent requests with one
//     key, one runs; the others wait for its answer (up to ClaimWait) and get it, or a 409 to
//     retry; another request with the key gets 422;
//  3. run's answer is written over the claim; a failure to write it is returned, not swallowed.
//     When run fails (it does so only before its first write), the claim is released so that a
//     retry runs.
//
// When req is nil, authorize and run just run.
func (s *Store) Idempotent(ctx context.Context, req *idempotency.Request, authorize func() error, run func() (int, any, error)) (int, any, error) {
	if err := authorize(); err != nil {
		return 0, nil, err
	}
	if req == nil {
		return run()
	}
	if err := s.claim(ctx, req); err != nil {
		return 0, nil, err
	}
	status, body, err := run()
	if err != nil {
		if rerr := s.settle(ctx, req, 0, nil, true); rerr != nil {
			return 0, nil, errors.Join(err, fmt.Errorf("releasing the Idempotency-Key: %w", rerr))
		}
		return 0, nil, err
	}
	if err := s.settle(ctx, req, status, body, false); err != nil {
		return 0, nil, fmt.Errorf("recording the answer of Idempotency-Key %q: %w", req.Key, err)
	}
	return status, body, nil
}

// claim writes an in-progress record (status 0) for req, unless a live record exists: then it
// returns the *idempotency.Replay of a finished request with the same hash (waiting for a
// running one), 422 for another request, or 409 when the first is still running after ClaimWait.
func (s *Store) claim(ctx context.Context, req *idempotency.Request) error {
	deadline := time.Now().Add(ClaimWait)
	for {
		now := s.now()
		rec, err := newIdempotencyItem(req, 0, nil, now)
		if err != nil {
			return err
		}
		rec.Body = ""
		if err := s.putRecord(ctx, rec, idempotencyFree(now)); err == nil {
			return nil
		} else if !isConditionFailed(err) {
			return err
		}
		old, err := s.get(ctx, table.Idempotency(req.AccountID, req.Sub, req.Key))
		if err != nil {
			return err
		}
		if old == nil {
			continue // released or expired meanwhile: claim again
		}
		var r idempotencyItem
		if err := attributevalue.UnmarshalMap(old, &r); err != nil {
			return err
		}
		err = idempotency.Check(r.Record, req, s.now())
		switch {
		case err == nil:
			continue // expired: claim again
		case !errors.Is(err, idempotency.ErrInProgress):
			return err
		case time.Now().After(deadline):
			return inProgress()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(claimPoll):
		}
	}
}

// inProgress is the answer to a repeat whose first request is still running.
func inProgress() error {
	return apperr.New(http.StatusConflict, apperr.CodeConflict,
		"a request with this Idempotency-Key is still running; retry in a moment to get its answer").With("retryAfterSeconds", 1)
}

// settle replaces req's claim with its answer, or, with release, with an expired record that
// frees the key. It is conditioned on the claim being there still.
func (s *Store) settle(ctx context.Context, req *idempotency.Request, status int, body any, release bool) error {
	now := s.now()
	rec, err := newIdempotencyItem(req, status, body, now)
	if err != nil {
		return err
	}
	if release {
		rec.Status, rec.Body = 0, ""
		rec.Expires, rec.TTL = now.Add(-time.Second), now.Add(-time.Second).Unix()
	}
	mine := expression.Name("hash").Equal(expression.Value(req.Hash)).And(expression.Name("status").Equal(expression.Value(0)))
	return s.putRecord(ctx, rec, mine)
}

func (s *Store) putRecord(ctx context.Context, rec idempotencyItem, cond expression.ConditionBuilder) error {
	item, err := attributevalue.MarshalMap(rec)
	if err != nil {
		return err
	}
	e, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item,
		ConditionExpression: e.Condition(), ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values()})
	return err
}

// idemKeys lists the key of req's record, to read with an operation's state (none for nil).
func idemKeys(req *idempotency.Request) []table.Key {
	if req == nil {
		return nil
	}
	return []table.Key{table.Idempotency(req.AccountID, req.Sub, req.Key)}
}

// replayed checks req's record among items read with an operation's state, before the
// operation judges that state (and after the caller's right was checked): a repeat of a request
// that succeeded gets *idempotency.Replay (not, say, "already accepted"), another request with
// the key 422, a new key nil.
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
	err := idempotency.Check(r.Record, req, s.now())
	if errors.Is(err, idempotency.ErrInProgress) {
		return inProgress()
	}
	return err
}
