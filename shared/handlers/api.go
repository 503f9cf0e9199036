// Package handlers holds rollcall's HTTP operations, one method of API per route of the route
// table. Each Lambda function's main wires one of them; the local gateway serves them all.
package handlers

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"rollcall/shared/awsenv"
	"rollcall/shared/config"
	"rollcall/shared/contract"
	"rollcall/shared/httpapi"
	"rollcall/shared/invitetoken"
	"rollcall/shared/reqlog"
	"rollcall/shared/signingkey"
	"rollcall/shared/store"
)

// API holds what the operations share: configuration, the store and the clock.
type API struct {
	cfg    config.Config
	store  *store.Store
	clock  func() time.Time
	signer *invitetoken.Signer // set for the operations that check invitation tokens (R15)
}

// New returns the API over db with configuration cfg, on the wall clock. Every DynamoDB call is
// counted in the request log (reqlog.CountingDB).
func New(cfg config.Config, db store.DB) *API {
	a := &API{cfg: cfg, clock: time.Now}
	a.store = store.New(reqlog.CountingDB(db), cfg.TableName, cfg.Catalog, a.now)
	return a
}

// now is the time operations record: the clock's, in UTC, to the millisecond.
func (a *API) now() time.Time { return a.clock().UTC().Truncate(time.Millisecond) }

// UseClock makes the API read time from clock instead of the wall clock (end-to-end tests move
// time forward to cross the resend interval and expiries); it returns a for chaining.
func (a *API) UseClock(clock func() time.Time) *API {
	a.clock = clock
	return a
}

// UseSigner gives the API the stage's invitation signer, which the look-up and accept operations
// need; it returns a for chaining.
func (a *API) UseSigner(s *invitetoken.Signer) *API {
	a.signer = s
	return a
}

// tokenSigner returns the signer, or an internal error when the function was built without one.
func (a *API) tokenSigner() (*invitetoken.Signer, error) {
	if a.signer == nil {
		return nil, errors.New("handlers: the invitation signing key was not loaded")
	}
	return a.signer, nil
}

// FromEnv builds the API from the function's environment and its AWS configuration (awsenv),
// with DynamoDB Local's endpoint when ROLLCALL_DYNAMODB_ENDPOINT is set. With withKey it also
// loads the invitation signing key (Secrets Manager, or the local key file), for the functions
// whose route needs it. Functions call it once, at cold start.
func FromEnv(ctx context.Context, withKey bool) (*API, error) {
	cfg, err := config.FromEnv()
	if err != nil {
		return nil, err
	}
	awsCfg, err := awsenv.Config()
	if err != nil {
		return nil, err
	}
	db := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) {
		if cfg.DynamoDBEndpoint != "" {
			o.BaseEndpoint = aws.String(cfg.DynamoDBEndpoint)
		}
	})
	api := New(cfg, db)
	if withKey {
		keys, err := signingkey.LoadKeys(ctx, cfg, awsCfg, false)
		if err != nil {
			return nil, err
		}
		s, err := invitetoken.NewSigner(keys[0], keys[1:]...)
		if err != nil {
			return nil, err
		}
		// After `make rotate-signing-key`, the first link made with the new key makes a function
		// that started before the rotation read the keys again.
		s.ReloadEvery(time.Minute, func() ([][]byte, error) {
			return signingkey.LoadKeys(context.Background(), cfg, awsCfg, true)
		})
		api.UseSigner(s)
	}
	return api, nil
}

// Config returns the configuration the API was built with.
func (a *API) Config() config.Config { return a.cfg }

// Handlers returns the handler of every function, by function name (the route table's
// Function): the local gateway and the tests serve them all.
func (a *API) Handlers() map[string]httpapi.Handler {
	hs := map[string]httpapi.Handler{}
	for _, e := range Endpoints() {
		hs[e.Function] = a.Handler(e)
	}
	return hs
}

// Handler returns the Lambda handler of endpoint e, enforcing its declaration (shared/contract)
// and writing one request log line with its metrics (reqlog.Wrap); it panics when e has no
// declaration, which a test of the route table rules out.
func (a *API) Handler(e Endpoint) httpapi.Handler {
	d, ok := contract.ByFunction(e.Function)
	if !ok {
		panic("handlers: no declaration or route for function " + e.Function)
	}
	return reqlog.Wrap(e.Function, a.cfg.Stage, nil, httpapi.Adapt(a.cfg.OperatorGroup, d.Contract(),
		func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) { return e.run(a, ctx, r) }))
}
