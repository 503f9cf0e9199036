package local

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"rollcall/shared/email"
	"rollcall/shared/testenv"
)

// streamSpy is a stream handler that records each invocation and answers as behave says.
type streamSpy struct {
	mu      sync.Mutex
	batches [][]string // the SK of each record, per invocation
	lcs     []*lambdacontext.LambdaContext
	arns    []string
	left    []time.Duration // time to the deadline at the start of each invocation
	behave  func(n int, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error)
}

func (s *streamSpy) handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	var sks []string
	for _, r := range ev.Records {
		sks = append(sks, r.Change.Keys["SK"].String())
	}
	lc, _ := lambdacontext.FromContext(ctx)
	deadline, _ := ctx.Deadline()
	s.mu.Lock()
	s.batches = append(s.batches, sks)
	s.lcs = append(s.lcs, lc)
	s.left = append(s.left, time.Until(deadline))
	if len(ev.Records) > 0 {
		s.arns = append(s.arns, ev.Records[0].EventSourceArn)
	}
	n, behave := len(s.batches), s.behave
	s.mu.Unlock()
	if behave != nil {
		return behave(n, ev)
	}
	return events.DynamoDBEventResponse{}, nil
}

// all returns the sort keys of every batch handed to the handler, per invocation.
func (s *streamSpy) all() [][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.batches)
}

// pollerTable returns a fresh table and a poller of its stream invoking spy.
func pollerTable(t *testing.T, spy *streamSpy, opts PollerOptions) (*dynamodb.Client, string, *Poller) {
	t.Helper()
	db, tbl := testenv.DB(t)
	opts.Endpoint, opts.Table = testenv.Endpoint(), tbl
	if opts.DeadLetters == "" {
		opts.DeadLetters = filepath.Join(t.TempDir(), "dead-letters.jsonl")
	}
	if opts.RetryDelay == 0 {
		opts.RetryDelay = -1
	}
	if opts.Filter == nil {
		opts.NoFilter = true // these tests write items of their own, not invitations
	}
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	p, err := NewPoller(context.Background(), opts, spy.handle)
	if err != nil {
		t.Fatal(err)
	}
	return db, tbl, p
}

// putItems writes items with sort keys prefix000… in order.
func putItems(t *testing.T, db *dynamodb.Client, tbl, prefix string, n int) []string {
	t.Helper()
	var sks []string
	for i := range n {
		sk := fmt.Sprintf("%s%03d", prefix, i)
		_, err := db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(tbl), Item: map[string]types.AttributeValue{
			"PK": &types.AttributeValueMemberS{Value: "ACCOUNT#acc_poller"}, "SK": &types.AttributeValueMemberS{Value: sk}}})
		if err != nil {
			t.Fatal(err)
		}
		sks = append(sks, sk)
	}
	return sks
}

// decodedDeadLetters returns the records of the dead-letter entries dl, decoded.
func decodedDeadLetters(t *testing.T, dl []DeadLetter) []events.DynamoDBEventRecord {
	t.Helper()
	var out []events.DynamoDBEventRecord
	for _, d := range dl {
		recs, err := d.Decoded()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, recs...)
	}
	return out
}

func poll(t *testing.T, p *Poller) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := p.Poll(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestPollerDeliversInOrderInBatchesAsLambda(t *testing.T) {
	spy := &streamSpy{}
	db, _, p := pollerTable(t, spy, PollerOptions{BatchSize: 10, Timeout: 42 * time.Second, FunctionName: "send-emails"})
	want := putItems(t, db, p.opts.Table, "ITEM#", 25)
	poll(t, p)

	batches := spy.all()
	var got []string
	for _, b := range batches {
		if len(b) > 10 {
			t.Fatalf("a batch of %d records", len(b))
		}
		got = append(got, b...)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("delivered %v\nwant %v", got, want)
	}
	for i, lc := range spy.lcs {
		if lc == nil || lc.AwsRequestID == "" || lc.InvokedFunctionArn != "arn:aws:lambda:us-east-1:000000000000:function:send-emails" {
			t.Fatalf("invocation %d: Lambda context %+v", i, lc)
		}
		if spy.left[i] < 40*time.Second || spy.left[i] > 42*time.Second {
			t.Fatalf("invocation %d: %v to the deadline, want the 42 s timeout", i, spy.left[i])
		}
	}
	for _, arn := range spy.arns {
		if arn != p.StreamArn() || !strings.Contains(arn, "/stream/") {
			t.Fatalf("eventSourceARN %q, want the stream's ARN %s", arn, p.StreamArn())
		}
	}

	// Later writes come in the next poll, and nothing is delivered twice.
	more := putItems(t, db, p.opts.Table, "MORE#", 3)
	poll(t, p)
	poll(t, p)
	batches = spy.all()
	if last := batches[len(batches)-1]; !slices.Equal(last, more) || len(batches) != 4 {
		t.Fatalf("batches after more writes: %v", batches)
	}
	if st := p.Stats(); st.Records != 28 || st.Invocations != 4 || st.FunctionErrors != 0 || st.DeadLettered != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestPollerRetriesFromTheReportedRecord: a partial batch response checkpoints before the lowest
// reported record; the records before it are not delivered again.
func TestPollerRetriesFromTheReportedRecord(t *testing.T) {
	spy := &streamSpy{}
	failures := 2
	spy.behave = func(n int, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		for i, r := range ev.Records {
			if r.Change.Keys["SK"].String() == "ITEM#004" && failures > 0 {
				failures--
				// Report two records: the lowest decides, as in Lambda.
				return events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{
					{ItemIdentifier: ev.Records[len(ev.Records)-1].Change.SequenceNumber}, {ItemIdentifier: ev.Records[i].Change.SequenceNumber}}}, nil
			}
		}
		return events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{}}, nil
	}
	db, _, p := pollerTable(t, spy, PollerOptions{BatchSize: 10})
	sks := putItems(t, db, p.opts.Table, "ITEM#", 10)
	poll(t, p)

	batches := spy.all()
	want := [][]string{sks, sks[4:], sks[4:]}
	if len(batches) != len(want) {
		t.Fatalf("batches %v, want %v", batches, want)
	}
	for i := range want {
		if !slices.Equal(batches[i], want[i]) {
			t.Fatalf("batch %d = %v, want %v", i, batches[i], want[i])
		}
	}
	if st := p.Stats(); st.PartialFailure != 2 || st.Records != 10 || st.DeadLettered != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestPollerBisectsAndDeadLettersAPoisonRecord: a record that makes the function fail (an
// error or a panic) is isolated by bisecting and dead-lettered alone after the retries; every
// other record is delivered.
func TestPollerBisectsAndDeadLettersAPoisonRecord(t *testing.T) {
	for _, mode := range []string{"error", "panic"} {
		t.Run(mode, func(t *testing.T) {
			spy := &streamSpy{}
			delivered := map[string]int{}
			var mu sync.Mutex
			spy.behave = func(_ int, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
				for _, r := range ev.Records {
					if r.Change.Keys["SK"].String() == "ITEM#006" {
						if mode == "panic" {
							panic("poison record")
						}
						return events.DynamoDBEventResponse{}, errors.New("poison record")
					}
				}
				mu.Lock()
				for _, r := range ev.Records {
					delivered[r.Change.Keys["SK"].String()]++
				}
				mu.Unlock()
				return events.DynamoDBEventResponse{}, nil
			}
			db, _, p := pollerTable(t, spy, PollerOptions{BatchSize: 10, MaxRetries: 5})
			sks := putItems(t, db, p.opts.Table, "ITEM#", 12)
			poll(t, p)

			for _, sk := range sks {
				if want := map[bool]int{true: 0, false: 1}[sk == "ITEM#006"]; delivered[sk] != want {
					t.Errorf("%s delivered %d times, want %d", sk, delivered[sk], want)
				}
			}
			dl, err := ReadDeadLetters(p.DeadLetterFile())
			if err != nil {
				t.Fatal(err)
			}
			recs := decodedDeadLetters(t, dl)
			if len(dl) != 1 || len(recs) != 1 || recs[0].Change.Keys["SK"].String() != "ITEM#006" ||
				dl[0].BatchInfo.BatchSize != 1 || dl[0].BatchInfo.StreamArn != p.StreamArn() || !strings.Contains(dl[0].LastError, "poison") {
				t.Fatalf("dead letters %+v", dl)
			}
			if st := p.Stats(); st.Bisections == 0 || st.DeadLettered != 1 || st.Records != 12 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

// TestPollerDeadLettersAfterBoundedRetries: a record that keeps failing is retried MaxRetries
// times, then the rest of its batch goes to the dead-letter file and the stream moves on.
func TestPollerDeadLettersAfterBoundedRetries(t *testing.T) {
	spy := &streamSpy{}
	spy.behave = func(_ int, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		for _, r := range ev.Records {
			if r.Change.Keys["SK"].String() == "ITEM#002" {
				return events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{{ItemIdentifier: r.Change.SequenceNumber}}}, nil
			}
		}
		return events.DynamoDBEventResponse{}, nil
	}
	db, _, p := pollerTable(t, spy, PollerOptions{BatchSize: 5, MaxRetries: 3})
	sks := putItems(t, db, p.opts.Table, "ITEM#", 8)
	poll(t, p)

	batches := spy.all()
	// 1 first try + 3 retries of ITEM#002…004, then ITEM#005…007.
	if len(batches) != 5 || !slices.Equal(batches[4], sks[5:]) {
		t.Fatalf("batches %v", batches)
	}
	dl, err := ReadDeadLetters(p.DeadLetterFile())
	if err != nil {
		t.Fatal(err)
	}
	var dead []string
	recs := decodedDeadLetters(t, dl)
	for _, r := range recs {
		dead = append(dead, r.Change.Keys["SK"].String())
	}
	if len(dl) != 1 || !slices.Equal(dead, sks[2:5]) || dl[0].BatchInfo.StartSequenceNumber != recs[0].Change.SequenceNumber {
		t.Fatalf("dead letters %v (%+v)", dead, dl)
	}
	if st := p.Stats(); st.DeadLettered != 3 || st.PartialFailure != 4 || st.Records != 8 {
		t.Fatalf("stats %+v", st)
	}
}

// TestPollerTreatsInvalidAnswersAsFunctionErrors: as Lambda does, an item identifier that is
// empty or not in the batch fails the whole batch.
func TestPollerTreatsInvalidAnswersAsFunctionErrors(t *testing.T) {
	for name, id := range map[string]string{"empty": "", "unknown": "999999999999999999999"} {
		t.Run(name, func(t *testing.T) {
			spy := &streamSpy{}
			spy.behave = func(n int, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
				if n == 1 {
					return events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{{ItemIdentifier: id}}}, nil
				}
				return events.DynamoDBEventResponse{}, nil
			}
			db, _, p := pollerTable(t, spy, PollerOptions{BatchSize: 4, NoBisect: true})
			sks := putItems(t, db, p.opts.Table, "ITEM#", 4)
			poll(t, p)
			batches := spy.all()
			if len(batches) != 2 || !slices.Equal(batches[1], sks) {
				t.Fatalf("batches %v: want the whole batch again", batches)
			}
			if st := p.Stats(); st.FunctionErrors != 1 || st.Bisections != 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

func TestPollerTimesOutTheFunction(t *testing.T) {
	spy := &streamSpy{}
	spy.behave = func(n int, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		if n == 1 {
			time.Sleep(400 * time.Millisecond) // past the 150 ms timeout
		}
		return events.DynamoDBEventResponse{}, nil
	}
	db, _, p := pollerTable(t, spy, PollerOptions{Timeout: 150 * time.Millisecond, NoBisect: true})
	putItems(t, db, p.opts.Table, "ITEM#", 2)
	poll(t, p)
	if st := p.Stats(); st.FunctionErrors != 1 || st.Invocations != 2 || st.Records != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestStartPollerPollsUntilStopped(t *testing.T) {
	spy := &streamSpy{}
	db, tbl := testenv.DB(t)
	p, err := StartPoller(context.Background(), PollerOptions{Endpoint: testenv.Endpoint(), Table: tbl, PollInterval: 20 * time.Millisecond,
		DeadLetters: filepath.Join(t.TempDir(), "dl.jsonl"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, spy.handle)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	putItems(t, db, tbl, "ITEM#", 3)
	deadline := time.Now().Add(10 * time.Second)
	for p.Stats().Records < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("the background poller delivered %d of 3 records", p.Stats().Records)
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.Stop()
	p.Stop() // twice is fine
}

func TestNewPollerNeedsAStream(t *testing.T) {
	db, _ := testenv.DB(t)
	name := "nostream_" + strings.ReplaceAll(t.Name(), "/", "_")
	_, err := db.CreateTable(context.Background(), &dynamodb.CreateTableInput{TableName: aws.String(name), BillingMode: types.BillingModePayPerRequest,
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("PK"), KeyType: types.KeyTypeHash}},
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("PK"), AttributeType: types.ScalarAttributeTypeS}}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	spy := &streamSpy{}
	if _, err := NewPoller(context.Background(), PollerOptions{Endpoint: testenv.Endpoint(), Table: name, DeadLetters: "x"}, spy.handle); err == nil ||
		!strings.Contains(err.Error(), "no stream") {
		t.Fatalf("err = %v, want no stream", err)
	}
	if _, err := NewPoller(context.Background(), PollerOptions{Endpoint: testenv.Endpoint(), Table: "missing_table", DeadLetters: "x"}, spy.handle); err == nil {
		t.Fatal("a poller of a missing table")
	}
}

// TestPollerRepairsEmptiedMaps: DynamoDB Local writes an empty map attribute (put as {} or
// emptied by removing its last key, at any depth) as {} without a type key. The poller repairs
// it to {"M":{}}, so that the function decodes the record, and the records after it are
// delivered too.
func TestPollerRepairsEmptiedMaps(t *testing.T) {
	spy := &streamSpy{}
	var mu sync.Mutex
	var images []map[string]events.DynamoDBAttributeValue
	spy.behave = func(_ int, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range ev.Records {
			images = append(images, r.Change.NewImage)
		}
		return events.DynamoDBEventResponse{}, nil
	}
	db, tbl, p := pollerTable(t, spy, PollerOptions{BatchSize: 10})
	ctx := context.Background()
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	key := map[string]types.AttributeValue{"PK": s("ACCOUNT#acc_poller"), "SK": s("CONTACT#con_1")}
	_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(tbl), Item: map[string]types.AttributeValue{
		"PK": key["PK"], "SK": key["SK"],
		"sites":  &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"site_1": s("x")}},
		"nested": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"in": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"y": s("z")}}}},
		"empty":  &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(tbl), Key: key,
		UpdateExpression: aws.String("REMOVE sites.site_1, nested.#in.y"), ExpressionAttributeNames: map[string]string{"#in": "in"}})
	if err != nil {
		t.Fatal(err)
	}
	after := putItems(t, db, tbl, "ITEM#", 3)
	poll(t, p)

	if len(images) != 5 {
		t.Fatalf("%d records delivered, want 5", len(images))
	}
	for _, name := range []string{"sites", "empty"} {
		if v := images[1][name]; v.DataType() != events.DataTypeMap || len(v.Map()) != 0 {
			t.Errorf("%s = %+v, want an empty map", name, v)
		}
	}
	if in := images[1]["nested"].Map()["in"]; in.DataType() != events.DataTypeMap || len(in.Map()) != 0 {
		t.Errorf("nested.in = %+v, want an empty map", in)
	}
	var got []string
	for _, b := range spy.all() {
		got = append(got, b...)
	}
	if !slices.Equal(got[2:], after) {
		t.Errorf("records after the repaired ones: %v, want %v", got[2:], after)
	}
	if st := p.Stats(); st.Repaired != 5 || st.FunctionErrors != 0 || st.DeadLettered != 0 || st.Records != 5 {
		t.Errorf("stats %+v: want 5 repairs (empty in each image, sites and nested.in in the new image of the update)", st)
	}
}

// TestPollerAppliesTheEventSourceFilter: with the email function's filter (email.Source, the
// deployed mapping's), only inserted and modified invitation records reach the function; the
// others are checkpointed without an invocation.
func TestPollerAppliesTheEventSourceFilter(t *testing.T) {
	spy := &streamSpy{}
	db, tbl, p := pollerTable(t, spy, PollerOptions{BatchSize: 10, Filter: email.Source.Filter})
	ctx := context.Background()
	putItems(t, db, tbl, "CONTACT#", 2)
	invs := putItems(t, db, tbl, "INVITE#inv_", 2)
	_, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(tbl), Key: map[string]types.AttributeValue{
		"PK": &types.AttributeValueMemberS{Value: "ACCOUNT#acc_poller"}, "SK": &types.AttributeValueMemberS{Value: invs[0]}},
		UpdateExpression: aws.String("SET sendCount = :n"), ExpressionAttributeValues: map[string]types.AttributeValue{":n": &types.AttributeValueMemberN{Value: "2"}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(tbl), Key: map[string]types.AttributeValue{
		"PK": &types.AttributeValueMemberS{Value: "ACCOUNT#acc_poller"}, "SK": &types.AttributeValueMemberS{Value: invs[1]}}})
	if err != nil {
		t.Fatal(err)
	}
	putItems(t, db, tbl, "ITEM#", 1)
	poll(t, p)
	var got []string
	for _, b := range spy.all() {
		got = append(got, b...)
	}
	if want := []string{invs[0], invs[1], invs[0]}; !slices.Equal(got, want) {
		t.Fatalf("delivered %v, want %v (inserts and the modify of invitations only)", got, want)
	}
	if st := p.Stats(); st.Filtered != 4 || st.Records != 7 {
		t.Fatalf("stats %+v: want 4 filtered of 7", st)
	}
	// A second poll finds nothing new: the filtered records were checkpointed.
	poll(t, p)
	if n := len(spy.all()); n != 1 {
		t.Fatalf("%d invocations after a second poll, want 1", n)
	}
}

// TestPollerDeadLettersAnUndecodableRecord: a record the function's event type cannot decode
// (here made so on purpose) fails its invocations like any poison record: it is isolated,
// retried MaxRetries times and dead-lettered as it came; the records after it are delivered.
func TestPollerDeadLettersAnUndecodableRecord(t *testing.T) {
	spy := &streamSpy{}
	db, tbl, p := pollerTable(t, spy, PollerOptions{BatchSize: 10, MaxRetries: 3})
	p.corrupt = func(raw json.RawMessage) json.RawMessage {
		return bytes.Replace(raw, []byte(`{"S":"ITEM#002"}`), []byte(`{"S":"ITEM#002","N":"1"}`), 1)
	}
	sks := putItems(t, db, tbl, "ITEM#", 6)
	poll(t, p)
	delivered := map[string]int{}
	for _, b := range spy.all() {
		for _, sk := range b {
			delivered[sk]++
		}
	}
	for _, sk := range sks {
		if want := map[bool]int{true: 0, false: 1}[sk == "ITEM#002"]; delivered[sk] != want {
			t.Errorf("%s delivered %d times, want %d", sk, delivered[sk], want)
		}
	}
	dl, err := ReadDeadLetters(p.DeadLetterFile())
	if err != nil {
		t.Fatal(err)
	}
	if len(dl) != 1 || len(dl[0].Records) != 1 || !bytes.Contains(dl[0].Records[0], []byte("ITEM#002")) {
		t.Fatalf("dead letters %+v", dl)
	}
	if _, err := dl[0].Decoded(); err == nil {
		t.Fatal("the dead-lettered record decodes: the fault was not injected")
	}
	st := p.Stats()
	if st.DeadLettered != 1 || st.Records != 6 || st.FunctionErrors < 4 {
		t.Fatalf("stats %+v: want 1 dead-lettered after 1 + 3 failed invocations", st)
	}
}
