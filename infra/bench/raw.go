package bench

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"rollcall/shared/dbtrace"
	"rollcall/shared/lane"
)

// captured is one DynamoDB call a request made: the operation, its input exactly as sent (after
// reqlog's counting wrapper asked for the consumed capacity), and when it ran.
type captured struct {
	op         string
	in         any
	start, end time.Time
	lane       int // the operation's worker the call ran on (shared/lane; 0: its own goroutine)
	err        error
}

// sink collects the calls of one request; the request's context carries it (sinkKey).
type sink struct {
	mu    sync.Mutex
	calls []captured
}

type sinkKey struct{}

func (s *sink) add(c captured) {
	s.mu.Lock()
	s.calls = append(s.calls, c)
	s.mu.Unlock()
}

func (s *sink) take() []captured {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calls
	s.calls = nil
	sort.SliceStable(c, func(i, j int) bool { return c[i].start.Before(c[j].start) })
	return c
}

// tap is the handlers' DynamoDB client: it forwards every call to the raw client and, when the
// call's context carries a sink, records it there (with its input, for the replay).
type tap struct{ db *dynamodb.Client }

func note[O any](ctx context.Context, op string, in any, f func() (O, error)) (O, error) {
	s, _ := ctx.Value(sinkKey{}).(*sink)
	start := time.Now()
	out, err := f()
	if s != nil {
		s.add(captured{op: op, in: in, start: start, end: time.Now(), lane: lane.Of(ctx), err: err})
	}
	return out, err
}

func (t tap) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return note(ctx, "GetItem", in, func() (*dynamodb.GetItemOutput, error) { return t.db.GetItem(ctx, in, o...) })
}

func (t tap) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	return note(ctx, "BatchGetItem", in, func() (*dynamodb.BatchGetItemOutput, error) { return t.db.BatchGetItem(ctx, in, o...) })
}

func (t tap) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	return note(ctx, "Query", in, func() (*dynamodb.QueryOutput, error) { return t.db.Query(ctx, in, o...) })
}

func (t tap) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	return note(ctx, "PutItem", in, func() (*dynamodb.PutItemOutput, error) { return t.db.PutItem(ctx, in, o...) })
}

func (t tap) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	return note(ctx, "TransactWriteItems", in, func() (*dynamodb.TransactWriteItemsOutput, error) { return t.db.TransactWriteItems(ctx, in, o...) })
}

// depth is the sequential round-trip depth of calls (dbtrace.Depth).
func depth(calls []captured) int {
	dc := make([]dbtrace.Call, len(calls))
	for i, c := range calls {
		dc[i] = dbtrace.Call{Op: c.op, Start: c.start, End: c.end, Lane: c.lane}
	}
	return dbtrace.Depth(dc)
}

// inFlight is the time during which at least one of calls was in flight (the union of their
// intervals): the raw DynamoDB time of a request whose calls cannot be replayed (writes).
func inFlight(calls []captured) time.Duration {
	c := slices.Clone(calls)
	sort.Slice(c, func(i, j int) bool { return c[i].start.Before(c[j].start) })
	var total time.Duration
	var curStart, curEnd time.Time
	for i, x := range c {
		if i == 0 || x.start.After(curEnd) {
			total += curEnd.Sub(curStart)
			curStart, curEnd = x.start, x.end
			continue
		}
		if x.end.After(curEnd) {
			curEnd = x.end
		}
	}
	total += curEnd.Sub(curStart)
	return total
}

// waves groups calls by their place in the sequential chain, as dbtrace.Depth counts it: a call
// is in wave k+1 when the latest wave of the calls that ended before it started, on its own
// worker or the operation's (shared/lane), is k. Calls of one wave ran in parallel in the request
// (or could have: workers that merely started late are not chained).
func waves(calls []captured) [][]captured {
	c := slices.Clone(calls)
	sort.SliceStable(c, func(i, j int) bool { return c[i].start.Before(c[j].start) })
	level := make([]int, len(c))
	var out [][]captured
	for i := range c {
		level[i] = 0
		for j := 0; j < i; j++ {
			if !c[j].end.After(c[i].start) && lane.Ordered(c[j].lane, c[i].lane) && level[j]+1 > level[i] {
				level[i] = level[j] + 1
			}
		}
		for len(out) <= level[i] {
			out = append(out, nil)
		}
		out[level[i]] = append(out[level[i]], c[i])
	}
	return out
}

// replay makes calls again, directly with the SDK client, with the request's parallel structure
// (each wave's calls at once, the waves one after another), and returns how long that took. It
// is for reads: their inputs can be sent again and do the same work.
func replay(ctx context.Context, db *dynamodb.Client, calls []captured) (time.Duration, error) {
	ws := waves(calls)
	start := time.Now()
	for _, w := range ws {
		if len(w) == 1 {
			if err := call(ctx, db, w[0]); err != nil {
				return 0, err
			}
			continue
		}
		errs := make([]error, len(w))
		var wg sync.WaitGroup
		for i, c := range w {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = call(ctx, db, c)
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return 0, err
			}
		}
	}
	return time.Since(start), nil
}

func call(ctx context.Context, db *dynamodb.Client, c captured) error {
	var err error
	switch in := c.in.(type) {
	case *dynamodb.GetItemInput:
		_, err = db.GetItem(ctx, in)
	case *dynamodb.BatchGetItemInput:
		_, err = db.BatchGetItem(ctx, in)
	case *dynamodb.QueryInput:
		_, err = db.Query(ctx, in)
	default:
		return fmt.Errorf("bench: a %s cannot be replayed (only reads are)", c.op)
	}
	if err != nil {
		return fmt.Errorf("bench: replay of %s: %w", c.op, err)
	}
	return nil
}
