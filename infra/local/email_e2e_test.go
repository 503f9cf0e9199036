package local

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"rollcall/shared/config"
	"rollcall/shared/domain"
	"rollcall/shared/email"
	"rollcall/shared/invitetoken"
	"rollcall/shared/signingkey"
	"rollcall/shared/table"
	"rollcall/shared/testenv"
)

// startTestSES starts the SES v2 emulator from node_modules on a free port for one test.
func startTestSES(t *testing.T) *SES {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	port, err := FreePort(0)
	if err != nil {
		t.Fatal(err)
	}
	ses, err := StartSES(context.Background(), SESOptions{Root: root, Port: port})
	if err != nil {
		t.Fatalf("cannot start the SES v2 emulator: %v", err) // says to run npm ci when node_modules is missing
	}
	t.Cleanup(func() { _ = ses.Stop() })
	return ses
}

func localAWS() aws.Config {
	return aws.Config{Region: Region, Credentials: credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, "")}
}

func putE2EInvitation(t *testing.T, db *dynamodb.Client, tbl string, inv domain.Invitation) {
	t.Helper()
	item, err := attributevalue.MarshalMap(struct {
		table.Key
		Entity string `dynamodbav:"entity"`
		domain.Invitation
	}{table.Invitation(inv.AccountID, inv.ID), "invitation", inv})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(tbl), Item: item}); err != nil {
		t.Fatal(err)
	}
}

func e2eInvitation(acc, id, kind, to, name string) domain.Invitation {
	now := time.Now().UTC().Truncate(time.Millisecond)
	return domain.Invitation{ID: id, AccountID: acc, AccountName: name, Kind: kind, Email: to, Permissions: []string{"contacts:read"},
		Status: domain.StatusPending, ExpiresAt: now.Add(7 * 24 * time.Hour), ExpiresInDays: 7, SendCount: 1, LastSentAt: now,
		InvitedBy: domain.Actor{Sub: "sub-ada", Email: "ada@acme.example"}, CreatedAt: now, Nonce: invitetoken.NewNonce()}
}

func readInvitation(t *testing.T, db *dynamodb.Client, tbl, acc, id string) domain.Invitation {
	t.Helper()
	k := table.Invitation(acc, id)
	key, _ := attributevalue.MarshalMap(k)
	out, err := db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(tbl), Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	var inv domain.Invitation
	if err := attributevalue.UnmarshalMap(out.Item, &inv); err != nil {
		t.Fatal(err)
	}
	return inv
}

func acceptToken(t *testing.T, body string) string {
	t.Helper()
	const marker = "/invitations/accept?token="
	i := strings.Index(body, marker)
	if i < 0 {
		t.Fatalf("no accept link in %q", body)
	}
	tok := body[i+len(marker):]
	if j := strings.IndexAny(tok, " \n\"<"); j >= 0 {
		tok = tok[:j]
	}
	tok, err := url.QueryUnescape(tok)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestEmailEndToEnd: an invitation written to the table reaches the SES v2 emulator's inbox
// through the table's stream, the poller and the email function as deployed (clients built by
// email.FromConfig), with a link that verifies under the local signing key; a resend sends the
// new link; the function's own writes send nothing.
func TestEmailEndToEnd(t *testing.T) {
	ses := startTestSES(t)
	db, tbl := testenv.DB(t)
	cfg, err := config.FromLookup(func(k string) string {
		return map[string]string{
			config.EnvTableName:        tbl,
			config.EnvDynamoDBEndpoint: testenv.Endpoint(),
			config.EnvSESEndpoint:      ses.Endpoint,
			config.EnvSigningKeyFile:   filepath.Join(t.TempDir(), "invitation-signing-key"),
			config.EnvPortalURL:        "http://127.0.0.1:3000",
			config.EnvSenderEmail:      "no-reply@rollcall.local",
			config.EnvReplyTo:          "support@rollcall.local",
		}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	fn, err := email.FromConfig(ctx, cfg, localAWS())
	if err != nil {
		t.Fatal(err)
	}
	key, err := signingkey.Load(ctx, cfg, localAWS())
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := invitetoken.NewSigner(key)
	p, err := NewPoller(ctx, PollerOptions{Endpoint: testenv.Endpoint(), Table: tbl, DeadLetters: filepath.Join(t.TempDir(), "dl.jsonl"),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, fn.Handle)
	if err != nil {
		t.Fatal(err)
	}

	inv := e2eInvitation("acc_e2e", "inv_e2e", domain.KindUser, "grace@acme.example", "<script>Acme</script>\r\nBcc: x@evil.example")
	putE2EInvitation(t, db, tbl, inv)
	if err := p.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	inbox, err := SESInbox(ctx, ses.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	if len(inbox) != 1 {
		t.Fatalf("%d emails in the emulator, want 1", len(inbox))
	}
	m := inbox[0]
	if m.From != "no-reply@rollcall.local" || len(m.Destination.To) != 1 || m.Destination.To[0] != "grace@acme.example" ||
		len(m.ReplyTo) != 1 || m.ReplyTo[0] != "support@rollcall.local" {
		t.Fatalf("email %+v", m)
	}
	if want := "ada@acme.example invited you to <script>Acme</script> Bcc: x@evil.example"; m.Subject != want {
		t.Fatalf("subject %q, want %q", m.Subject, want)
	}
	if strings.Contains(m.Body.HTML, "<script>") || !strings.Contains(m.Body.HTML, "&lt;script&gt;Acme&lt;/script&gt;") {
		t.Fatal("the HTML body does not escape the account name")
	}
	for _, body := range []string{m.Body.Text, m.Body.HTML} {
		if tok := acceptToken(t, body); !signer.Verify(tok, "acc_e2e", "inv_e2e", inv.Nonce) {
			t.Fatalf("link token %q does not verify", tok)
		}
	}
	got := readInvitation(t, db, tbl, "acc_e2e", "inv_e2e")
	if got.Delivery == nil || got.Delivery.Status != "sent" || got.Delivery.MessageID != m.MessageID {
		t.Fatalf("delivery %+v, want sent with the emulator's message id %s", got.Delivery, m.MessageID)
	}

	// A resend: a new link; the old one no longer verifies.
	resent := got
	resent.SendCount, resent.Nonce, resent.Delivery = 2, invitetoken.NewNonce(), nil
	putE2EInvitation(t, db, tbl, resent)
	if err := p.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Poll(ctx); err != nil { // the write-backs: nothing more
		t.Fatal(err)
	}
	inbox, _ = SESInbox(ctx, ses.Endpoint)
	if len(inbox) != 2 {
		t.Fatalf("%d emails after the resend, want 2", len(inbox))
	}
	tok := acceptToken(t, inbox[1].Body.Text)
	if !signer.Verify(tok, "acc_e2e", "inv_e2e", resent.Nonce) || signer.Verify(tok, "acc_e2e", "inv_e2e", inv.Nonce) {
		t.Fatal("the resend's link is not the new one")
	}
	if st := p.Stats(); st.DeadLettered != 0 || st.FunctionErrors != 0 || st.PartialFailure != 0 {
		t.Fatalf("poller stats %+v", st)
	}
	if err := ClearSESInbox(ctx, ses.Endpoint); err != nil {
		t.Fatal(err)
	}
	if inbox, _ = SESInbox(ctx, ses.Endpoint); len(inbox) != 0 {
		t.Fatalf("%d emails after clearing", len(inbox))
	}
}

// flakySES fails a share of SendEmail calls before they reach the emulator, and kills the
// invocation (a panic) right after the emulator accepted the crashAt-th email.
type flakySES struct {
	next    *sesv2.Client
	mu      sync.Mutex
	rng     *rand.Rand
	rate    float64
	calls   int
	failed  int
	crashAt map[int]bool
	crashed int
}

func (f *flakySES) SendEmail(ctx context.Context, in *sesv2.SendEmailInput, o ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
	f.mu.Lock()
	f.calls++
	call, fail := f.calls, f.rng.Float64() < f.rate
	if fail {
		f.failed++
	}
	f.mu.Unlock()
	if fail {
		return nil, &sestypes.TooManyRequestsException{Message: aws.String("Maximum sending rate exceeded.")}
	}
	out, err := f.next.SendEmail(ctx, in, o...)
	if err == nil && f.crashAt[call] {
		f.mu.Lock()
		f.crashed++
		f.mu.Unlock()
		panic("killed after SES accepted")
	}
	return out, err
}

// TestEmailEndToEndUnderFaults: through the poller and the emulator, with 30 % of sends
// throttled and the function killed twice right after SES accepted, every invitation's email
// arrives with its link, and the only duplicates are the two crashes'.
func TestEmailEndToEndUnderFaults(t *testing.T) {
	ses := startTestSES(t)
	db, tbl := testenv.DB(t)
	key := []byte(strings.Repeat("k", 32))
	signer, _ := invitetoken.NewSigner(key)
	flaky := &flakySES{next: SESClient(ses.Endpoint), rng: rand.New(rand.NewPCG(7, 7)), rate: 0.3, crashAt: map[int]bool{5: true, 17: true}}
	fn, err := email.New(email.Options{DB: DynamoDBClient(testenv.Endpoint()), Table: tbl, SES: flaky, Signer: signer,
		PortalURL: "http://127.0.0.1:3000", Sending: email.Sending{From: "no-reply@rollcall.local"},
		Retry:  email.RetryPolicy{SendAttempts: 3, WriteAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, AttemptTimeout: 5 * time.Second, Reserve: time.Second},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPoller(context.Background(), PollerOptions{Endpoint: testenv.Endpoint(), Table: tbl, RetryDelay: -1,
		DeadLetters: filepath.Join(t.TempDir(), "dl.jsonl"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, fn.Handle)
	if err != nil {
		t.Fatal(err)
	}
	invs := map[string]domain.Invitation{}
	for i := range 25 {
		inv := e2eInvitation("acc_f", fmt.Sprintf("inv_%02d", i), domain.KindWelcome, fmt.Sprintf("p%02d@acme.example", i), "Acme")
		putE2EInvitation(t, db, tbl, inv)
		invs[inv.ID] = inv
	}
	for range 3 {
		if err := p.Poll(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	inbox, err := SESInbox(context.Background(), ses.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	perInvitation := map[string]int{}
	for _, m := range inbox {
		tok := acceptToken(t, m.Body.Text)
		_, id, _ := invitetoken.Parse(tok)
		if inv, ok := invs[id]; !ok || !signer.Verify(tok, "acc_f", id, inv.Nonce) || m.Destination.To[0] != inv.Email {
			t.Fatalf("email %s to %v with a link that is not its invitation's", m.MessageID, m.Destination.To)
		}
		perInvitation[id]++
	}
	dups := 0
	for id := range invs {
		if perInvitation[id] == 0 {
			t.Errorf("%s: no email", id)
		}
		dups += max(perInvitation[id]-1, 0)
	}
	st := p.Stats()
	t.Logf("25 invitations: %d emails in the emulator from %d SES calls (%d throttled), %d crashes after acceptance, %d function errors, %d partial failures, %d bisections, %d dead-lettered: %d duplicates",
		len(inbox), flaky.calls, flaky.failed, flaky.crashed, st.FunctionErrors, st.PartialFailure, st.Bisections, st.DeadLettered, dups)
	if st.DeadLettered != 0 {
		t.Errorf("%d records dead-lettered", st.DeadLettered)
	}
	if dups > flaky.crashed {
		t.Errorf("%d duplicates from %d crashes after acceptance", dups, flaky.crashed)
	}
	if flaky.crashed == 0 || flaky.failed == 0 {
		t.Errorf("the faults did not happen: %d crashes, %d throttles", flaky.crashed, flaky.failed)
	}
}
