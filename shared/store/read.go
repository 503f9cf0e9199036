package store

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"golang.org/x/sync/errgroup"

	"rollcall/shared/apperr"
	"rollcall/shared/auth"
	"rollcall/shared/domain"
	"rollcall/shared/table"
)

// getAuthorized reads the caller's access item and keys in one BatchGetItem and checks need. It
// returns the caller's membership (nil for operators) and the items found, by key.
func (s *Store) getAuthorized(ctx context.Context, c auth.Caller, accountID string, need Need, keys ...table.Key) (*domain.User, map[table.Key]item, error) {
	found, err := s.batchGet(ctx, append([]table.Key{accessKey(c, accountID)}, keys...))
	if err != nil {
		return nil, nil, err
	}
	u, err := allow(c, need, found[accessKey(c, accountID)])
	return u, found, err
}

// batchGet reads keys (at most 100, duplicates allowed) consistently, following unprocessed keys.
func (s *Store) batchGet(ctx context.Context, keys []table.Key) (map[table.Key]item, error) {
	uniq := map[table.Key]bool{}
	var req []item
	for _, k := range keys {
		if uniq[k] {
			continue
		}
		uniq[k] = true
		m, err := attributevalue.MarshalMap(k)
		if err != nil {
			return nil, err
		}
		req = append(req, m)
	}
	found := map[table.Key]item{}
	pending := map[string]types.KeysAndAttributes{s.table: {Keys: req, ConsistentRead: aws.Bool(true)}}
	for len(pending) > 0 && len(pending[s.table].Keys) > 0 {
		out, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: pending})
		if err != nil {
			return nil, err
		}
		for _, it := range out.Responses[s.table] {
			var k table.Key
			if err := attributevalue.UnmarshalMap(it, &k); err != nil {
				return nil, err
			}
			found[k] = it
		}
		pending = out.UnprocessedKeys
	}
	return found, nil
}

// queryAuthorized runs q (a page of a list) in parallel with the read of the caller's access
// item, so that a list costs one round trip, and checks need before answering.
func (s *Store) queryAuthorized(ctx context.Context, c auth.Caller, accountID string, need Need, q func(context.Context) error) (*domain.User, error) {
	var access item
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var err error
		access, err = s.get(gctx, accessKey(c, accountID))
		return err
	})
	g.Go(func() error { return q(gctx) })
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return allow(c, need, access)
}

// get reads one item consistently; nil when it does not exist.
func (s *Store) get(ctx context.Context, k table.Key) (item, error) {
	key, err := attributevalue.MarshalMap(k)
	if err != nil {
		return nil, err
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, err
	}
	return nilIfEmpty(out.Item), nil
}

// MaxLimit and DefaultLimit bound list pages (DESIGN §3).
const (
	DefaultLimit = 50
	MaxLimit     = 100
)

// listQuery is one list: the query (key condition, filter, order) and how a cursor must look.
type listQuery struct {
	in       dynamodb.QueryInput // without Limit and ExclusiveStartKey
	limit    int
	cursor   string
	filtered bool   // the query has a filter, so pages may come back short
	wantPK   string // the partition (or GSI1 partition) every cursor must name
	skPrefix string // the prefix of the sort key every cursor must have
	maxPages int    // the most Queries a page may take (0: maxPagesPerList)
}

// cursorKey is what a cursor holds: the key of the last item of a page.
type cursorKey struct {
	PK     string `json:"p" dynamodbav:"PK"`
	SK     string `json:"s" dynamodbav:"SK"`
	GSI1PK string `json:"gp,omitempty" dynamodbav:"GSI1PK,omitempty"`
	GSI1SK string `json:"gs,omitempty" dynamodbav:"GSI1SK,omitempty"`
}

func (q *listQuery) index() bool { return q.in.IndexName != nil }

func (q *listQuery) decodeCursor() (item, error) {
	bad := apperr.InvalidField("cursor", "is not a cursor of this list")
	raw, err := base64.RawURLEncoding.DecodeString(q.cursor)
	if err != nil {
		return nil, bad
	}
	var k cursorKey
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if dec.Decode(&k) != nil {
		return nil, bad
	}
	pk, sk := k.PK, k.SK
	if q.index() {
		pk, sk = k.GSI1PK, k.GSI1SK
		if k.PK == "" || k.SK == "" || k.GSI1SK == "" {
			return nil, bad
		}
	} else if k.GSI1PK != "" || k.GSI1SK != "" {
		return nil, bad
	}
	if pk != q.wantPK || !strings.HasPrefix(sk, q.skPrefix) {
		return nil, bad
	}
	return attributevalue.MarshalMap(k)
}

func (q *listQuery) encodeCursor(it item) (string, error) {
	var k cursorKey
	if err := attributevalue.UnmarshalMap(it, &k); err != nil {
		return "", err
	}
	if !q.index() {
		k.GSI1PK, k.GSI1SK = "", ""
	}
	b, err := json.Marshal(k)
	return base64.RawURLEncoding.EncodeToString(b), err
}

// maxPagesPerList bounds the queries one filtered list request makes.
const maxPagesPerList = 10

// list runs q and returns at most q.limit items and the next page's cursor. It validates the
// cursor (400 when it is not one of this list) before querying.
func (s *Store) list(ctx context.Context, q listQuery) ([]item, string, error) {
	in := q.in
	in.TableName = aws.String(s.table)
	if q.cursor != "" {
		start, err := q.decodeCursor()
		if err != nil {
			return nil, "", err
		}
		in.ExclusiveStartKey = start
	}
	var items []item
	for page := 1; ; page++ {
		want := q.limit - len(items)
		in.Limit = aws.Int32(int32(want))
		if q.filtered {
			in.Limit = aws.Int32(MaxLimit)
		}
		out, err := s.db.Query(ctx, &in)
		var invalid smithy.APIError
		if err != nil && page == 1 && q.cursor != "" && errors.As(err, &invalid) && invalid.ErrorCode() == "ValidationException" {
			// A well-formed cursor whose keys DynamoDB still refuses as a start key.
			return nil, "", apperr.InvalidField("cursor", "is not a cursor of this list")
		}
		if err != nil {
			return nil, "", fmt.Errorf("query: %w", err)
		}
		if len(out.Items) >= want {
			items = append(items, out.Items[:want]...)
			if len(out.Items) == want && out.LastEvaluatedKey == nil {
				return items, "", nil
			}
			next, err := q.encodeCursor(items[len(items)-1])
			return items, next, err
		}
		items = append(items, out.Items...)
		if out.LastEvaluatedKey == nil {
			return items, "", nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
		if page == cmp.Or(q.maxPages, maxPagesPerList) {
			next, err := q.encodeCursor(out.LastEvaluatedKey)
			return items, next, err
		}
	}
}

// unmarshalAll decodes items into a slice of T.
func unmarshalAll[T any](items []item) ([]T, error) {
	out := make([]T, 0, len(items))
	if err := attributevalue.UnmarshalListOfMaps(items, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// listAccount runs list q of account accountID in parallel with the read of the caller's
// access item (one round trip), checks need, and decodes the page's items into T.
func listAccount[T any](ctx context.Context, s *Store, c auth.Caller, accountID string, need Need, q listQuery) (Page[T], error) {
	var items []item
	var next string
	_, err := s.queryAuthorized(ctx, c, accountID, need, func(ctx context.Context) error {
		var err error
		items, next, err = s.list(ctx, q)
		return err
	})
	if err != nil {
		return Page[T]{}, err
	}
	out, err := unmarshalAll[T](items)
	return Page[T]{Items: out, Next: next}, err
}

// prefixQuery is the list of the items of account accountID whose sort key starts with prefix,
// kept by filter when it is not nil, newest first when backward is set.
func prefixQuery(accountID, prefix string, filter *expression.ConditionBuilder, backward bool, limit int, cursor string) (listQuery, error) {
	key := expression.Key(table.PK).Equal(expression.Value(table.AccountPK(accountID))).
		And(expression.Key(table.SK).BeginsWith(prefix))
	b := expression.NewBuilder().WithKeyCondition(key)
	if filter != nil {
		b = b.WithFilter(*filter)
	}
	e, err := b.Build()
	return listQuery{
		in: dynamodb.QueryInput{KeyConditionExpression: e.KeyCondition(), FilterExpression: e.Filter(),
			ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(), ScanIndexForward: aws.Bool(!backward)},
		limit: limit, cursor: cursor, filtered: filter != nil, wantPK: table.AccountPK(accountID), skPrefix: prefix,
	}, err
}
