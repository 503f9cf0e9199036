package authz_test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"

	"rollcall/infra/local"
	"rollcall/shared/config"
	"rollcall/shared/handlers"
	"rollcall/shared/invitetoken"
	"rollcall/shared/routes"
	"rollcall/shared/testenv"
)

// syncBuffer is a log sink shared by the gateway and the handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestNoTokenInLogsAuditOrErrors (issue 14 item 5) sends every route requests that carry a bearer
// token, invitation links and tokens (in bodies, unknown fields, queries and headers) and emails,
// good and bad, then checks every log line (gateway and handlers, at DEBUG), every audit entry
// and every answer: none holds a bearer token or an invitation token, or their signatures.
func TestNoTokenInLogsAuditOrErrors(t *testing.T) {
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	prev := slog.Default()
	slog.SetDefault(log)
	defer slog.SetDefault(prev)

	db, name := testenv.DB(t)
	cfg, err := config.FromLookup(func(k string) string {
		if k == config.EnvTableName {
			return name
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := local.GenerateSigner()
	if err != nil {
		t.Fatal(err)
	}
	signer.OperatorGroup = cfg.OperatorGroup
	key := make([]byte, invitetoken.MinKeyBytes)
	_, _ = rand.Read(key)
	inv, _ := invitetoken.NewSigner(key)
	gw, err := local.NewGateway(handlers.New(cfg, db).UseSigner(inv).Handlers(), signer, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	defer srv.Close()

	mint := func(sub string, op bool) string {
		tok, err := signer.Mint(sub, sub+"@people.example", op, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	var secrets []string // every bearer and invitation token sent, and their signature parts
	keep := func(tok string) string {
		secrets = append(secrets, tok, tok[strings.LastIndex(tok, ".")+1:])
		return tok
	}
	var answers []string
	do := func(method, path, bearer, body string, headers ...string) (int, string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		answers = append(answers, fmt.Sprintf("%s %s -> %d %s", method, strings.Split(path, "?")[0], resp.StatusCode, b))
		return resp.StatusCode, string(b)
	}

	op := keep(mint("op", true))
	status, body := do("POST", "/accounts", op, `{"name":"Acme","owner":{"firstName":"Ada","lastName":"L","email":"ada@acme.example"}}`)
	if status != 201 {
		t.Fatalf("create account: %d %s", status, body)
	}
	acc := body[strings.Index(body, `"id":"`)+6:]
	acc = acc[:strings.Index(acc, `"`)]
	status, body = do("POST", "/accounts/"+acc+"/invitations", op, `{"email":"bo@acme.example","permissions":["contacts:read"]}`)
	if status != 201 {
		t.Fatalf("invite: %d %s", status, body)
	}
	invID := body[strings.Index(body, `"id":"`)+6:]
	invID = invID[:strings.Index(invID, `"`)]
	var nonce string
	for _, raw := range testenv.Items(t, db, name) {
		var it map[string]any
		_ = attributevalue.UnmarshalMap(raw, &it)
		if it["id"] == invID {
			nonce, _ = it["nonce"].(string)
		}
	}
	good := keep(inv.Token(acc, invID, nonce))
	forged := keep(acc + "." + invID + ".Zm9yZ2VkLXNpZ25hdHVyZS1vZi10aGlydHktdHdvLWJ5dGVzLXh4")
	link := "https://portal.example/invitations/accept?token=" + good
	user := keep(mint("bo", false))
	expired, _ := signer.Sign(map[string]any{"iss": local.TokenIssuer, "aud": local.TokenAudience, "sub": "late", "exp": time.Now().Add(-time.Hour).Unix()})
	keep(expired)

	ids := map[string]string{"accountId": acc, "siteId": "site_01kawz8t6f3n3c1g5m0s2y8r4d", "contactId": "con_01kawz8t6f3n3c1g5m0s2y8r4e",
		"invitationId": invID, "userId": "bo"}
	bodies := []string{
		fmt.Sprintf(`{"token":%q}`, good),
		fmt.Sprintf(`{"token":%q}`, forged),
		fmt.Sprintf(`{"email":"bo@acme.example","link":%q,"token":%q}`, link, good),
		fmt.Sprintf(`{"items":[{"email":"x@acme.example","inviteLink":%q}]}`, link),
		fmt.Sprintf(`{"token":%q`, good), // not JSON
	}
	for _, r := range routes.All {
		path := r.Path
		for k, v := range ids {
			path = strings.ReplaceAll(path, "{"+k+"}", v)
		}
		send := func(bearer, b string) {
			do(r.Method, path+"?cursor="+good+"&token="+good, bearer, b,
				"Idempotency-Key", good, "Referer", link, "X-Invite", forged, "If-Match", good)
		}
		for _, b := range bodies {
			send(op, b)
		}
		send(user, bodies[0])
		send(expired, bodies[1])
		send(forged, bodies[2])
	}
	accepted := false
	for _, a := range answers {
		accepted = accepted || strings.HasPrefix(a, "POST /invitations/accept ") && strings.Contains(a, "-> 201")
	}
	if !accepted {
		t.Fatal("no accept with the good token succeeded: the token did not reach the operation")
	}

	var audit []string
	for _, raw := range testenv.Items(t, db, name) {
		var it map[string]any
		_ = attributevalue.UnmarshalMap(raw, &it)
		if strings.HasPrefix(fmt.Sprint(it["SK"]), "AUDIT#") {
			audit = append(audit, fmt.Sprint(it))
		}
	}
	if len(audit) < 3 {
		t.Fatalf("only %d audit entries: the requests did not reach the operations", len(audit))
	}
	places := map[string][]string{"log": strings.Split(logs.String(), "\n"), "audit entry": audit, "answer": answers}
	checked := 0
	for where, lines := range places {
		for _, line := range lines {
			checked++
			for _, s := range secrets {
				if strings.Contains(line, s) {
					t.Errorf("a %s holds a token (%.12s…): %.300s", where, s, line)
					break
				}
			}
		}
	}
	t.Logf("%d requests, %d log lines, %d audit entries checked for %d secrets", len(answers), len(places["log"]), len(audit), len(secrets))
}
