package email

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"rollcall/shared/domain"
	"rollcall/shared/invitetoken"
	"rollcall/shared/table"
	"rollcall/shared/testenv"
)

var testKey = bytes.Repeat([]byte{7}, 32)

func testSigner(t testing.TB) *invitetoken.Signer {
	t.Helper()
	s, err := invitetoken.NewSigner(testKey)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const testPortal = "https://portal.example"

// fastRetry retries quickly, so tests of the retry paths take milliseconds.
var fastRetry = RetryPolicy{SendAttempts: 3, WriteAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond,
	AttemptTimeout: 5 * time.Second, Reserve: time.Second}

// newTestFunction builds the function over db/tbl with ses; logs go to logBuf when it is set.
func newTestFunction(t testing.TB, db DB, tbl string, ses SES, logBuf io.Writer) *Function {
	t.Helper()
	if logBuf == nil {
		logBuf = io.Discard
	}
	f, err := New(Options{DB: db, Table: tbl, SES: ses, Signer: testSigner(t), PortalURL: testPortal,
		Sending: Sending{From: "no-reply@rollcall.example", ReplyTo: "support@vendor.example", ConfigurationSet: "rollcall-test"},
		Retry:   fastRetry, Logger: slog.New(slog.NewJSONHandler(logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// invitation is a pending invitation as the invitations operations store it.
func invitation(acc, id, kind, email string) domain.Invitation {
	now := time.Now().UTC().Truncate(time.Millisecond)
	return domain.Invitation{ID: id, AccountID: acc, AccountName: "Acme Corp", Kind: kind, Email: email,
		Permissions: []string{"contacts:read"}, Status: domain.StatusPending, ExpiresAt: now.Add(7 * 24 * time.Hour),
		ExpiresInDays: 7, SendCount: 1, LastSentAt: now, InvitedBy: domain.Actor{Sub: "sub-ada", Email: "ada@acme.example"},
		CreatedAt: now, Nonce: invitetoken.NewNonce()}
}

// putInvitation writes inv as the store does (its key, entity and the invitation's attributes).
func putInvitation(t testing.TB, db *dynamodb.Client, tbl string, inv domain.Invitation) {
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

// resend writes a resend of inv (R14) and returns it.
func resend(t testing.TB, db *dynamodb.Client, tbl string, inv domain.Invitation) domain.Invitation {
	t.Helper()
	inv.SendCount++
	inv.Nonce = invitetoken.NewNonce()
	inv.LastSentAt = time.Now().UTC().Truncate(time.Millisecond)
	inv.Delivery = nil
	putInvitation(t, db, tbl, inv)
	return inv
}

// getInvitation reads an invitation back.
func getInvitation(t testing.TB, db *dynamodb.Client, tbl, acc, id string) (domain.Invitation, bool) {
	t.Helper()
	out, err := db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(tbl),
		Key: keyAV(table.Invitation(acc, id)), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	var inv domain.Invitation
	if out.Item == nil {
		return inv, false
	}
	if err := attributevalue.UnmarshalMap(out.Item, &inv); err != nil {
		t.Fatal(err)
	}
	return inv, true
}

// getSendRecord reads the send record of send n of an invitation.
func getSendRecord(t testing.TB, db *dynamodb.Client, tbl, acc, id string, n int) (SendRecord, map[string]any, bool) {
	t.Helper()
	out, err := db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(tbl),
		Key: keyAV(table.EmailSend(acc, id, n)), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	var r SendRecord
	var raw map[string]any
	if out.Item == nil {
		return r, nil, false
	}
	if err := attributevalue.UnmarshalMap(out.Item, &r); err != nil {
		t.Fatal(err)
	}
	if err := attributevalue.UnmarshalMap(out.Item, &raw); err != nil {
		t.Fatal(err)
	}
	return r, raw, true
}

// streamReader reads a table's stream from its start, as Lambda's event source would, and
// returns records exactly as Lambda delivers them: the GetRecords answer's JSON decoded into
// events.DynamoDBEvent.
type streamReader struct {
	streams *dynamodbstreams.Client
	arn     string
	iters   map[string]*string // shard id → next iterator
	last    []byte
	mu      sync.Mutex
}

func newStreamReader(t testing.TB, db *dynamodb.Client, tbl string) *streamReader {
	t.Helper()
	out, err := db.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(tbl)})
	if err != nil {
		t.Fatal(err)
	}
	r := &streamReader{arn: aws.ToString(out.Table.LatestStreamArn), iters: map[string]*string{}}
	r.streams = dynamodbstreams.New(dynamodbstreams.Options{Region: testenv.Region, BaseEndpoint: aws.String(testenv.Endpoint()),
		Credentials: credentials.NewStaticCredentialsProvider(testenv.AccessKey, testenv.SecretKey, ""), HTTPClient: rawCapture{r}})
	return r
}

type rawCapture struct{ r *streamReader }

func (c rawCapture) Do(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	c.r.mu.Lock()
	c.r.last = b
	c.r.mu.Unlock()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, nil
}

// next returns every record written since the last call.
func (r *streamReader) next(t testing.TB) []events.DynamoDBEventRecord {
	t.Helper()
	ctx := context.Background()
	desc, err := r.streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(r.arn)})
	if err != nil {
		t.Fatal(err)
	}
	var all []events.DynamoDBEventRecord
	for _, sh := range desc.StreamDescription.Shards {
		id := aws.ToString(sh.ShardId)
		it, ok := r.iters[id]
		if !ok {
			out, err := r.streams.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(r.arn),
				ShardId: sh.ShardId, ShardIteratorType: streamtypes.ShardIteratorTypeTrimHorizon})
			if err != nil {
				t.Fatal(err)
			}
			it = out.ShardIterator
		}
		for it != nil {
			out, err := r.streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: it})
			if err != nil {
				t.Fatal(err)
			}
			r.mu.Lock()
			raw := r.last
			r.mu.Unlock()
			var ev events.DynamoDBEvent
			if err := json.Unmarshal(raw, &ev); err != nil {
				t.Fatalf("decode GetRecords answer: %v", err)
			}
			if len(ev.Records) != len(out.Records) {
				t.Fatalf("raw answer has %d records, SDK %d", len(ev.Records), len(out.Records))
			}
			for i := range ev.Records {
				ev.Records[i].EventSourceArn = r.arn
			}
			all = append(all, ev.Records...)
			it = out.NextShardIterator
			if len(out.Records) == 0 {
				break
			}
		}
		r.iters[id] = it
	}
	return all
}

// fakeSES is an SES v2 stand-in: it accepts emails into an inbox unless told to fail.
type fakeSES struct {
	mu     sync.Mutex
	inbox  []sentEmail
	calls  int
	fail   func(call int, in *sesv2.SendEmailInput) error // nil: accept everything
	nextID atomic.Int64
}

type sentEmail struct {
	MessageID string
	To        string
	In        *sesv2.SendEmailInput
}

func (s *fakeSES) SendEmail(ctx context.Context, in *sesv2.SendEmailInput, _ ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
	s.mu.Lock()
	s.calls++
	call := s.calls
	fail := s.fail
	s.mu.Unlock()
	if fail != nil {
		if err := fail(call, in); err != nil {
			return nil, err
		}
	}
	return s.accept(in), nil
}

func (s *fakeSES) accept(in *sesv2.SendEmailInput) *sesv2.SendEmailOutput {
	id := fmt.Sprintf("fake-%06d", s.nextID.Add(1))
	s.mu.Lock()
	s.inbox = append(s.inbox, sentEmail{MessageID: id, To: in.Destination.ToAddresses[0], In: in})
	s.mu.Unlock()
	return &sesv2.SendEmailOutput{MessageId: aws.String(id)}
}

func (s *fakeSES) sent() []sentEmail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sentEmail(nil), s.inbox...)
}

func (s *fakeSES) callCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

func textOf(in *sesv2.SendEmailInput) string { return aws.ToString(in.Content.Simple.Body.Text.Data) }

var (
	errThrottled = &sestypes.TooManyRequestsException{Message: aws.String("Maximum sending rate exceeded.")}
	errInternal  = &sestypes.InternalServiceErrorException{Message: aws.String("internal failure")}
	errBadAddr   = &sestypes.BadRequestException{Message: aws.String("Illegal address")}
	errRejected  = &sestypes.MessageRejected{Message: aws.String("Email address is not verified. The following identities failed the check in region EU-WEST-1: grace@acme.example")}
	errPaused    = &sestypes.SendingPausedException{Message: aws.String("Sending is paused for this account.")}
	errMailFrom  = &sestypes.MailFromDomainNotVerifiedException{Message: aws.String("MAIL FROM domain is not verified.")}
)

// countingDB counts the table calls the function makes.
type countingDB struct {
	DB
	gets, puts, updates atomic.Int32
	failUpdates         atomic.Int32 // fail this many UpdateItem calls first
}

func (c *countingDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.gets.Add(1)
	return c.DB.GetItem(ctx, in, o...)
}

func (c *countingDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	c.puts.Add(1)
	return c.DB.PutItem(ctx, in, o...)
}

func (c *countingDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.updates.Add(1)
	if c.failUpdates.Load() > 0 {
		c.failUpdates.Add(-1)
		return nil, fmt.Errorf("injected: %w", context.DeadlineExceeded)
	}
	return c.DB.UpdateItem(ctx, in, o...)
}

func (c *countingDB) calls() int { return int(c.gets.Load() + c.puts.Load() + c.updates.Load()) }

// linkToken extracts the token of the accept link in a plain-text body.
func linkToken(t testing.TB, text string) string {
	t.Helper()
	const marker = "/invitations/accept?token="
	i := strings.Index(text, marker)
	if i < 0 {
		t.Fatalf("no accept link in %q", text)
	}
	tok := text[i+len(marker):]
	if j := strings.IndexAny(tok, " \n"); j >= 0 {
		tok = tok[:j]
	}
	return tok
}
