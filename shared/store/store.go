// Package store is rollcall's access to its one DynamoDB table. Every change is one
// TransactWriteItems that also checks, as conditions, the caller's right to make it and the rules
// that need the table (uniqueness, last recipient, partner accounts), and writes the audit entry
// (R23) and any idempotency record with it. Reads fetch the caller's membership together with the
// data, in one BatchGetItem or in parallel with a query.
package store

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"rollcall/shared/catalog"
)

// DB is the part of the DynamoDB client the store uses; *dynamodb.Client satisfies it, and
// tests wrap it to count calls or inject faults.
type DB interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	BatchGetItem(context.Context, *dynamodb.BatchGetItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// Store reads and writes rollcall's items in one table.
type Store struct {
	db    DB
	table string
	cat   catalog.Catalog
	now   func() time.Time
}

// New returns a store over table name in db; cat is the stage's catalog and now its clock.
func New(db DB, name string, cat catalog.Catalog, now func() time.Time) *Store {
	return &Store{db: db, table: name, cat: cat, now: now}
}

// Page is one page of a list: its items and the cursor of the next page ("" on the last).
type Page[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"nextCursor,omitempty"`
}
