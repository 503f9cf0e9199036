package dbtrace_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"

	"rollcall/shared/dbtrace"
	"rollcall/shared/testenv"
)

func at(ms int) time.Time { return time.Unix(0, 0).Add(time.Duration(ms) * time.Millisecond) }

func TestDepth(t *testing.T) {
	call := func(s, e int) dbtrace.Call { return dbtrace.Call{Start: at(s), End: at(e)} }
	on := func(lane, s, e int) dbtrace.Call { return dbtrace.Call{Lane: lane, Start: at(s), End: at(e)} }
	for _, tc := range []struct {
		name  string
		calls []dbtrace.Call
		want  int
	}{
		{"none", nil, 0},
		{"one", []dbtrace.Call{call(0, 5)}, 1},
		{"parallel", []dbtrace.Call{call(0, 5), call(1, 6), call(2, 3)}, 1},
		{"sequential", []dbtrace.Call{call(0, 5), call(5, 6), call(7, 9)}, 3},
		{"parallel then one", []dbtrace.Call{call(0, 5), call(0, 2), call(6, 8)}, 2},
		// a short call in parallel with a long one, followed by another short one, still in
		// the long one's time: the chain short→short is 2 deep.
		{"chain inside a long call", []dbtrace.Call{call(0, 10), call(0, 2), call(3, 4)}, 2},
		{"unordered input", []dbtrace.Call{call(7, 9), call(0, 5), call(5, 6)}, 3},
		// two workers, the second started late: its call follows the first's in time only.
		{"workers started apart", []dbtrace.Call{call(0, 1), on(1, 1, 3), on(1, 3, 5), on(2, 4, 6), on(2, 6, 8)}, 3},
		// one worker doing two rows after each other: its four calls are a chain.
		{"one worker, two rows", []dbtrace.Call{call(0, 1), on(1, 1, 2), on(1, 2, 3), on(1, 3, 4), on(1, 4, 5), on(2, 1, 3), on(2, 3, 5)}, 5},
		// the operation's own call after the workers follows all of them.
		{"after the workers", []dbtrace.Call{on(1, 0, 2), on(2, 3, 5), call(6, 7)}, 2},
	} {
		if got := dbtrace.Depth(tc.calls); got != tc.want {
			t.Errorf("%s: depth %d, want %d", tc.name, got, tc.want)
		}
	}
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"PK": s(pk), "SK": s(sk)}
}

// TestRecorderOnDynamoDBLocal records real calls: two reads in parallel, then a transaction, then
// a query of the index, and checks what is recorded, the depth and the grants.
func TestRecorderOnDynamoDBLocal(t *testing.T) {
	db, name := testenv.DB(t)
	rec := dbtrace.New(db)
	ctx := context.Background()

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		_, err := rec.GetItem(gctx, &dynamodb.GetItemInput{TableName: aws.String(name), Key: key("A", "1")})
		return err
	})
	g.Go(func() error {
		_, err := rec.BatchGetItem(gctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{name: {Keys: []map[string]types.AttributeValue{key("A", "2"), key("A", "3")}}}})
		return err
	})
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	if d := dbtrace.Depth(rec.Calls()); d != 1 {
		t.Fatalf("two parallel reads: depth %d, want 1", d)
	}
	_, err := rec.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(name), Item: key("A", "4")}},
		{Update: &types.Update{TableName: aws.String(name), Key: key("A", "5"), UpdateExpression: aws.String("SET n = :one"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":one": &types.AttributeValueMemberN{Value: "1"}}}},
		{Delete: &types.Delete{TableName: aws.String(name), Key: key("A", "6")}},
		{ConditionCheck: &types.ConditionCheck{TableName: aws.String(name), Key: key("A", "7"), ConditionExpression: aws.String("attribute_not_exists(PK)")}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = rec.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(name), IndexName: aws.String("GSI1"),
		KeyConditionExpression: aws.String("GSI1PK = :p"), ExpressionAttributeValues: map[string]types.AttributeValue{":p": s("X")}})
	if err != nil {
		t.Fatal(err)
	}
	// A failing call is recorded with its error.
	_, err = rec.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(name + "_missing"), Key: key("A", "1")})
	if err == nil {
		t.Fatal("GetItem of a missing table succeeded")
	}

	calls := rec.Take()
	if len(calls) != 5 {
		t.Fatalf("recorded %d calls, want 5: %v", len(calls), calls)
	}
	if d := dbtrace.Depth(calls); d != 4 {
		t.Errorf("depth %d, want 4 (parallel reads, transaction, query, failed get): %v", d, calls)
	}
	tx := calls[2]
	if tx.Op != "TransactWriteItems" || tx.Table != name {
		t.Fatalf("third call %v", tx)
	}
	var acts []string
	for _, it := range tx.Items {
		acts = append(acts, it.Action+" "+it.PK+"/"+it.SK)
	}
	if want := []string{"PutItem A/4", "UpdateItem A/5", "DeleteItem A/6", "ConditionCheckItem A/7"}; !slices.Equal(acts, want) {
		t.Errorf("transaction items %v, want %v", acts, want)
	}
	if calls[3].Index != "GSI1" || calls[3].Op != "Query" {
		t.Errorf("query recorded as %v", calls[3])
	}
	if calls[4].Err == nil {
		t.Error("failed call recorded without its error")
	}
	if !calls[0].End.After(calls[0].Start) && !calls[0].End.Equal(calls[0].Start) {
		t.Errorf("times: %v", calls[0])
	}
	wantGrants := []dbtrace.Grant{
		{Action: "dynamodb:BatchGetItem"},
		{Action: "dynamodb:ConditionCheckItem", Enclosing: "TransactWriteItems"},
		{Action: "dynamodb:DeleteItem", Enclosing: "TransactWriteItems"},
		{Action: "dynamodb:GetItem"},
		{Action: "dynamodb:PutItem", Enclosing: "TransactWriteItems"},
		{Action: "dynamodb:Query", Index: "GSI1"},
		{Action: "dynamodb:TransactWriteItems"},
		{Action: "dynamodb:UpdateItem", Enclosing: "TransactWriteItems"},
	}
	if got := dbtrace.Grants(calls); !slices.Equal(got, wantGrants) {
		t.Errorf("grants\n got %v\nwant %v", got, wantGrants)
	}
	if len(rec.Calls()) != 0 {
		t.Error("Take did not forget the calls")
	}
}
