// Package redrive re-drives a deployed stage's email dead-letter queue (`make redrive
// STAGE=…`): each message is the on-failure record Lambda wrote for a stream batch that kept
// failing (it names the shard and the sequence range, not the records); the records are read
// again from the table's stream and handed to the deployed email function, which re-reads each
// invitation and its send record before sending — so it sends only the current send of a pending
// invitation and never what SES accepted already. A message is deleted once the function reports
// no failure; one whose records the stream no longer holds (24 hours) is kept and reported.
package redrive

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"rollcall/infra/rawbody"
)

// Message is one dead-letter message: its body and the handle that deletes it.
type Message struct {
	Body    string
	Receipt string
}

// Queue is the dead-letter queue.
type Queue interface {
	Receive(ctx context.Context) ([]Message, error) // up to 10 messages; none when it is empty
	Delete(ctx context.Context, receipt string) error
}

// Invoker invokes the email function synchronously with a stream event's JSON and returns its
// answer (a partial batch response), or the function's error.
type Invoker interface {
	Invoke(ctx context.Context, payload []byte) ([]byte, error)
}

// Result counts what Run did.
type Result struct {
	Messages, Redriven, Kept, Records int
	Expired                           int // messages whose records the stream no longer holds
}

// onFailure is the part of Lambda's on-failure record for stream sources that Run reads.
type onFailure struct {
	Info struct {
		ShardID string `json:"shardId"`
		Start   string `json:"startSequenceNumber"`
		End     string `json:"endSequenceNumber"`
		Stream  string `json:"streamArn"`
	} `json:"DDBStreamBatchInfo"`
}

// Run drains q: for each message, the records of its range from the stream (client streams,
// built with HTTPClient(…) so that their JSON is kept as Lambda sends it) go to fn in one
// invocation; the message is deleted when fn reports no failure. It stops at the first queue,
// stream or invocation transport error; messages not handled stay in the queue (their
// visibility timeout returns them).
func Run(ctx context.Context, q Queue, streams *dynamodbstreams.Client, fn Invoker) (Result, error) {
	var res Result
	seen := map[string]bool{}
	for {
		msgs, err := q.Receive(ctx)
		if err != nil {
			return res, fmt.Errorf("redrive: receive: %w", err)
		}
		if len(msgs) == 0 {
			return res, nil
		}
		progress := false
		for _, m := range msgs {
			if seen[m.Body] {
				continue // a kept message come back: this run has tried it
			}
			seen[m.Body], progress = true, true
			res.Messages++
			var f onFailure
			if err := json.Unmarshal([]byte(m.Body), &f); err != nil || f.Info.ShardID == "" || f.Info.Start == "" {
				res.Kept++
				continue
			}
			records, err := read(ctx, streams, f)
			var trimmed *streamtypes.TrimmedDataAccessException
			var gone *streamtypes.ResourceNotFoundException
			switch {
			case errors.As(err, &trimmed), errors.As(err, &gone):
				res.Expired++
				res.Kept++
				continue
			case err != nil:
				return res, err
			}
			res.Records += len(records)
			if len(records) > 0 {
				parts := make([][]byte, len(records))
				for i, r := range records {
					parts[i] = r
				}
				out, err := fn.Invoke(ctx, append(append([]byte(`{"Records":[`), bytes.Join(parts, []byte(","))...), []byte(`]}`)...))
				if err != nil {
					res.Kept++
					continue
				}
				var resp struct {
					BatchItemFailures []json.RawMessage `json:"batchItemFailures"`
				}
				if (len(bytes.TrimSpace(out)) > 0 && json.Unmarshal(out, &resp) != nil) || len(resp.BatchItemFailures) > 0 {
					res.Kept++
					continue
				}
			}
			if err := q.Delete(ctx, m.Receipt); err != nil {
				return res, fmt.Errorf("redrive: delete: %w", err)
			}
			res.Redriven++
		}
		if !progress {
			return res, nil
		}
	}
}

// read returns the JSON of the records of f's range, with the eventSourceARN Lambda adds.
func read(ctx context.Context, streams *dynamodbstreams.Client, f onFailure) ([]json.RawMessage, error) {
	it, err := streams.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(f.Info.Stream),
		ShardId: aws.String(f.Info.ShardID), ShardIteratorType: streamtypes.ShardIteratorTypeAtSequenceNumber,
		SequenceNumber: aws.String(f.Info.Start)})
	if err != nil {
		return nil, err
	}
	end, ok := new(big.Int).SetString(f.Info.End, 10)
	if !ok {
		return nil, fmt.Errorf("redrive: end sequence number %q", f.Info.End)
	}
	var out []json.RawMessage
	iter := it.ShardIterator
	for iter != nil {
		body := &rawbody.Body{}
		page, err := streams.GetRecords(rawbody.With(ctx, body), &dynamodbstreams.GetRecordsInput{ShardIterator: iter})
		if err != nil {
			return nil, err
		}
		var raw struct {
			Records []map[string]any `json:"Records"`
		}
		if err := json.Unmarshal(body.Bytes, &raw); err != nil {
			return nil, err
		}
		if len(raw.Records) == 0 {
			return out, nil
		}
		for _, r := range raw.Records {
			ddb, _ := r["dynamodb"].(map[string]any)
			seq, _ := ddb["SequenceNumber"].(string)
			n, ok := new(big.Int).SetString(seq, 10)
			if !ok || n.Cmp(end) > 0 {
				return out, nil
			}
			r["eventSourceARN"] = f.Info.Stream
			b, err := json.Marshal(r)
			if err != nil {
				return nil, err
			}
			out = append(out, b)
		}
		iter = page.NextShardIterator
	}
	return out, nil
}

// HTTPClient wraps base so that a streams client built with it keeps the JSON of GetRecords
// answers for Run (which hands Lambda's JSON to the function, not the SDK's types).
func HTTPClient(base *http.Client) interface {
	Do(*http.Request) (*http.Response, error)
} {
	return rawbody.Client{Base: base}
}
