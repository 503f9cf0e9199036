package local

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"rollcall/shared/domain"
	"rollcall/shared/email"
	"rollcall/shared/invitetoken"
	"rollcall/shared/testenv"
)

// configBrokenSES refuses every email as SES does for an unverified sender identity until
// fixed is set.
type configBrokenSES struct {
	next  *sesv2.Client
	mu    sync.Mutex
	fixed bool
}

func (c *configBrokenSES) SendEmail(ctx context.Context, in *sesv2.SendEmailInput, o ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
	c.mu.Lock()
	fixed := c.fixed
	c.mu.Unlock()
	if !fixed {
		return nil, &sestypes.MessageRejected{Message: aws.String("Email address is not verified. The following identities failed the check in region US-EAST-1: no-reply@rollcall.local")}
	}
	return c.next.SendEmail(ctx, in, o...)
}

// TestRedriveAfterAConfigurationFault: with the sender identity unverified, SES refuses every
// email; the invitations are not marked failed, the records are retried and dead-lettered.
// Once the setup is fixed, the local re-drive sends each email exactly once; a second re-drive,
// or one of a record whose email SES had accepted already, sends nothing more.
func TestRedriveAfterAConfigurationFault(t *testing.T) {
	ses := startTestSES(t)
	db, tbl := testenv.DB(t)
	signer, _ := invitetoken.NewSigner([]byte(strings.Repeat("k", 32)))
	broken := &configBrokenSES{next: SESClient(ses.Endpoint)}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	fn, err := email.New(email.Options{DB: DynamoDBClient(testenv.Endpoint()), Table: tbl, SES: broken, Signer: signer,
		PortalURL: "http://127.0.0.1:3000", Sending: email.Sending{From: "no-reply@rollcall.local"}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	dl := filepath.Join(t.TempDir(), "dl.jsonl")
	p, err := NewPoller(context.Background(), PollerOptions{Endpoint: testenv.Endpoint(), Table: tbl, RetryDelay: -1, MaxRetries: 2,
		DeadLetters: dl, Logger: quiet}, fn.Handle)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		putE2EInvitation(t, db, tbl, e2eInvitation("acc_r", fmt.Sprintf("inv_%d", i), domain.KindUser, fmt.Sprintf("r%d@acme.example", i), "Acme"))
	}
	if err := p.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := p.Stats(); st.DeadLettered != 3 {
		t.Fatalf("stats %+v: want the 3 records dead-lettered", st)
	}
	for i := range 3 {
		if got := readInvitation(t, db, tbl, "acc_r", fmt.Sprintf("inv_%d", i)); got.Delivery != nil {
			t.Fatalf("a configuration fault wrote delivery %+v", got.Delivery)
		}
	}
	broken.mu.Lock()
	broken.fixed = true
	broken.mu.Unlock()
	res, err := Redrive(context.Background(), dl, fn.Handle)
	if err != nil || res.Records != 3 || res.Done != 3 || res.Kept != 0 {
		t.Fatalf("redrive %+v, %v", res, err)
	}
	again, err := Redrive(context.Background(), dl, fn.Handle)
	if err != nil || again.Records != 0 {
		t.Fatalf("second redrive %+v, %v", again, err)
	}
	count := func(to string) int {
		inbox, err := SESInbox(context.Background(), ses.Endpoint)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, m := range inbox {
			if m.Destination.To[0] == to {
				n++
			}
		}
		return n
	}
	for i := range 3 {
		if n := count(fmt.Sprintf("r%d@acme.example", i)); n != 1 {
			t.Errorf("r%d got %d emails, want 1", i, n)
		}
		if got := readInvitation(t, db, tbl, "acc_r", fmt.Sprintf("inv_%d", i)); got.Delivery == nil || got.Delivery.Status != "sent" {
			t.Errorf("inv_%d delivery %+v", i, got.Delivery)
		}
	}

	// A record whose email SES accepted already (its send record exists) sends nothing when it
	// is re-driven: the poller sends inv_x, then its stream record goes through a dead letter.
	putE2EInvitation(t, db, tbl, e2eInvitation("acc_r", "inv_x", domain.KindUser, "x@acme.example", "Acme"))
	if err := p.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	recs := streamRecordsOf(t, tbl, "INVITE#inv_x")
	line, _ := json.Marshal(map[string]any{"records": recs})
	if err := os.WriteFile(dl, append(line, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	if res, err := Redrive(context.Background(), dl, fn.Handle); err != nil || res.Done != len(recs) || len(recs) == 0 {
		t.Fatalf("redrive of an accepted email: %+v %v (%d records)", res, err, len(recs))
	}
	if n := count("x@acme.example"); n != 1 {
		t.Fatalf("x@acme.example got %d emails after a re-drive of an accepted send, want 1", n)
	}
}

// streamRecordsOf reads the table's stream from its start and returns the JSON of the INSERT
// records of sort key sk, as the poller hands them on.
func streamRecordsOf(t *testing.T, tbl, sk string) []json.RawMessage {
	t.Helper()
	var out []json.RawMessage
	p, err := NewPoller(context.Background(), PollerOptions{Endpoint: testenv.Endpoint(), Table: tbl, RetryDelay: -1, NoFilter: true,
		DeadLetters: filepath.Join(t.TempDir(), "x.jsonl"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))},
		func(_ context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
			for _, r := range ev.Records {
				if r.Change.Keys["SK"].String() == sk && r.EventName == "INSERT" {
					b, _ := json.Marshal(r)
					out = append(out, b)
				}
			}
			return events.DynamoDBEventResponse{}, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	return out
}
