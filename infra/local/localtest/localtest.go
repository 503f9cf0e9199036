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
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"rollcall/infra/local"
	"rollcall/shared/apicheck"
	"rollcall/shared/config"
	"rollcall/shared/email"
	"rollcall/shared/handlers"
	"rollcall/shared/invitetoken"
	"rollcall/shared/sesevents"
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
	// Handler is the gateway serving URL, for tests that put something in front of it (the
	// console's browser tests serve the console beside it, as make dev does).
	Handler http.Handler
	// InviteSigner derives invitation tokens (R15) with the key the handlers check them with,
	// as the email function puts them in links.
	InviteSigner *invitetoken.Signer
	skew         atomic.Int64 // how far the handlers' clock runs ahead, in nanoseconds
	log          *slog.Logger
}

// Advance moves the handlers' clock forward by d (to cross the resend interval or an expiry).
func (s *Stack) Advance(d time.Duration) { s.skew.Add(int64(d)) }

func (s *Stack) now() time.Time { return time.Now().Add(time.Duration(s.skew.Load())) }

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
	st := &Stack{DB: db, Table: name, Config: cfg, Signer: &s, InviteSigner: inviteSigner, log: log}
	gw, err := local.NewGateway(handlers.New(cfg, db).UseSigner(inviteSigner).UseClock(st.now).Handlers(), &s, log)
	if err != nil {
		t.Fatalf("localtest: %v", err)
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	st.URL, st.Client, st.Handler = srv.URL, srv.Client(), gw
	return st
}

// Mail is the email side of a stack: the SES v2 emulator and the stream poller that feeds the
// table's stream to the real email function, as `make dev` runs them.
type Mail struct {
	SES       *local.SES
	Poller    *local.Poller
	Simulator *local.MailboxSimulator // SES's events of what the emulator accepted, recorded by the ses-events handler
}

// StartMail starts the SES v2 emulator on a free port and the stream poller with the email
// function, which derives links with the stack's invitation key. It fails the test when the
// emulator cannot start (it says to run npm ci when node_modules is missing).
func (s *Stack) StartMail(t testing.TB) *Mail {
	t.Helper()
	root, err := local.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	port, err := local.FreePort(0)
	if err != nil {
		t.Fatal(err)
	}
	ses, err := local.StartSES(t.Context(), local.SESOptions{Root: root, Port: port})
	if err != nil {
		t.Fatalf("localtest: %v", err)
	}
	t.Cleanup(func() { _ = ses.Stop() })
	sim := local.NewMailboxSimulator(local.SESClient(ses.Endpoint), &sesevents.Recorder{DB: s.DB, Table: s.Table, Stage: "local", Logger: s.log}, 0, s.log)
	fn, err := email.New(email.Options{
		DB: s.DB, Table: s.Table, SES: sim, Signer: s.InviteSigner,
		PortalURL: s.Config.PortalURL, Sending: email.Sending{From: s.Config.SenderEmail}, Logger: s.log,
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := local.StartPoller(t.Context(), local.PollerOptions{Endpoint: testenv.Endpoint(), Table: s.Table, Logger: s.log,
		DeadLetters: filepath.Join(t.TempDir(), "dead-letters.jsonl")}, fn.Handle)
	if err != nil {
		t.Fatalf("localtest: stream poller: %v", err)
	}
	t.Cleanup(p.Stop)
	t.Cleanup(sim.Wait)
	return &Mail{SES: ses, Poller: p, Simulator: sim}
}

// Inbox waits up to 20 s until the emulator holds at least n emails to address to, and returns
// those emails, oldest first. It fails the test when they do not come.
func (m *Mail) Inbox(t testing.TB, to string, n int) []local.SESEmail {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		all, err := local.SESInbox(t.Context(), m.SES.Endpoint)
		if err != nil {
			t.Fatalf("localtest: read the SES inbox: %v", err)
		}
		var mine []local.SESEmail
		for _, e := range all {
			if slices.Contains(e.Destination.To, to) {
				mine = append(mine, e)
			}
		}
		if len(mine) >= n || time.Now().After(deadline) {
			if len(mine) < n {
				t.Fatalf("localtest: %d emails to %s after 20 s, want %d", len(mine), to, n)
			}
			return mine
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// LinkToken returns the token of the accept link in an email's plain-text body.
func LinkToken(t testing.TB, e local.SESEmail) string {
	t.Helper()
	i := strings.Index(e.Body.Text, "/invitations/accept?token=")
	if i < 0 {
		t.Fatalf("localtest: no accept link in %q", e.Body.Text)
	}
	raw := strings.Fields(e.Body.Text[i+len("/invitations/accept?token="):])[0]
	tok, err := url.QueryUnescape(raw)
	if err != nil {
		t.Fatalf("localtest: link token %q: %v", raw, err)
	}
	return tok
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
// "value" pairs. It fails the test when the request cannot be made, and when the answer of a
// route does not conform to docs/openapi.json (apicheck).
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
	apicheck.HTTP(t, method, path, resp.StatusCode, resp.Header, b)
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
