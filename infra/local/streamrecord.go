package local

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// streamRecord is one record of a GetRecords answer as the poller hands it on: its JSON
// (normalised, with the event source ARN Lambda adds) and what the poller itself needs of it.
type streamRecord struct {
	seq  string          // dynamodb.SequenceNumber
	at   time.Time       // dynamodb.ApproximateCreationDateTime
	raw  json.RawMessage // the record's JSON as the function receives it
	sk   string          // the item's sort key, for logs
	body map[string]any  // raw decoded, for the filter
}

// normalizeRecord decodes one record of a GetRecords answer on its own, repairs what DynamoDB
// Local writes differently from DynamoDB (see fixImage), and sets the eventSourceARN that Lambda
// adds. It returns an error when the JSON is not a stream record with a sequence number: such a
// record cannot even be checkpointed, let alone delivered.
func normalizeRecord(raw json.RawMessage, streamArn string) (streamRecord, int, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // numbers stay as written
	var body map[string]any
	if err := dec.Decode(&body); err != nil {
		return streamRecord{}, 0, fmt.Errorf("stream record is not a JSON object: %w", err)
	}
	ddb, _ := body["dynamodb"].(map[string]any)
	if ddb == nil {
		return streamRecord{}, 0, errors.New("stream record has no dynamodb field")
	}
	seq, _ := ddb["SequenceNumber"].(string)
	if seq == "" {
		return streamRecord{}, 0, errors.New("stream record has no sequence number")
	}
	fixed := 0
	for _, image := range []string{"Keys", "NewImage", "OldImage"} {
		if m, ok := ddb[image].(map[string]any); ok {
			fixed += fixImage(m)
		}
	}
	body["eventSourceARN"] = streamArn
	out, err := json.Marshal(body)
	if err != nil {
		return streamRecord{}, 0, fmt.Errorf("stream record %s: encode: %w", seq, err)
	}
	r := streamRecord{seq: seq, raw: out, body: body}
	if n, ok := ddb["ApproximateCreationDateTime"].(json.Number); ok {
		if f, err := n.Float64(); err == nil {
			r.at = time.UnixMilli(int64(f * 1000)).UTC()
		}
	}
	if keys, ok := ddb["Keys"].(map[string]any); ok {
		if sk, ok := keys["SK"].(map[string]any); ok {
			r.sk, _ = sk["S"].(string)
		}
	}
	return r, fixed, nil
}

// fixImage repairs the attribute values of one image in place and returns how many it changed.
// DynamoDB Local writes an empty map attribute (one written as {} or emptied by removing its
// last key) as {} with no type key, where DynamoDB writes {"M":{}}; aws-lambda-go refuses the
// former ("map must contain a single type"). An empty object is never a valid attribute value
// otherwise, so it is always an empty map. (Empty lists come through as {"L":[]}, and empty sets
// cannot be stored: nothing else needs repair in what DynamoDB Local 3.3 writes.)
func fixImage(image map[string]any) int {
	n := 0
	for k, v := range image {
		fixedV, c := fixValue(v)
		image[k] = fixedV
		n += c
	}
	return n
}

func fixValue(v any) (any, int) {
	av, ok := v.(map[string]any)
	if !ok {
		return v, 0
	}
	if len(av) == 0 {
		return map[string]any{"M": map[string]any{}}, 1
	}
	n := 0
	if m, ok := av["M"].(map[string]any); ok {
		n += fixImage(m)
	}
	if l, ok := av["L"].([]any); ok {
		for i := range l {
			var c int
			l[i], c = fixValue(l[i])
			n += c
		}
	}
	return av, n
}

// decodeCheck reports whether the function's event type accepts the record: the error
// aws-lambda-go would fail the invocation with.
func decodeCheck(raw json.RawMessage) error {
	var rec events.DynamoDBEventRecord
	return json.Unmarshal(raw, &rec)
}
