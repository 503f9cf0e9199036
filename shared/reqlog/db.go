package reqlog

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"rollcall/shared/store"
)

// DB wraps the store's DynamoDB client so that every call is counted, with the capacity it
// consumed, in the Stats of the request's context (see Wrap). It asks DynamoDB for the total
// consumed capacity on every call that does not already ask for it (the answer is a few bytes
// larger; the call costs the same). Methods the store may add later are forwarded uncounted
// through the embedded DB.
type DB struct{ store.DB }

// CountingDB returns db wrapped; a nil db stays nil.
func CountingDB(db store.DB) store.DB {
	if db == nil {
		return nil
	}
	return DB{db}
}

func total(r types.ReturnConsumedCapacity) types.ReturnConsumedCapacity {
	if r == "" || r == types.ReturnConsumedCapacityNone {
		return types.ReturnConsumedCapacityTotal
	}
	return r
}

// GetItem counts and forwards.
func (d DB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c := *in
	c.ReturnConsumedCapacity = total(c.ReturnConsumedCapacity)
	out, err := d.DB.GetItem(ctx, &c, o...)
	if out != nil && out.ConsumedCapacity != nil {
		Record(ctx, "GetItem", *out.ConsumedCapacity)
	} else {
		Record(ctx, "GetItem")
	}
	return out, err
}

// BatchGetItem counts and forwards.
func (d DB) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	c := *in
	c.ReturnConsumedCapacity = total(c.ReturnConsumedCapacity)
	out, err := d.DB.BatchGetItem(ctx, &c, o...)
	if out != nil {
		Record(ctx, "BatchGetItem", out.ConsumedCapacity...)
	} else {
		Record(ctx, "BatchGetItem")
	}
	return out, err
}

// Query counts and forwards.
func (d DB) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c := *in
	c.ReturnConsumedCapacity = total(c.ReturnConsumedCapacity)
	out, err := d.DB.Query(ctx, &c, o...)
	if out != nil && out.ConsumedCapacity != nil {
		Record(ctx, "Query", *out.ConsumedCapacity)
	} else {
		Record(ctx, "Query")
	}
	return out, err
}

// PutItem counts and forwards.
func (d DB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	c := *in
	c.ReturnConsumedCapacity = total(c.ReturnConsumedCapacity)
	out, err := d.DB.PutItem(ctx, &c, o...)
	if out != nil && out.ConsumedCapacity != nil {
		Record(ctx, "PutItem", *out.ConsumedCapacity)
	} else {
		Record(ctx, "PutItem")
	}
	return out, err
}

// TransactWriteItems counts and forwards.
func (d DB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	c := *in
	c.ReturnConsumedCapacity = total(c.ReturnConsumedCapacity)
	out, err := d.DB.TransactWriteItems(ctx, &c, o...)
	if out != nil {
		Record(ctx, "TransactWriteItems", out.ConsumedCapacity...)
	} else {
		Record(ctx, "TransactWriteItems")
	}
	return out, err
}
