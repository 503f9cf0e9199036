// Package dbtrace records the DynamoDB calls an operation makes, for tests and benchmarks: which
// operation, on which table and index, the item-level actions inside a TransactWriteItems (so that
// IAM grants, including those conditioned on dynamodb:EnclosingOperation, can be derived), and
// when each call started and ended, so that the sequential round-trip depth of overlapping calls
// can be computed (DESIGN §7).
//
// Use:
//
//	rec := dbtrace.New(client)            // client: *dynamodb.Client or any DB
//	s := store.New(rec, table, cat, now)  // or handlers.New(cfg, rec)
//	... run one operation ...
//	calls := rec.Take()                   // the calls since the last Take, in start order
//	depth := dbtrace.Depth(calls)         // 1 = one round trip (parallel calls count once)
//	grants := dbtrace.Grants(calls)       // IAM actions, with index and enclosing operation
//
// A Recorder is safe for concurrent use. It records calls that fail too (Call.Err).
package dbtrace

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"rollcall/shared/lane"
	"rollcall/shared/store"
)

// DB is the part of the DynamoDB client a Recorder wraps: the store's (*dynamodb.Client
// satisfies it). The Recorder also offers UpdateItem, DeleteItem, BatchWriteItem and Scan,
// forwarded when the wrapped value has them.
type DB = store.DB

// Item-level actions inside a TransactWriteItems (Item.Action), named as the IAM actions are.
const (
	Put            = "PutItem"
	Update         = "UpdateItem"
	Delete         = "DeleteItem"
	ConditionCheck = "ConditionCheckItem"
)

// Item is one item a call touches: for TransactWriteItems every Put, Update, Delete and
// ConditionCheck; for BatchGetItem and BatchWriteItem every key (Action "GetItem", "PutItem" or
// "DeleteItem"); for GetItem, PutItem, UpdateItem and DeleteItem the one key.
type Item struct {
	Action string // IAM action name without the "dynamodb:" prefix, e.g. "ConditionCheckItem"
	Table  string
	PK, SK string // the item's key values when they are strings (rollcall's PK/SK), else ""
}

// Call is one DynamoDB call as made by the code under test (one SDK call; the SDK's own retries
// inside it are not separate calls).
type Call struct {
	Op    string // operation name, e.g. "Query", "TransactWriteItems"
	Table string // table name ("" for a multi-table batch: see Items)
	Index string // index name for a Query or Scan of an index, else ""
	Items []Item // item-level detail (see Item); nil for Query and Scan
	Lane  int    // the worker the call ran on (lane.Of its context; 0 for the operation's own)
	Start time.Time
	End   time.Time
	Err   error // the call's error, nil on success
}

// String is a one-line description, e.g. "TransactWriteItems t1 [ConditionCheckItem ACCOUNT#a/USER#u, PutItem ...]".
func (c Call) String() string {
	var b strings.Builder
	b.WriteString(c.Op)
	if c.Table != "" {
		b.WriteString(" " + c.Table)
	}
	if c.Index != "" {
		b.WriteString(" index " + c.Index)
	}
	if len(c.Items) > 0 {
		parts := make([]string, len(c.Items))
		for i, it := range c.Items {
			parts[i] = it.Action + " " + it.PK + "/" + it.SK
		}
		b.WriteString(" [" + strings.Join(parts, ", ") + "]")
	}
	if c.Err != nil {
		b.WriteString(" (error)")
	}
	return b.String()
}

// Recorder is a DB that forwards every call to the wrapped one and records it.
type Recorder struct {
	db    DB
	clock func() time.Time
	mu    sync.Mutex
	calls []Call
}

// New returns a Recorder forwarding to db.
func New(db DB) *Recorder { return &Recorder{db: db, clock: time.Now} }

// Calls returns a copy of the calls recorded so far, in start order.
func (r *Recorder) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return sorted(slices.Clone(r.calls))
}

// Take returns the calls recorded since the last Take (or Reset), in start order, and forgets them.
func (r *Recorder) Take() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls = nil
	return sorted(c)
}

// Reset forgets the calls recorded so far.
func (r *Recorder) Reset() { r.Take() }

func sorted(c []Call) []Call {
	sort.SliceStable(c, func(i, j int) bool { return c[i].Start.Before(c[j].Start) })
	return c
}

// record runs f and appends the call it describes.
func record[O any](ctx context.Context, r *Recorder, c Call, f func() (O, error)) (O, error) {
	c.Lane = lane.Of(ctx)
	c.Start = r.clock()
	out, err := f()
	c.End = r.clock()
	c.Err = err
	r.mu.Lock()
	r.calls = append(r.calls, c)
	r.mu.Unlock()
	return out, err
}

func keyOf(tableName, action string, k map[string]types.AttributeValue) Item {
	it := Item{Action: action, Table: tableName}
	if v, ok := k["PK"].(*types.AttributeValueMemberS); ok {
		it.PK = v.Value
	}
	if v, ok := k["SK"].(*types.AttributeValueMemberS); ok {
		it.SK = v.Value
	}
	return it
}

// GetItem records and forwards.
func (r *Recorder) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	t := aws.ToString(in.TableName)
	return record(ctx, r, Call{Op: "GetItem", Table: t, Items: []Item{keyOf(t, "GetItem", in.Key)}}, func() (*dynamodb.GetItemOutput, error) {
		return r.db.GetItem(ctx, in, o...)
	})
}

// BatchGetItem records and forwards.
func (r *Recorder) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	c := Call{Op: "BatchGetItem"}
	for t, ka := range in.RequestItems {
		c.Table = joinTable(c.Table, t)
		for _, k := range ka.Keys {
			c.Items = append(c.Items, keyOf(t, "GetItem", k))
		}
	}
	return record(ctx, r, c, func() (*dynamodb.BatchGetItemOutput, error) { return r.db.BatchGetItem(ctx, in, o...) })
}

// Query records and forwards.
func (r *Recorder) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c := Call{Op: "Query", Table: aws.ToString(in.TableName), Index: aws.ToString(in.IndexName)}
	return record(ctx, r, c, func() (*dynamodb.QueryOutput, error) { return r.db.Query(ctx, in, o...) })
}

// PutItem records and forwards.
func (r *Recorder) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	t := aws.ToString(in.TableName)
	return record(ctx, r, Call{Op: "PutItem", Table: t, Items: []Item{keyOf(t, Put, in.Item)}}, func() (*dynamodb.PutItemOutput, error) {
		return r.db.PutItem(ctx, in, o...)
	})
}

// TransactWriteItems records (with every item-level action) and forwards.
func (r *Recorder) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	c := Call{Op: "TransactWriteItems"}
	for _, w := range in.TransactItems {
		var it Item
		switch {
		case w.Put != nil:
			it = keyOf(aws.ToString(w.Put.TableName), Put, w.Put.Item)
		case w.Update != nil:
			it = keyOf(aws.ToString(w.Update.TableName), Update, w.Update.Key)
		case w.Delete != nil:
			it = keyOf(aws.ToString(w.Delete.TableName), Delete, w.Delete.Key)
		case w.ConditionCheck != nil:
			it = keyOf(aws.ToString(w.ConditionCheck.TableName), ConditionCheck, w.ConditionCheck.Key)
		default:
			continue
		}
		c.Table = joinTable(c.Table, it.Table)
		c.Items = append(c.Items, it)
	}
	return record(ctx, r, c, func() (*dynamodb.TransactWriteItemsOutput, error) { return r.db.TransactWriteItems(ctx, in, o...) })
}

// ErrUnsupported is returned by a forwarded method the wrapped DB does not have.
var ErrUnsupported = errors.New("dbtrace: the wrapped DB does not have this method")

// UpdateItem records and forwards (when the wrapped DB has UpdateItem).
func (r *Recorder) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	db, ok := r.db.(interface {
		UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	})
	t := aws.ToString(in.TableName)
	return record(ctx, r, Call{Op: "UpdateItem", Table: t, Items: []Item{keyOf(t, Update, in.Key)}}, func() (*dynamodb.UpdateItemOutput, error) {
		if !ok {
			return nil, fmt.Errorf("UpdateItem: %w", ErrUnsupported)
		}
		return db.UpdateItem(ctx, in, o...)
	})
}

// DeleteItem records and forwards (when the wrapped DB has DeleteItem).
func (r *Recorder) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	db, ok := r.db.(interface {
		DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	})
	t := aws.ToString(in.TableName)
	return record(ctx, r, Call{Op: "DeleteItem", Table: t, Items: []Item{keyOf(t, Delete, in.Key)}}, func() (*dynamodb.DeleteItemOutput, error) {
		if !ok {
			return nil, fmt.Errorf("DeleteItem: %w", ErrUnsupported)
		}
		return db.DeleteItem(ctx, in, o...)
	})
}

// BatchWriteItem records and forwards (when the wrapped DB has BatchWriteItem).
func (r *Recorder) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	db, ok := r.db.(interface {
		BatchWriteItem(context.Context, *dynamodb.BatchWriteItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
	})
	c := Call{Op: "BatchWriteItem"}
	for t, ws := range in.RequestItems {
		c.Table = joinTable(c.Table, t)
		for _, w := range ws {
			switch {
			case w.PutRequest != nil:
				c.Items = append(c.Items, keyOf(t, Put, w.PutRequest.Item))
			case w.DeleteRequest != nil:
				c.Items = append(c.Items, keyOf(t, Delete, w.DeleteRequest.Key))
			}
		}
	}
	return record(ctx, r, c, func() (*dynamodb.BatchWriteItemOutput, error) {
		if !ok {
			return nil, fmt.Errorf("BatchWriteItem: %w", ErrUnsupported)
		}
		return db.BatchWriteItem(ctx, in, o...)
	})
}

// Scan records and forwards (when the wrapped DB has Scan).
func (r *Recorder) Scan(ctx context.Context, in *dynamodb.ScanInput, o ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	db, ok := r.db.(interface {
		Scan(context.Context, *dynamodb.ScanInput, ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	})
	c := Call{Op: "Scan", Table: aws.ToString(in.TableName), Index: aws.ToString(in.IndexName)}
	return record(ctx, r, c, func() (*dynamodb.ScanOutput, error) {
		if !ok {
			return nil, fmt.Errorf("Scan: %w", ErrUnsupported)
		}
		return db.Scan(ctx, in, o...)
	})
}

func joinTable(have, t string) string {
	if have == "" || have == t {
		return t
	}
	return "" // several tables: see Items
}

// Depth is the sequential round-trip depth of calls: the length of the longest chain of calls
// each of which started after the previous one ended on a lane ordered with it (lane.Ordered:
// the same worker, or the operation's own goroutine). Calls that overlap in time (run in
// parallel) count once, and so do calls of parallel workers that did not overlap only because
// one worker started late; a retried transaction counts each attempt. Zero for no calls.
func Depth(calls []Call) int {
	c := slices.Clone(calls)
	sort.SliceStable(c, func(i, j int) bool { return c[i].Start.Before(c[j].Start) })
	depth := make([]int, len(c))
	best := 0
	for i := range c {
		depth[i] = 1
		for j := 0; j < i; j++ {
			if !c[j].End.After(c[i].Start) && lane.Ordered(c[j].Lane, c[i].Lane) && depth[j]+1 > depth[i] {
				depth[i] = depth[j] + 1
			}
		}
		best = max(best, depth[i])
	}
	return best
}

// Grant is one IAM action the calls needed: Action is e.g. "dynamodb:ConditionCheckItem", Index
// the index it was used on ("" for the table) and Enclosing the operation that carried it when it
// came inside another ("TransactWriteItems" or "BatchGetItem" / "BatchWriteItem"), for
// conditions on dynamodb:EnclosingOperation.
type Grant struct {
	Action    string
	Index     string
	Enclosing string
}

// Grants derives the IAM actions calls needed, sorted and without duplicates. Every call's own
// operation is listed (Enclosing ""), and each item-level action inside a TransactWriteItems with
// Enclosing "TransactWriteItems". (BatchGetItem and BatchWriteItem need only their own action.)
func Grants(calls []Call) []Grant {
	set := map[Grant]bool{}
	for _, c := range calls {
		set[Grant{Action: "dynamodb:" + c.Op, Index: c.Index}] = true
		if c.Op == "TransactWriteItems" {
			for _, it := range c.Items {
				set[Grant{Action: "dynamodb:" + it.Action, Enclosing: c.Op}] = true
			}
		}
	}
	out := make([]Grant, 0, len(set))
	for g := range set {
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Action != b.Action {
			return a.Action < b.Action
		}
		if a.Index != b.Index {
			return a.Index < b.Index
		}
		return a.Enclosing < b.Enclosing
	})
	return out
}

// Actions is Grants reduced to the action names (e.g. "dynamodb:Query"), sorted, without
// duplicates: item-level actions inside transactions are included.
func Actions(calls []Call) []string {
	set := map[string]bool{}
	for _, g := range Grants(calls) {
		set[g.Action] = true
	}
	out := make([]string, 0, len(set))
	for a := range set {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}
