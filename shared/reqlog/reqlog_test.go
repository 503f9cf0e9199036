package reqlog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"rollcall/shared/config"
	"rollcall/shared/handlers"
	"rollcall/shared/reqlog"
	"rollcall/shared/testenv"
)

// syncBuffer is a bytes.Buffer safe for the handler's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) take() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.b.String()
	s.b.Reset()
	return out
}

func request(routeKey string, params map[string]string, body string) events.APIGatewayV2HTTPRequest {
	return events.APIGatewayV2HTTPRequest{
		RouteKey:       routeKey,
		PathParameters: params,
		Headers:        map[string]string{"content-type": "application/json", "authorization": "Bearer secret-token-value"},
		Body:           body,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: "req-" + strings.ReplaceAll(routeKey, " ", "_"),
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{
				Claims: map[string]string{"sub": "op-1", "email": "op@vendor.example", "cognito:groups": "[operators]"},
			}},
		},
	}
}

// TestOneLinePerRequest runs real handlers over DynamoDB Local and checks the one line each
// request writes: a 201, a 404 and a 409, with their codes, the DynamoDB calls and capacity, the
// metrics, and no token, body or unmasked e-mail.
func TestOneLinePerRequest(t *testing.T) {
	db, table := testenv.DB(t)
	cfg, err := config.FromLookup(func(k string) string {
		return map[string]string{config.EnvTableName: table, config.EnvStage: "test"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	var buf syncBuffer
	prev := slog.Default()
	slog.SetDefault(reqlog.Logger(&buf, slog.LevelError)) // request lines must pass a higher level
	t.Cleanup(func() { slog.SetDefault(prev) })
	hs := handlers.New(cfg, db).Handlers()
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "aws-1"})

	call := func(fn string, req events.APIGatewayV2HTTPRequest, want int) map[string]any {
		t.Helper()
		resp, err := hs[fn](ctx, req)
		if err != nil || resp.StatusCode != want {
			t.Fatalf("%s: %d %v %s", fn, resp.StatusCode, err, resp.Body)
		}
		out := buf.take()
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 1 {
			t.Fatalf("%s: want one line, got %d:\n%s", fn, len(lines), out)
		}
		for _, secret := range []string{"secret-token-value", "Grace", "grace@acme.example", "ada@acme.example", "op@vendor.example"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s: the line holds %q: %s", fn, secret, out)
			}
		}
		t.Logf("%s", lines[0])
		var m map[string]any
		if err := json.Unmarshal([]byte(lines[0]), &m); err != nil {
			t.Fatal(err)
		}
		if m["msg"] != "request" || m["function"] != fn || m["route"] != req.RouteKey || m["requestId"] != req.RequestContext.RequestID ||
			m["awsRequestId"] != "aws-1" || m["sub"] != "op-1" || m["status"] != float64(want) || m["timestamp"] == nil {
			t.Errorf("%s: fields: %v", fn, m)
		}
		if _, ok := m["latencyMs"].(float64); !ok {
			t.Errorf("%s: no latencyMs", fn)
		}
		if m["Requests"] != 1.0 || m["Stage"] != "test" || m["Route"] != req.RouteKey || m["_aws"] == nil {
			t.Errorf("%s: metrics: %v", fn, m)
		}
		return m
	}

	created := call("create-account", request("POST /accounts", nil,
		`{"name":"Acme","type":"customer","owner":{"firstName":"Ada","lastName":"L","email":"ada@acme.example"}}`), 201)
	if _, ok := created["code"]; ok {
		t.Errorf("a 201 has no code: %v", created)
	}
	d := created["dynamodb"].(map[string]any)
	if d["calls"].(float64) < 1 || d["writeUnits"].(float64) <= 0 {
		t.Errorf("create-account: DynamoDB calls/capacity not recorded: %v", d)
	}
	if created["Errors4xx"] != 0.0 || created["Errors5xx"] != 0.0 {
		t.Errorf("create-account: error counts %v %v", created["Errors4xx"], created["Errors5xx"])
	}

	var acc struct{ ID string }
	resp, _ := hs["list-accounts"](ctx, request("GET /accounts", nil, ""))
	buf.take()
	var page struct{ Items []struct{ ID string } }
	if err := json.Unmarshal([]byte(resp.Body), &page); err != nil || len(page.Items) != 1 {
		t.Fatalf("list accounts: %s", resp.Body)
	}
	acc.ID = page.Items[0].ID

	missing := call("get-contact", request("GET /accounts/{accountId}/contacts/{contactId}",
		map[string]string{"accountId": acc.ID, "contactId": "con_01kawz8t6f3n3c1g5m0s2y8r4d"}, ""), 404)
	if missing["code"] != "not_found" || missing["accountId"] != acc.ID || missing["Errors4xx"] != 1.0 {
		t.Errorf("404 line: %v", missing)
	}

	contact := `{"email":"grace@acme.example","firstName":"Grace","lastName":"Hopper","emailTypes":["billing"]}`
	call("create-contact", request("POST /accounts/{accountId}/contacts", map[string]string{"accountId": acc.ID}, contact), 201)
	conflict := call("create-contact", request("POST /accounts/{accountId}/contacts", map[string]string{"accountId": acc.ID}, contact), 409)
	if conflict["code"] != "contact_email_taken" || conflict["Errors4xx"] != 1.0 {
		t.Errorf("409 line: %v", conflict)
	}
}

func TestMaskEmails(t *testing.T) {
	for in, want := range map[string]string{
		"ada@acme.example":                      "a***@acme.example",
		"EMAIL#grace.h+x@mail.acme.co.uk taken": "EMAIL#g***@mail.acme.co.uk taken",
		"no address here":                       "no address here",
		"a@b.io and c.d@e.org":                  "a***@b.io and c***@e.org",
	} {
		if got := reqlog.MaskEmails(in); got != want {
			t.Errorf("MaskEmails(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLoggerMasksEveryStringAndError(t *testing.T) {
	var buf bytes.Buffer
	log := reqlog.Logger(&buf, slog.LevelDebug)
	log.Info("x", "email", "ada@acme.example", "err", errString("taken by ada@acme.example"),
		slog.Group("g", slog.String("to", "grace@acme.example")))
	out := buf.String()
	if strings.Contains(out, "ada@") || strings.Contains(out, "grace@") || !strings.Contains(out, `"timestamp"`) {
		t.Fatalf("not masked or no timestamp: %s", out)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func TestParseLevel(t *testing.T) {
	for in, want := range map[string]slog.Level{"debug": slog.LevelDebug, "": slog.LevelInfo, "WARN": slog.LevelWarn, "error": slog.LevelError} {
		if got, ok := reqlog.ParseLevel(in); !ok || got != want {
			t.Errorf("ParseLevel(%q) = %v %v", in, got, ok)
		}
	}
	if _, ok := reqlog.ParseLevel("loud"); ok {
		t.Error("loud accepted")
	}
}
