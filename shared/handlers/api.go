// Package handlers holds rollcall's HTTP operations, one method of API per route of the route
// table. Each Lambda function's main wires one of them; the local gateway serves them all.
package handlers

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"rollcall/shared/config"
	"rollcall/shared/httpapi"
	"rollcall/shared/store"
)

// API holds what the operations share: configuration, the store and the clock.
type API struct {
	cfg   config.Config
	store *store.Store
	now   func() time.Time
}

// New returns the API over db with configuration cfg.
func New(cfg config.Config, db store.DB) *API {
	now := func() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }
	return &API{cfg: cfg, store: store.New(db, cfg.TableName, cfg.Catalog, now), now: now}
}

// FromEnv builds the API from the function's environment and the default AWS configuration
// (DynamoDB Local's endpoint when ROLLCALL_DYNAMODB_ENDPOINT is set). Functions call it once,
// outside the handler.
func FromEnv(ctx context.Context) (*API, error) {
	cfg, err := config.FromEnv()
	if err != nil {
		return nil, err
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("aws config: %w", err)
	}
	db := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) {
		if cfg.DynamoDBEndpoint != "" {
			o.BaseEndpoint = aws.String(cfg.DynamoDBEndpoint)
		}
	})
	return New(cfg, db), nil
}

// Config returns the configuration the API was built with.
func (a *API) Config() config.Config { return a.cfg }

// Handlers returns the handler of every function, by function name (the route table's Function).
func (a *API) Handlers() map[string]httpapi.Handler {
	ops := map[string]httpapi.Operation{
		"get-catalog":           a.GetCatalog,
		"list-my-accounts":      a.ListMyAccounts,
		"list-accounts":         a.ListAccounts,
		"create-account":        a.CreateAccount,
		"get-account":           a.GetAccount,
		"update-account":        a.UpdateAccount,
		"list-audit":            a.ListAudit,
		"list-contacts":         a.ListContacts,
		"create-contact":        a.CreateContact,
		"batch-create-contacts": a.BatchCreateContacts,
		"get-contact":           a.GetContact,
		"update-contact":        a.UpdateContact,
		"delete-contact":        a.DeleteContact,
		"list-sites":            a.ListSites,
		"create-site":           a.CreateSite,
	}
	hs := make(map[string]httpapi.Handler, len(ops))
	for name, op := range ops {
		hs[name] = httpapi.Adapt(a.cfg.OperatorGroup, op)
	}
	return hs
}

// Handler returns the handler of function name; it panics when there is none, which a test of
// the route table rules out.
func (a *API) Handler(name string) httpapi.Handler {
	h, ok := a.Handlers()[name]
	if !ok {
		panic("handlers: no operation for function " + name)
	}
	return h
}
