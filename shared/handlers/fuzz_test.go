package handlers_test

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"rollcall/shared/handlers"
	"rollcall/shared/httpapi"
	"rollcall/shared/routes"
	"rollcall/shared/store"
	"rollcall/shared/table"
	"rollcall/shared/testenv"
)

// writes counts the writes DynamoDB accepted (a transaction or PutItem that succeeded).
type writes struct {
	store.DB
	mu sync.Mutex
	n  int
}

func (w *writes) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

func (w *writes) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	out, err := w.DB.PutItem(ctx, in, o...)
	if err == nil {
		w.mu.Lock()
		w.n++
		w.mu.Unlock()
	}
	return out, err
}

func (w *writes) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	out, err := w.DB.TransactWriteItems(ctx, in, o...)
	if err == nil {
		w.mu.Lock()
		w.n++
		w.mu.Unlock()
	}
	return out, err
}

// FuzzRouteInputs sends fuzzed bodies, Idempotency-Keys, If-Match headers and list queries (limit,
// cursor, filters) to every route's handler, as an operator and as a plain member, over DynamoDB
// Local. Properties: no panic, no 5xx, and no write when the answer is 4xx. Seeds: the sample
// events of events/http.
func FuzzRouteInputs(f *testing.F) {
	for i, r := range routes.All {
		b, err := os.ReadFile(filepath.Join("..", "..", "events", "http", r.Function+".json"))
		if err != nil {
			f.Fatal(err)
		}
		var ev struct{ Body string }
		_ = json.Unmarshal(b, &ev)
		f.Add(uint8(i), false, ev.Body, "", "", "", "")
		f.Add(uint8(i), true, ev.Body, "k-"+r.Function, `"1"`, "2", "")
	}
	f.Add(uint8(0), true, `{"items":[{"email":"a@b.example","EMAIL":1}]}`, strings.Repeat("é", 300), "W/\"x\"", "101", "!!")
	env := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, route uint8, member bool, body, key, ifMatch, limit, cursor string) {
		r := routes.All[int(route)%len(routes.All)]
		req := env.samples[r.Function]
		req.RequestContext.Authorizer.JWT.Claims = map[string]string{}
		req.Headers = map[string]string{}
		req.PathParameters = maps.Clone(req.PathParameters)
		claims := req.RequestContext.Authorizer.JWT.Claims
		claims["sub"], claims["email"], claims["email_verified"], claims["cognito:groups"] = "op", "op@example.com", "true", "[operators]"
		if member {
			claims["sub"], claims["email"], claims["cognito:groups"] = "fuzz-owner", "fuzz-owner@example.com", "[]"
		}
		for k := range req.PathParameters {
			if k == "accountId" {
				req.PathParameters[k] = env.account
			}
		}
		req.Body = body
		req.Headers["idempotency-key"] = key
		req.Headers["if-match"] = ifMatch
		req.QueryStringParameters = map[string]string{"limit": limit, "cursor": cursor, "q": cursor, "status": limit, "emailType": limit, "prefix": cursor}
		before := env.db.count()
		resp, err := env.hs[r.Function](context.Background(), req)
		if err != nil {
			t.Fatalf("%s: handler error %v", r.Function, err)
		}
		if resp.StatusCode >= 500 {
			t.Fatalf("%s: %d %s for body %q key %q if-match %q limit %q cursor %q", r.Function, resp.StatusCode, resp.Body, body, key, ifMatch, limit, cursor)
		}
		if resp.StatusCode >= 400 && env.db.count() != before {
			t.Fatalf("%s: %d %s, yet %d writes", r.Function, resp.StatusCode, resp.Body, env.db.count()-before)
		}
		if resp.StatusCode >= 400 && resp.Headers["Content-Type"] != "application/problem+json" {
			t.Fatalf("%s: %d without a problem: %v", r.Function, resp.StatusCode, resp.Headers)
		}
	})
}

// fuzzEnv is one API over one table, with an account whose owner is fuzz-owner.
type fuzzEnv struct {
	hs      map[string]httpapi.Handler
	db      *writes
	account string
	samples map[string]events.APIGatewayV2HTTPRequest
}

func newFuzzEnv(f *testing.F) *fuzzEnv {
	db, name := testenv.DB(f)
	cfg := testConfig(f, name)
	w := &writes{DB: db}
	signer := testSigner(f)
	e := &fuzzEnv{hs: handlers.New(cfg, w).UseSigner(signer).Handlers(), db: w, samples: map[string]events.APIGatewayV2HTTPRequest{}}
	for _, r := range routes.All {
		b, err := os.ReadFile(filepath.Join("..", "..", "events", "http", r.Function+".json"))
		if err != nil {
			f.Fatal(err)
		}
		var req events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(b, &req); err != nil {
			f.Fatal(err)
		}
		e.samples[r.Function] = req
	}
	req := e.samples["create-account"]
	req.RequestContext.Authorizer.JWT.Claims = map[string]string{"sub": "op", "cognito:groups": "[operators]"}
	resp, err := e.hs["create-account"](context.Background(), req)
	if err != nil || resp.StatusCode != 201 {
		f.Fatalf("create account: %v %d %s", err, resp.StatusCode, resp.Body)
	}
	var acc struct{ ID string }
	_ = json.Unmarshal([]byte(resp.Body), &acc)
	e.account = acc.ID
	k := table.User(acc.ID, "fuzz-owner")
	gpk, gsk := table.UserGSI1(acc.ID, "fuzz-owner")
	m, _ := attributevalue.MarshalMap(map[string]any{"PK": k.PK, "SK": k.SK, "GSI1PK": gpk, "GSI1SK": gsk, "entity": "user",
		"id": "fuzz-owner", "accountId": acc.ID, "email": "fuzz-owner@example.com", "role": "owner", "permissions": []string{}, "admin": false,
		"joinedAt": time.Now().UTC().Format(time.RFC3339)})
	if _, err := db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(name), Item: m}); err != nil {
		f.Fatal(err)
	}
	return e
}
