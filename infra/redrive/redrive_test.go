package redrive

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"rollcall/shared/testenv"
)

type fakeQueue struct {
	msgs    []Message
	deleted []string
}

func (q *fakeQueue) Receive(context.Context) ([]Message, error) {
	var out []Message
	for _, m := range q.msgs {
		gone := false
		for _, d := range q.deleted {
			gone = gone || d == m.Receipt
		}
		if !gone {
			out = append(out, m)
		}
	}
	return out, nil
}

func (q *fakeQueue) Delete(_ context.Context, r string) error {
	q.deleted = append(q.deleted, r)
	return nil
}

type fakeFn struct {
	batches [][]string
	fail    bool
}

func (f *fakeFn) Invoke(_ context.Context, payload []byte) ([]byte, error) {
	var ev events.DynamoDBEvent // the function's own event type must decode it
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, err
	}
	var sks []string
	for _, r := range ev.Records {
		if r.EventSourceArn == "" {
			return nil, fmt.Errorf("record without eventSourceARN")
		}
		sks = append(sks, r.Change.Keys["SK"].String())
	}
	f.batches = append(f.batches, sks)
	if f.fail {
		return []byte(`{"batchItemFailures":[{"itemIdentifier":"` + ev.Records[0].Change.SequenceNumber + `"}]}`), nil
	}
	return []byte(`{"batchItemFailures":[]}`), nil
}

// TestRunRedrivesTheRangeAndDeletesOnlyWhatSucceeded: the records of a dead-letter message's
// range are read from the stream (DynamoDB Local's) and handed to the function in Lambda's JSON;
// the message is deleted when the function reports no failure, kept otherwise.
func TestRunRedrivesTheRangeAndDeletesOnlyWhatSucceeded(t *testing.T) {
	db, tbl := testenv.DB(t)
	ctx := context.Background()
	for i := range 4 {
		_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(tbl), Item: map[string]types.AttributeValue{
			"PK": &types.AttributeValueMemberS{Value: "ACCOUNT#acc_1"}, "SK": &types.AttributeValueMemberS{Value: fmt.Sprintf("INVITE#inv_%d", i)}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	desc, _ := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(tbl)})
	arn := aws.ToString(desc.Table.LatestStreamArn)
	streams := dynamodbstreams.New(dynamodbstreams.Options{Region: testenv.Region, BaseEndpoint: aws.String(testenv.Endpoint()),
		Credentials: credentials.NewStaticCredentialsProvider(testenv.AccessKey, testenv.SecretKey, ""), HTTPClient: HTTPClient(http.DefaultClient)})
	ds, err := streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	shard := ds.StreamDescription.Shards[0]
	it, _ := streams.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(arn), ShardId: shard.ShardId,
		ShardIteratorType: streamtypes.ShardIteratorTypeTrimHorizon})
	page, err := streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: it.ShardIterator})
	if err != nil || len(page.Records) != 4 {
		t.Fatalf("%d records, %v", len(page.Records), err)
	}
	seq := func(i int) string { return aws.ToString(page.Records[i].Dynamodb.SequenceNumber) }
	body := func(from, to int) string {
		b, _ := json.Marshal(map[string]any{"DDBStreamBatchInfo": map[string]any{"shardId": aws.ToString(shard.ShardId),
			"startSequenceNumber": seq(from), "endSequenceNumber": seq(to), "streamArn": arn, "batchSize": to - from + 1}})
		return string(b)
	}
	q := &fakeQueue{msgs: []Message{{Body: body(1, 2), Receipt: "r1"}, {Body: "not json", Receipt: "r2"}}}
	fn := &fakeFn{}
	res, err := Run(ctx, q, streams, fn)
	if err != nil {
		t.Fatal(err)
	}
	if len(fn.batches) != 1 || fmt.Sprint(fn.batches[0]) != "[INVITE#inv_1 INVITE#inv_2]" {
		t.Fatalf("batches %v, want records 1 and 2", fn.batches)
	}
	if fmt.Sprint(q.deleted) != "[r1]" || res.Redriven != 1 || res.Kept != 1 || res.Records != 2 {
		t.Fatalf("deleted %v, result %+v", q.deleted, res)
	}

	// A function that still reports the record failed: the message stays.
	q2 := &fakeQueue{msgs: []Message{{Body: body(0, 0), Receipt: "r3"}}}
	res, err = Run(ctx, q2, streams, &fakeFn{fail: true})
	if err != nil || len(q2.deleted) != 0 || res.Kept != 1 {
		t.Fatalf("failing re-drive: deleted %v, %+v, %v", q2.deleted, res, err)
	}
}
