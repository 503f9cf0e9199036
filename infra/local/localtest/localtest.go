// Package localtest runs the whole rollcall API in-process for end-to-end tests: a fresh table in
// DynamoDB Local (testenv), the real handlers, and the local gateway serving them over real HTTP
// on 127.0.0.1, with a token minter standing in for the identity provider. Tests talk to it as
// the portal would, through Stack.URL or Stack.Do.
package localtest

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"rollcall/infra/local"
	"rollcall/shared/config"
	"rollcall/shared/handlers"
	"rollcall/shared/invitetoken"
	"rollcall/shared/table"
	"rollcall/shared/testenv"
)

// Stack is a running API for one test. Everything stops when the test ends.
type Stack struct {
	URL    string           // base URL of the gateway, http://127.0.0.1:<port>
	DB     *dynamodb.Client // the DynamoDB Local client the handlers use
	Table  string           // the test's table
	Config config.Config    // the configuration the handlers run with
	Signer *local.Signer    // mints the tokens the gateway accepts
	Client *http.Client     // an HTTP client for URL
	// InviteSigner derives invitation tokens (R15) with the key the handlers check them with,
	// as the email function puts them in links.
	InviteSigner *invitetoken.Signer
}

var (
	keysOnce     sync.Once
	signer       *local.Signer
	inviteSigner *invitetoken.Signer
	keysErr      error
)

// keys makes the process's token signing key and invitation signing key, once.
func keys() {
	if signer, keysErr = local.GenerateSigner(); keysErr != nil {
		return
	}
	key := make([]byte, invitetoken.MinKeyBytes)
	_, _ = rand.Read(key)
	inviteSigner, keysErr = invitetoken.NewSigner(key)
}

// Start starts a stack on a fresh table with the default configuration. It fails the test when
// DynamoDB Local is not reachable (saying how to start it) or the stack cannot start.
func Start(t testing.TB) *Stack {
	t.Helper()
	return StartWithEnv(t, nil)
}

// StartWithEnv is Start with configuration variables (config.Env*) set as in env; the table name
// is always the test's.
func StartWithEnv(t testing.TB, env map[string]string) *Stack {
	t.Helper()
	db, name := testenv.DB(t)
	cfg, err := config.FromLookup(func(k string) string {
		if k == config.EnvTableName {
			return name
		}
		return env[k]
	})
	if err != nil {
		t.Fatalf("localtest: configuration: %v", err)
	}
	keysOnce.Do(keys)
	if keysErr != nil {
		t.Fatalf("localtest: %v", keysErr)
	}
	s := *signer // a copy, so that this test's operator group does not leak into others
	s.OperatorGroup = cfg.OperatorGroup

	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	gw, err := local.NewGateway(handlers.New(cfg, db).UseSigner(inviteSigner).Handlers(), &s, log)
	if err != nil {
		t.Fatalf("localtest: %v", err)
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	return &Stack{URL: srv.URL, DB: db, Table: name, Config: cfg, Signer: &s, InviteSigner: inviteSigner, Client: srv.Client()}
}

// Token returns a bearer token for login sub with email, valid for an hour.
func (s *Stack) Token(t testing.TB, sub, email string) string {
	t.Helper()
	tok, err := s.Signer.Mint(sub, email, false, time.Hour)
	if err != nil {
		t.Fatalf("localtest: %v", err)
	}
	return tok
}

// OperatorToken returns a bearer token for login sub in the operator group, valid for an hour.
func (s *Stack) OperatorToken(t testing.TB, sub string) string {
	t.Helper()
	tok, err := s.Signer.Mint(sub, sub+"@operators.example.com", true, time.Hour)
	if err != nil {
		t.Fatalf("localtest: %v", err)
	}
	return tok
}

// Response is an answer read in full.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test when it is not JSON.
func (r *Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("localtest: answer %d is not JSON (%v): %s", r.Status, err, r.Body)
	}
}

// Do sends method path (with any query) to the stack with token as bearer (none when empty) and
// body (nil for none, a string or []byte as is, anything else as JSON); headers are "Name",
// "value" pairs. It fails the test when the request cannot be made.
func (s *Stack) Do(t testing.TB, method, path, token string, body any, headers ...string) *Response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("localtest: encode body: %v", err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, s.URL+path, rd)
	if err != nil {
		t.Fatalf("localtest: %v", err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatalf("localtest: %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("localtest: %s %s: read answer: %v", method, path, err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// InviteToken derives the token of an invitation's current send from its stored nonce, as the
// email function does.
func (s *Stack) InviteToken(t testing.TB, accountID, invitationID string) string {
	t.Helper()
	key, err := attributevalue.MarshalMap(table.Invitation(accountID, invitationID))
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.DB.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String(s.Table), Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil || out.Item == nil {
		t.Fatalf("read invitation %s: %v", invitationID, err)
	}
	var inv struct {
		Nonce string `dynamodbav:"nonce"`
	}
	if err := attributevalue.UnmarshalMap(out.Item, &inv); err != nil || inv.Nonce == "" {
		t.Fatalf("invitation %s has no nonce (%v): %v", invitationID, err, out.Item)
	}
	return s.InviteSigner.Token(accountID, invitationID, inv.Nonce)
}
