package local

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// RedriveResult counts what Redrive did.
type RedriveResult struct {
	Records int // records found in the dead-letter file
	Done    int // handed to the function, which reported no failure: removed from the file
	Kept    int // still failing (or undecodable): left in the file
}

// Redrive hands every record of dead-letter file path to the stream handler h again, one
// record per invocation as Lambda would (through lambda.NewHandler, with a Lambda context), and
// rewrites the file with the entries of the records that still fail. The email function reads
// the invitation from the table before sending: it sends only the current send of a pending
// invitation, skips what its send records say SES accepted already, so a re-drive never sends an
// email twice, and a superseded or ended invitation sends nothing.
func Redrive(ctx context.Context, path string, h StreamHandler) (RedriveResult, error) {
	var res RedriveResult
	dls, err := ReadDeadLetters(path)
	if err != nil {
		return res, err
	}
	handler := lambda.NewHandler(h)
	var kept [][]byte
	for _, d := range dls {
		var left []json.RawMessage
		for _, raw := range d.Records {
			res.Records++
			payload := append(append([]byte(`{"Records":[`), raw...), []byte(`]}`)...)
			ictx, cancel := context.WithTimeout(ctx, DefaultPollerTimeout)
			ictx = lambdacontext.NewContext(ictx, &lambdacontext.LambdaContext{AwsRequestID: pollerRequestID()})
			out, err := handler.Invoke(ictx, payload)
			cancel()
			var resp struct {
				BatchItemFailures []json.RawMessage `json:"batchItemFailures"`
			}
			if err == nil && len(bytes.TrimSpace(out)) > 0 {
				err = json.Unmarshal(out, &resp)
			}
			if err != nil || len(resp.BatchItemFailures) > 0 {
				res.Kept++
				left = append(left, raw)
				continue
			}
			res.Done++
		}
		if len(left) > 0 {
			entry := map[string]any{"timestamp": d.Timestamp, "DDBStreamBatchInfo": d.BatchInfo, "lastError": d.LastError, "records": left}
			line, err := json.Marshal(entry)
			if err != nil {
				return res, err
			}
			kept = append(kept, line)
		}
	}
	if res.Records == 0 {
		return res, nil
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".redrive")
	var body []byte
	for _, l := range kept {
		body = append(append(body, l...), '\n')
	}
	if err := os.WriteFile(tmp, body, 0o600); err != nil {
		return res, fmt.Errorf("redrive: %w", err)
	}
	return res, os.Rename(tmp, path)
}
