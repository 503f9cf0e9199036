package local

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"rollcall/infra/rawbody"
	"rollcall/shared/email"
)

// StreamHandler is a Lambda handler of DynamoDB stream batches with partial batch responses,
// such as the email function's (*email.Function).Handle.
type StreamHandler func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error)

// Defaults of PollerOptions. The batch size, the retries and the filter are the deployed event
// source mapping's, from the one definition infra/stack reads too (email.Source).
var (
	DefaultPollerBatchSize  = email.Source.BatchSize
	DefaultPollerMaxRetries = email.Source.RetryAttempts
)

// More defaults of PollerOptions.
const (
	DefaultPollerTimeout    = 60 * time.Second
	DefaultPollInterval     = 250 * time.Millisecond
	DefaultPollerRetryDelay = 500 * time.Millisecond
	DeadLetterFileName      = "dead-letters.jsonl" // in StateDir
)

// PollerOptions says which stream the poller reads and how it invokes the function.
type PollerOptions struct {
	Endpoint     string         // DynamoDB Local's URL (required)
	Table        string         // the table whose stream is read (required)
	FunctionName string         // the function's name in request contexts and dead letters; "" means send-emails
	BatchSize    int            // most records per invocation; 0 means DefaultPollerBatchSize
	MaxRetries   int            // retries of a failing batch before it is dead-lettered; 0 means DefaultPollerMaxRetries, <0 none
	NoBisect     bool           // do not split a batch in two after a function error
	Filter       map[string]any // the event filter pattern records must match; nil means email.Source.Filter
	NoFilter     bool           // hand every record to the function (tests of the poller itself)
	Timeout      time.Duration  // the function's timeout (the handler's context deadline); 0 means DefaultPollerTimeout
	PollInterval time.Duration  // pause between polls once the stream is drained; 0 means DefaultPollInterval
	RetryDelay   time.Duration  // first pause before a retry, doubling to 10 s; 0 means DefaultPollerRetryDelay, <0 none
	Latest       bool           // start at the stream's end (LATEST) instead of its oldest record (TRIM_HORIZON)
	DeadLetters  string         // dead-letter file (JSON lines); "" means <repository root>/.local/dead-letters.jsonl
	Logger       *slog.Logger   // nil means slog.Default()
}

// PollerStats counts what a poller has done.
type PollerStats struct {
	Invocations    int64 // calls of the handler
	Records        int64 // records checkpointed (done or dead-lettered)
	PartialFailure int64 // answers that reported failed records
	FunctionErrors int64 // errors, panics, time-outs and invalid answers
	Bisections     int64 // batches split in two after a function error
	DeadLettered   int64 // records written to the dead-letter file
	Filtered       int64 // records dropped by the filter (checkpointed without an invocation)
	Repaired       int64 // attribute values of DynamoDB Local repaired before delivery (see fixImage)
}

// Poller feeds a table's stream in DynamoDB Local to a stream handler as Lambda's event source
// mapping does for the deployed function:
//
//   - each record of a GetRecords answer is decoded on its own, DynamoDB Local's quirks are
//     repaired (normalizeRecord), and the event source's filter (email.Source.Filter, the
//     deployed mapping's) is applied: records that do not match are checkpointed without an
//     invocation. A record the function's event type still cannot decode fails its invocations
//     like any poison record, and ends in the dead-letter file; the records after it go on;
//   - each shard is read in order (a child shard after its parent), in batches of at most
//     BatchSize records, and the handler is invoked in-process through lambda.NewHandler with a
//     Lambda context and the function's timeout as deadline, with the same JSON Lambda sends;
//   - a partial batch response (ReportBatchItemFailures) checkpoints before the lowest reported
//     sequence number and retries from there; an empty or null list is success; an identifier
//     that is empty or not in the batch makes the whole batch a failure, as in Lambda;
//   - a function error (an error, a panic, a time-out) fails the whole batch, which is split in
//     two (BisectBatchOnFunctionError) and retried half by half;
//   - retries back off from RetryDelay; after MaxRetries retries of the record at the head of a
//     batch (a partial failure that moves the checkpoint starts the count anew) the batch is
//     written to the dead-letter file with Lambda's on-failure fields and the records themselves,
//     reported in the log, and skipped.
//
// It keeps its checkpoints in memory only: a new poller starts at the stream's oldest record
// (or its end, with Latest). The email function's send records make re-reading harmless.
type Poller struct {
	opts      PollerOptions
	handler   lambda.Handler
	streams   *dynamodbstreams.Client
	streamArn string
	fnArn     string
	log       *slog.Logger
	shards    map[string]*shard
	order     []string          // shard ids in the order DescribeStream listed them
	first     bool              // the first poll: Latest applies to the shards found now
	source    email.EventSource // its Filter is the one applied
	stats     struct {
		invocations, records, partial, errors, bisections, deadLettered, filtered, repaired atomic.Int64
	}
	dlqMu sync.Mutex

	cancel context.CancelFunc
	done   chan struct{}

	// corrupt, set by tests, rewrites a record's JSON before it is decoded (fault injection).
	corrupt func(raw json.RawMessage) json.RawMessage
}

type shard struct {
	id, parent string
	iterator   *string
	checkpoint string // sequence number of the last record done or dead-lettered
	latest     bool   // start at LATEST (only shards open when a Latest poller starts)
	finished   bool   // closed and read to its end
}

// NewPoller returns a poller of opts.Table's stream that invokes h. It returns an error when an
// option is missing or the table has no stream. Call Poll to process what the stream holds, or
// Run (or StartPoller) to keep polling.
func NewPoller(ctx context.Context, opts PollerOptions, h StreamHandler) (*Poller, error) {
	if opts.Endpoint == "" || opts.Table == "" || h == nil {
		return nil, errors.New("local: the poller needs DynamoDB Local's endpoint, the table and a handler")
	}
	if opts.FunctionName == "" {
		opts.FunctionName = "send-emails"
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultPollerBatchSize
	}
	switch {
	case opts.MaxRetries == 0:
		opts.MaxRetries = DefaultPollerMaxRetries
	case opts.MaxRetries < 0:
		opts.MaxRetries = 0
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultPollerTimeout
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	switch {
	case opts.RetryDelay == 0:
		opts.RetryDelay = DefaultPollerRetryDelay
	case opts.RetryDelay < 0:
		opts.RetryDelay = 0
	}
	if opts.DeadLetters == "" {
		root, err := RepoRoot()
		if err != nil {
			return nil, err
		}
		opts.DeadLetters = filepath.Join(root, StateDir, DeadLetterFileName)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	source := email.EventSource{Filter: opts.Filter}
	if source.Filter == nil {
		source.Filter = email.Source.Filter
	}
	if opts.NoFilter {
		source.Filter = map[string]any{}
	}
	if err := source.CheckFilter(); err != nil {
		return nil, fmt.Errorf("local: poller: %w", err)
	}
	desc, err := DynamoDBClient(opts.Endpoint).DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(opts.Table)})
	if err != nil {
		return nil, fmt.Errorf("local: poller: describe table %s: %w", opts.Table, err)
	}
	arn := aws.ToString(desc.Table.LatestStreamArn)
	if arn == "" {
		return nil, fmt.Errorf("local: poller: table %s has no stream", opts.Table)
	}
	return &Poller{
		opts:      opts,
		source:    source,
		handler:   lambda.NewHandler(h),
		streamArn: arn,
		fnArn:     "arn:aws:lambda:" + Region + ":000000000000:function:" + opts.FunctionName,
		log:       opts.Logger.With("component", "stream-poller", "function", opts.FunctionName),
		shards:    map[string]*shard{},
		first:     true,
		streams: dynamodbstreams.New(dynamodbstreams.Options{
			Region:       Region,
			BaseEndpoint: aws.String(opts.Endpoint),
			Credentials:  credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, ""),
			HTTPClient:   rawbody.Client{Base: http.DefaultClient},
		}),
	}, nil
}

// StartPoller starts a poller of opts.Table's stream that invokes h, polling in the background
// until ctx ends or Stop is called. It returns NewPoller's error.
func StartPoller(ctx context.Context, opts PollerOptions, h StreamHandler) (*Poller, error) {
	p, err := NewPoller(ctx, opts, h)
	if err != nil {
		return nil, err
	}
	ctx, p.cancel = context.WithCancel(ctx)
	p.done = make(chan struct{})
	go func() {
		defer close(p.done)
		p.Run(ctx)
	}()
	o := p.opts // the settings in use, defaults applied
	filter := "none"
	if !o.NoFilter {
		filter = p.source.FilterJSON()
	}
	p.log.Info("polling the table's stream", "table", o.Table, "stream", p.streamArn,
		"batchSize", o.BatchSize, "maxRetries", o.MaxRetries, "bisect", !o.NoBisect, "timeout", o.Timeout.String(),
		"retryDelay", o.RetryDelay.String(), "filter", filter, "deadLetters", o.DeadLetters)
	return p, nil
}

// Stop ends a poller started by StartPoller and waits until its current invocation is over.
func (p *Poller) Stop() {
	if p.cancel != nil {
		p.cancel()
		<-p.done
	}
}

// StreamArn is the ARN of the stream the poller reads.
func (p *Poller) StreamArn() string { return p.streamArn }

// DeadLetterFile is the file dead-lettered batches are appended to.
func (p *Poller) DeadLetterFile() string { return p.opts.DeadLetters }

// Stats returns what the poller has done so far.
func (p *Poller) Stats() PollerStats {
	return PollerStats{
		Invocations:    p.stats.invocations.Load(),
		Records:        p.stats.records.Load(),
		PartialFailure: p.stats.partial.Load(),
		FunctionErrors: p.stats.errors.Load(),
		Bisections:     p.stats.bisections.Load(),
		DeadLettered:   p.stats.deadLettered.Load(),
		Filtered:       p.stats.filtered.Load(),
		Repaired:       p.stats.repaired.Load(),
	}
}

// Run polls until ctx ends: it processes what the stream holds, waits PollInterval, and again.
// Stream errors (DynamoDB Local restarting, say) are logged and retried.
func (p *Poller) Run(ctx context.Context) {
	wait := p.opts.PollInterval
	for {
		if err := p.Poll(ctx); err != nil && ctx.Err() == nil {
			p.log.Warn("stream poll failed; retrying", "error", err.Error())
			wait = min(2*wait, 10*time.Second)
		} else {
			wait = p.opts.PollInterval
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// Poll reads every shard of the stream up to its current end and delivers what it finds,
// returning once all of it is done or dead-lettered. Poll must not run concurrently with itself
// (or Run). It returns the first stream error, or ctx's.
func (p *Poller) Poll(ctx context.Context) error {
	if err := p.discover(ctx); err != nil {
		return err
	}
	for progressed := true; progressed; {
		progressed = false
		for _, id := range p.order {
			sh := p.shards[id]
			if sh.finished {
				continue
			}
			if parent, ok := p.shards[sh.parent]; ok && !parent.finished {
				continue // a child waits for its parent, as in Lambda
			}
			if err := p.drain(ctx, sh); err != nil {
				return err
			}
			if sh.finished {
				progressed = true // its children may go now
			}
		}
	}
	return nil
}

// discover adds the stream's shards the poller does not know yet.
func (p *Poller) discover(ctx context.Context) error {
	in := &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(p.streamArn)}
	for {
		out, err := p.streams.DescribeStream(ctx, in)
		if err != nil {
			return fmt.Errorf("describe stream: %w", err)
		}
		for _, s := range out.StreamDescription.Shards {
			id := aws.ToString(s.ShardId)
			if _, ok := p.shards[id]; ok {
				continue
			}
			open := s.SequenceNumberRange == nil || s.SequenceNumberRange.EndingSequenceNumber == nil
			p.shards[id] = &shard{id: id, parent: aws.ToString(s.ParentShardId), latest: p.first && p.opts.Latest && open,
				finished: p.first && p.opts.Latest && !open}
			p.order = append(p.order, id)
		}
		if out.StreamDescription.LastEvaluatedShardId == nil {
			break
		}
		in.ExclusiveStartShardId = out.StreamDescription.LastEvaluatedShardId
	}
	p.first = false
	return nil
}

// drain reads shard sh up to its current end, delivering each read as one batch.
func (p *Poller) drain(ctx context.Context, sh *shard) error {
	for {
		if sh.iterator == nil {
			if err := p.position(ctx, sh); err != nil {
				return err
			}
		}
		raw := &rawbody.Body{}
		out, err := p.streams.GetRecords(rawbody.With(ctx, raw), &dynamodbstreams.GetRecordsInput{
			ShardIterator: sh.iterator, Limit: aws.Int32(int32(p.opts.BatchSize))})
		var expired *streamtypes.ExpiredIteratorException
		var trimmed *streamtypes.TrimmedDataAccessException
		switch {
		case errors.As(err, &expired):
			sh.iterator = nil // positioned again after the checkpoint
			continue
		case errors.As(err, &trimmed):
			p.log.Warn("records were trimmed from the stream before they were read", "shard", sh.id)
			sh.iterator, sh.checkpoint = nil, ""
			continue
		case err != nil:
			return fmt.Errorf("get records: %w", err)
		}
		batch, last, err := p.decode(raw.Bytes, out.Records)
		if err != nil {
			return err
		}
		if len(batch) > 0 {
			if err := p.deliver(ctx, sh, batch, 0); err != nil {
				sh.iterator = nil // read again after the checkpoint
				return err
			}
		}
		if last != "" {
			sh.checkpoint = last // the records the filter dropped are done too
		}
		sh.iterator = out.NextShardIterator
		if sh.iterator == nil {
			sh.finished = true
			return nil
		}
		if len(out.Records) == 0 {
			return nil // caught up with the open shard
		}
	}
}

// decode splits a GetRecords answer into its records, each decoded and repaired on its own
// (normalizeRecord), and returns those that pass the filter, and the sequence number of the
// answer's last record ("" for none). A record that cannot be read at all (no sequence number)
// is dead-lettered at once: it cannot be checkpointed, retried or delivered. It returns an error
// only when the answer itself is not the JSON the SDK decoded.
func (p *Poller) decode(body []byte, sdkRecords []streamtypes.Record) ([]streamRecord, string, error) {
	var page struct {
		Records []json.RawMessage `json:"Records"`
	}
	if err := json.Unmarshal(body, &page); err != nil || len(page.Records) != len(sdkRecords) {
		return nil, "", fmt.Errorf("get records answer: %d records in its JSON, %d decoded by the SDK (%v)",
			len(page.Records), len(sdkRecords), err)
	}
	var keep []streamRecord
	last := ""
	for i, raw := range page.Records {
		seq := ""
		if sdkRecords[i].Dynamodb != nil {
			seq = aws.ToString(sdkRecords[i].Dynamodb.SequenceNumber)
		}
		if p.corrupt != nil {
			raw = p.corrupt(raw)
		}
		rec, fixed, err := normalizeRecord(raw, p.streamArn)
		if err != nil {
			p.log.Error("stream record cannot be read: dead-lettered", "sequenceNumber", seq, "error", err.Error())
			p.deadLetterRaw(seq, raw, err)
			if seq != "" {
				last = seq
			}
			continue
		}
		last = rec.seq
		p.stats.repaired.Add(int64(fixed))
		ok, err := p.source.Matches(rec.body)
		if err != nil {
			return nil, "", err // CheckFilter has refused such patterns already
		}
		if !ok {
			p.stats.filtered.Add(1)
			p.stats.records.Add(1)
			continue
		}
		if err := decodeCheck(rec.raw); err != nil {
			p.log.Warn("stream record still cannot be decoded after repair: the function will fail on it",
				"sequenceNumber", rec.seq, "sk", rec.sk, "error", err.Error())
		}
		rec.body = nil
		keep = append(keep, rec)
	}
	return keep, last, nil
}

// position gets an iterator for sh: after its checkpoint, or at its start (or the stream's end).
func (p *Poller) position(ctx context.Context, sh *shard) error {
	in := &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(p.streamArn), ShardId: aws.String(sh.id),
		ShardIteratorType: streamtypes.ShardIteratorTypeTrimHorizon}
	switch {
	case sh.checkpoint != "":
		in.ShardIteratorType, in.SequenceNumber = streamtypes.ShardIteratorTypeAfterSequenceNumber, aws.String(sh.checkpoint)
	case sh.latest:
		in.ShardIteratorType = streamtypes.ShardIteratorTypeLatest
		sh.latest = false
	}
	out, err := p.streams.GetShardIterator(ctx, in)
	if err != nil {
		return fmt.Errorf("get shard iterator: %w", err)
	}
	sh.iterator = out.ShardIterator
	return nil
}

// deliver invokes the handler with batch until every record of it is done or dead-lettered;
// retries is how often the batch's head has failed already. It returns ctx's error only.
func (p *Poller) deliver(ctx context.Context, sh *shard, batch []streamRecord, retries int) error {
	for len(batch) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		failedAt, err := p.invoke(ctx, batch)
		if ctx.Err() != nil {
			return ctx.Err() // the stack is stopping: the batch is read again next time
		}
		switch {
		case err == nil && failedAt < 0:
			p.markDone(sh, batch)
			return nil
		case err == nil:
			p.stats.partial.Add(1)
			if failedAt > 0 {
				p.markDone(sh, batch[:failedAt])
				batch, retries = batch[failedAt:], 0
			}
			retries++
			p.log.Info("partial batch failure: retrying from the first failed record",
				"shard", sh.id, "sequenceNumber", batch[0].seq, "records", len(batch), "retry", retries)
		default:
			p.stats.errors.Add(1)
			retries++
			p.log.Warn("function error: the whole batch failed", "shard", sh.id, "records", len(batch),
				"retry", retries, "error", err.Error())
			if retries <= p.opts.MaxRetries && !p.opts.NoBisect && len(batch) > 1 {
				p.stats.bisections.Add(1)
				half := len(batch) / 2
				p.log.Info("bisecting the batch", "records", len(batch), "halves", []int{half, len(batch) - half})
				if !p.pause(ctx, retries) {
					return ctx.Err()
				}
				if err := p.deliver(ctx, sh, batch[:half], retries); err != nil {
					return err
				}
				batch = batch[half:]
				continue
			}
		}
		if retries > p.opts.MaxRetries {
			p.deadLetter(sh, batch, retries, err)
			p.markDone(sh, batch)
			return nil
		}
		if !p.pause(ctx, retries) {
			return ctx.Err()
		}
	}
	return nil
}

// markDone checkpoints after records.
func (p *Poller) markDone(sh *shard, records []streamRecord) {
	sh.checkpoint = records[len(records)-1].seq
	p.stats.records.Add(int64(len(records)))
}

// pause waits before retry number retries: RetryDelay doubled per retry, at most 10 s.
func (p *Poller) pause(ctx context.Context, retries int) bool {
	d := min(p.opts.RetryDelay<<min(retries-1, 10), 10*time.Second)
	if d <= 0 {
		return ctx.Err() == nil
	}
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// invoke calls the handler once with batch, as Lambda does: the event's JSON, a Lambda context,
// the function's timeout. It returns the index of the lowest failed record reported (-1 for
// none), or an error for a function error: an error or panic of the handler, a time-out, or an
// answer Lambda would not accept.
func (p *Poller) invoke(ctx context.Context, batch []streamRecord) (int, error) {
	var payload bytes.Buffer // the event as Lambda sends it: {"Records":[…]}
	payload.WriteString(`{"Records":[`)
	for i, r := range batch {
		if i > 0 {
			payload.WriteByte(',')
		}
		payload.Write(r.raw)
	}
	payload.WriteString(`]}`)
	p.stats.invocations.Add(1)
	// Stopping the poller does not cut an invocation short (Lambda would not either): one cut
	// between SES's acceptance and the send record would send that email again.
	ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.opts.Timeout)
	defer cancel()
	requestID := pollerRequestID()
	ictx = lambdacontext.NewContext(ictx, &lambdacontext.LambdaContext{AwsRequestID: requestID, InvokedFunctionArn: p.fnArn})
	type result struct {
		out []byte
		err error
	}
	resCh := make(chan result, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				resCh <- result{err: fmt.Errorf("the function panicked: %v", r)}
			}
		}()
		out, err := p.handler.Invoke(ictx, payload.Bytes())
		resCh <- result{out, err}
	}()
	var res result
	select {
	case res = <-resCh:
	case <-ictx.Done():
		// Lambda would end the process here. The handler's context is cancelled; give it a
		// moment to return so that its retry does not overlap with it.
		select {
		case <-resCh:
		case <-time.After(5 * time.Second):
			p.log.Error("the function ignores its deadline and still runs", "requestId", requestID)
		}
		return 0, fmt.Errorf("task timed out after %v", p.opts.Timeout)
	}
	if res.err != nil {
		return 0, res.err
	}
	var resp struct {
		BatchItemFailures []struct {
			ItemIdentifier *string `json:"itemIdentifier"`
		} `json:"batchItemFailures"`
	}
	if len(bytes.TrimSpace(res.out)) > 0 && !bytes.Equal(bytes.TrimSpace(res.out), []byte("null")) {
		if err := json.Unmarshal(res.out, &resp); err != nil {
			return 0, fmt.Errorf("invalid function response %.200q: %w", res.out, err)
		}
	}
	lowest := -1
	for _, f := range resp.BatchItemFailures {
		id := aws.ToString(f.ItemIdentifier)
		i := slices.IndexFunc(batch, func(r streamRecord) bool { return r.seq == id })
		if id == "" || i < 0 {
			return 0, fmt.Errorf("invalid batch item failure %q: not a sequence number of the batch", id)
		}
		if lowest < 0 || i < lowest {
			lowest = i
		}
	}
	return lowest, nil
}

// deadLetter appends batch to the dead-letter file, with the fields of Lambda's on-failure
// record for stream sources (which names the records; here they are included too).
func (p *Poller) deadLetter(sh *shard, batch []streamRecord, retries int, lastErr error) {
	p.stats.deadLettered.Add(int64(len(batch)))
	reason := "partial batch failure"
	if lastErr != nil {
		reason = lastErr.Error()
	}
	first, last := batch[0], batch[len(batch)-1]
	raws := make([]json.RawMessage, len(batch))
	for i, r := range batch {
		raws[i] = r.raw
	}
	p.writeDeadLetter(sh.id, first.seq, last.seq, first.at, last.at, raws, retries, reason)
	p.log.Error("retries exhausted: batch dead-lettered", "file", p.opts.DeadLetters, "shard", sh.id,
		"startSequenceNumber", first.seq, "endSequenceNumber", last.seq, "records", len(batch),
		"lastError", reason)
}

// deadLetterRaw dead-letters one record that cannot be read at all.
func (p *Poller) deadLetterRaw(seq string, raw json.RawMessage, err error) {
	p.stats.deadLettered.Add(1)
	p.stats.records.Add(1)
	p.writeDeadLetter("", seq, seq, time.Time{}, time.Time{}, []json.RawMessage{raw}, 0, err.Error())
}

// writeDeadLetter appends one entry to the dead-letter file.
func (p *Poller) writeDeadLetter(shardID, firstSeq, lastSeq string, firstAt, lastAt time.Time, records []json.RawMessage,
	retries int, reason string) {
	stamp := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	entry := map[string]any{
		"version":   "1.0",
		"timestamp": time.Now().UTC().Format(time.RFC3339Nano),
		"requestContext": map[string]any{
			"requestId":              pollerRequestID(),
			"functionArn":            p.fnArn,
			"condition":              "RetryAttemptsExhausted",
			"approximateInvokeCount": retries,
		},
		"DDBStreamBatchInfo": map[string]any{
			"shardId":                         shardID,
			"startSequenceNumber":             firstSeq,
			"endSequenceNumber":               lastSeq,
			"approximateArrivalOfFirstRecord": stamp(firstAt),
			"approximateArrivalOfLastRecord":  stamp(lastAt),
			"batchSize":                       len(records),
			"streamArn":                       p.streamArn,
		},
		"lastError": reason,
		"records":   records,
	}
	line, err := json.Marshal(entry)
	if err == nil {
		err = p.appendDeadLetter(append(line, '\n'))
	}
	if err != nil {
		p.log.Error("cannot write the dead-letter file: the batch is dropped", "file", p.opts.DeadLetters, "error", err.Error())
	}
}

func (p *Poller) appendDeadLetter(line []byte) error {
	p.dlqMu.Lock()
	defer p.dlqMu.Unlock()
	if err := os.MkdirAll(filepath.Dir(p.opts.DeadLetters), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(p.opts.DeadLetters, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(line); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ReadDeadLetters returns the batches in dead-letter file path (none when it does not exist):
// each entry's stream batch information and records. It returns the file or decoding error.
func ReadDeadLetters(path string) ([]DeadLetter, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []DeadLetter
	dec := json.NewDecoder(bytes.NewReader(b))
	for {
		var d DeadLetter
		if err := dec.Decode(&d); errors.Is(err, io.EOF) {
			return out, nil
		} else if err != nil {
			return out, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, d)
	}
}

// DeadLetter is one entry of the dead-letter file.
type DeadLetter struct {
	Timestamp string `json:"timestamp"`
	BatchInfo struct {
		ShardID             string `json:"shardId"`
		StartSequenceNumber string `json:"startSequenceNumber"`
		EndSequenceNumber   string `json:"endSequenceNumber"`
		BatchSize           int    `json:"batchSize"`
		StreamArn           string `json:"streamArn"`
	} `json:"DDBStreamBatchInfo"`
	LastError string            `json:"lastError"`
	Records   []json.RawMessage `json:"records"` // as handed to the function (a record that cannot be decoded too)
}

// Decoded returns the entry's records decoded as the function receives them. It returns the
// decoding error of the first record that cannot be decoded.
func (d DeadLetter) Decoded() ([]events.DynamoDBEventRecord, error) {
	out := make([]events.DynamoDBEventRecord, 0, len(d.Records))
	for i, raw := range d.Records {
		var r events.DynamoDBEventRecord
		if err := json.Unmarshal(raw, &r); err != nil {
			return out, fmt.Errorf("dead letter record %d: %w", i, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func pollerRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
