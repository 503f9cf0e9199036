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
)

// StreamHandler is a Lambda handler of DynamoDB stream batches with partial batch responses,
// such as the email function's (*email.Function).Handle.
type StreamHandler func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error)

// Defaults of PollerOptions; they mirror the deployed event source mapping (infra/stack).
const (
	DefaultPollerBatchSize  = 10
	DefaultPollerMaxRetries = 5
	DefaultPollerTimeout    = 60 * time.Second
	DefaultPollInterval     = 250 * time.Millisecond
	DefaultPollerRetryDelay = 500 * time.Millisecond
	DeadLetterFileName      = "dead-letters.jsonl" // in StateDir
)

// PollerOptions says which stream the poller reads and how it invokes the function.
type PollerOptions struct {
	Endpoint     string        // DynamoDB Local's URL (required)
	Table        string        // the table whose stream is read (required)
	FunctionName string        // the function's name in request contexts and dead letters; "" means send-emails
	BatchSize    int           // most records per invocation; 0 means DefaultPollerBatchSize
	MaxRetries   int           // retries of a failing batch before it is dead-lettered; 0 means DefaultPollerMaxRetries, <0 none
	NoBisect     bool          // do not split a batch in two after a function error
	Timeout      time.Duration // the function's timeout (the handler's context deadline); 0 means DefaultPollerTimeout
	PollInterval time.Duration // pause between polls once the stream is drained; 0 means DefaultPollInterval
	RetryDelay   time.Duration // first pause before a retry, doubling to 10 s; 0 means DefaultPollerRetryDelay, <0 none
	Latest       bool          // start at the stream's end (LATEST) instead of its oldest record (TRIM_HORIZON)
	DeadLetters  string        // dead-letter file (JSON lines); "" means <repository root>/.local/dead-letters.jsonl
	Logger       *slog.Logger  // nil means slog.Default()
}

// PollerStats counts what a poller has done.
type PollerStats struct {
	Invocations    int64 // calls of the handler
	Records        int64 // records checkpointed (done or dead-lettered)
	PartialFailure int64 // answers that reported failed records
	FunctionErrors int64 // errors, panics, time-outs and invalid answers
	Bisections     int64 // batches split in two after a function error
	DeadLettered   int64 // records written to the dead-letter file
}

// Poller feeds a table's stream in DynamoDB Local to a stream handler as Lambda's event source
// mapping does for the deployed function:
//
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
	order     []string // shard ids in the order DescribeStream listed them
	first     bool     // the first poll: Latest applies to the shards found now
	stats     struct{ invocations, records, partial, errors, bisections, deadLettered atomic.Int64 }
	dlqMu     sync.Mutex

	cancel context.CancelFunc
	done   chan struct{}
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
			HTTPClient:   rawBodyClient{http.DefaultClient},
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
	p.log.Info("polling the table's stream", "table", opts.Table, "stream", p.streamArn,
		"batchSize", opts.BatchSize, "maxRetries", opts.MaxRetries, "deadLetters", opts.DeadLetters)
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
		raw := &rawBody{}
		out, err := p.streams.GetRecords(withRawBody(ctx, raw), &dynamodbstreams.GetRecordsInput{
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
		var batch events.DynamoDBEvent
		if err := json.Unmarshal(raw.body, &batch); err != nil || len(batch.Records) != len(out.Records) {
			return fmt.Errorf("decode get records answer (%d records): %v", len(out.Records), err)
		}
		for i := range batch.Records {
			batch.Records[i].EventSourceArn = p.streamArn // the only field Lambda adds
		}
		if len(batch.Records) > 0 {
			if err := p.deliver(ctx, sh, batch.Records, 0); err != nil {
				sh.iterator = nil // read again after the checkpoint
				return err
			}
		}
		sh.iterator = out.NextShardIterator
		if sh.iterator == nil {
			sh.finished = true
			return nil
		}
		if len(batch.Records) == 0 {
			return nil // caught up with the open shard
		}
	}
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
func (p *Poller) deliver(ctx context.Context, sh *shard, batch []events.DynamoDBEventRecord, retries int) error {
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
				"shard", sh.id, "sequenceNumber", batch[0].Change.SequenceNumber, "records", len(batch), "retry", retries)
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
func (p *Poller) markDone(sh *shard, records []events.DynamoDBEventRecord) {
	sh.checkpoint = records[len(records)-1].Change.SequenceNumber
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
func (p *Poller) invoke(ctx context.Context, batch []events.DynamoDBEventRecord) (int, error) {
	payload, err := json.Marshal(events.DynamoDBEvent{Records: batch})
	if err != nil {
		return 0, fmt.Errorf("encode event: %w", err)
	}
	p.stats.invocations.Add(1)
	ictx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
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
		out, err := p.handler.Invoke(ictx, payload)
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
		i := slices.IndexFunc(batch, func(r events.DynamoDBEventRecord) bool { return r.Change.SequenceNumber == id })
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
func (p *Poller) deadLetter(sh *shard, batch []events.DynamoDBEventRecord, retries int, lastErr error) {
	p.stats.deadLettered.Add(int64(len(batch)))
	reason := "partial batch failure"
	if lastErr != nil {
		reason = lastErr.Error()
	}
	first, last := batch[0].Change, batch[len(batch)-1].Change
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
			"shardId":                         sh.id,
			"startSequenceNumber":             first.SequenceNumber,
			"endSequenceNumber":               last.SequenceNumber,
			"approximateArrivalOfFirstRecord": first.ApproximateCreationDateTime.UTC().Format(time.RFC3339),
			"approximateArrivalOfLastRecord":  last.ApproximateCreationDateTime.UTC().Format(time.RFC3339),
			"batchSize":                       len(batch),
			"streamArn":                       p.streamArn,
		},
		"lastError": reason,
		"records":   batch,
	}
	line, err := json.Marshal(entry)
	if err == nil {
		err = p.appendDeadLetter(append(line, '\n'))
	}
	if err != nil {
		p.log.Error("cannot write the dead-letter file: the batch is dropped", "file", p.opts.DeadLetters, "error", err.Error())
	}
	p.log.Error("retries exhausted: batch dead-lettered", "file", p.opts.DeadLetters, "shard", sh.id,
		"startSequenceNumber", first.SequenceNumber, "endSequenceNumber", last.SequenceNumber, "records", len(batch),
		"lastError", reason)
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
	LastError string                       `json:"lastError"`
	Records   []events.DynamoDBEventRecord `json:"records"`
}

func pollerRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// rawBody receives the JSON of one GetRecords answer. The poller hands Lambda's JSON to the
// handler: the SDK's decoded records would have to be converted back, type by type, whereas
// the answer's Records array is already the event's.
type rawBody struct{ body []byte }

type rawBodyKey struct{}

func withRawBody(ctx context.Context, r *rawBody) context.Context {
	return context.WithValue(ctx, rawBodyKey{}, r)
}

// rawBodyClient is the streams client's HTTP client: it keeps a copy of the answer's body for
// requests whose context carries a rawBody.
type rawBodyClient struct{ base *http.Client }

func (c rawBodyClient) Do(req *http.Request) (*http.Response, error) {
	resp, err := c.base.Do(req)
	slot, ok := req.Context().Value(rawBodyKey{}).(*rawBody)
	if err != nil || !ok {
		return resp, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	slot.body = b
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, nil
}
