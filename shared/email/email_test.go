package email

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"

	"rollcall/shared/domain"
	"rollcall/shared/table"
	"rollcall/shared/testenv"
)

func handle(t *testing.T, f *Function, recs []events.DynamoDBEventRecord) events.DynamoDBEventResponse {
	t.Helper()
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-test"})
	resp, err := f.Handle(ctx, events.DynamoDBEvent{Records: recs})
	if err != nil {
		t.Fatalf("Handle returned an error: %v", err)
	}
	return resp
}

// emfLines sums the metrics of the EMF lines in logs: "Name" for lines without a Class
// dimension, "Name/class" for those with one.
func emfLines(t *testing.T, logs *bytes.Buffer) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var doc map[string]any
		if err := json.Unmarshal([]byte(line), &doc); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		meta, ok := doc["_aws"].(map[string]any)
		if !ok {
			continue
		}
		for _, d := range meta["CloudWatchMetrics"].([]any) {
			for _, m := range d.(map[string]any)["Metrics"].([]any) {
				name := m.(map[string]any)["Name"].(string)
				key := name
				if c, ok := doc["Class"].(string); ok {
					key += "/" + c
				}
				out[key] += doc[name].(float64)
			}
		}
	}
	return out
}

func failures(resp events.DynamoDBEventResponse) []string {
	var ids []string
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	return ids
}

func TestSendsInvitationEmailAndRecordsIt(t *testing.T) {
	db, tbl := testenv.DB(t)
	ses := &fakeSES{}
	var logs bytes.Buffer
	f := newTestFunction(t, db, tbl, ses, &logs)
	stream := newStreamReader(t, db, tbl)

	inv := invitation("acc_1", "inv_1", domain.KindUser, "grace@acme.example")
	putInvitation(t, db, tbl, inv)
	if resp := handle(t, f, stream.next(t)); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures %v", failures(resp))
	}
	sent := ses.sent()
	if len(sent) != 1 {
		t.Fatalf("%d emails sent, want 1", len(sent))
	}
	in := sent[0].In
	if sent[0].To != "grace@acme.example" || aws.ToString(in.FromEmailAddress) != "no-reply@rollcall.example" ||
		aws.ToString(in.ConfigurationSetName) != "rollcall-test" || len(in.ReplyToAddresses) != 1 || in.ReplyToAddresses[0] != "support@vendor.example" {
		t.Fatalf("request %+v", in)
	}
	if tok := linkToken(t, textOf(in)); !testSigner(t).Verify(tok, inv.AccountID, inv.ID, inv.Nonce) {
		t.Fatalf("link token %q does not verify", tok)
	}

	rec, raw, ok := getSendRecord(t, db, tbl, "acc_1", "inv_1", 1)
	if !ok || rec.MessageID != sent[0].MessageID || rec.Entity != EntitySend || rec.Kind != domain.KindUser {
		t.Fatalf("send record %+v (exists %v)", rec, ok)
	}
	ttl, _ := raw[table.TTLAttribute].(float64)
	if want := float64(rec.SentAt.Add(DefaultSendRecordTTL).Unix()); ttl != want {
		t.Fatalf("send record ttl %v, want %v", raw[table.TTLAttribute], want)
	}
	got, _ := getInvitation(t, db, tbl, "acc_1", "inv_1")
	if got.Delivery == nil || got.Delivery.Status != "sent" || got.Delivery.MessageID != sent[0].MessageID || got.Delivery.At.IsZero() {
		t.Fatalf("delivery %+v", got.Delivery)
	}
	if got.SendCount != 1 || got.Nonce != inv.Nonce || !got.LastSentAt.Equal(inv.LastSentAt) {
		t.Fatalf("the write-back changed the invitation: %+v", got)
	}

	// The stream now holds the function's own writes (send record, delivery write-back): ignored.
	before := ses.callCount()
	if resp := handle(t, f, stream.next(t)); len(resp.BatchItemFailures) != 0 || ses.callCount() != before {
		t.Fatalf("own writes triggered sends or failures: %v", failures(resp))
	}

	// Logs: ids only, never the recipient, the inviter or the account's name.
	for _, personal := range []string{"grace@acme.example", "ada@acme.example", "Acme Corp"} {
		if strings.Contains(logs.String(), personal) {
			t.Errorf("logs contain %q:\n%s", personal, logs.String())
		}
	}
	if !strings.Contains(logs.String(), `"requestId":"req-test"`) || !strings.Contains(logs.String(), `"invitationId":"inv_1"`) {
		t.Errorf("logs lack the request or invitation id:\n%s", logs.String())
	}
}

func TestRedeliveryIsNotSentAgain(t *testing.T) {
	db, tbl := testenv.DB(t)
	ses := &fakeSES{}
	f := newTestFunction(t, db, tbl, ses, nil)
	stream := newStreamReader(t, db, tbl)
	putInvitation(t, db, tbl, invitation("acc_1", "inv_1", domain.KindOwner, "ada@acme.example"))
	batch := stream.next(t)
	for range 3 { // the same batch, as Lambda redelivers it after a timeout
		if resp := handle(t, f, batch); len(resp.BatchItemFailures) != 0 {
			t.Fatalf("failures %v", failures(resp))
		}
	}
	if n := len(ses.sent()); n != 1 {
		t.Fatalf("%d emails for one send, want 1", n)
	}
}

func TestRedeliveryFinishesDeliveryWriteBack(t *testing.T) {
	db, tbl := testenv.DB(t)
	ses := &fakeSES{}
	cdb := &countingDB{DB: db}
	f := newTestFunction(t, cdb, tbl, ses, nil)
	stream := newStreamReader(t, db, tbl)
	putInvitation(t, db, tbl, invitation("acc_1", "inv_1", domain.KindWelcome, "linus@acme.example"))
	batch := stream.next(t)

	cdb.failUpdates.Store(int32(fastRetry.WriteAttempts)) // the delivery write-back keeps failing
	resp := handle(t, f, batch)
	if got := failures(resp); len(got) != 1 || got[0] != batch[0].Change.SequenceNumber {
		t.Fatalf("failures %v, want the record", got)
	}
	if _, _, ok := getSendRecord(t, db, tbl, "acc_1", "inv_1", 1); !ok {
		t.Fatal("no send record although SES accepted")
	}
	if inv, _ := getInvitation(t, db, tbl, "acc_1", "inv_1"); inv.Delivery != nil {
		t.Fatalf("delivery written: %+v", inv.Delivery)
	}

	resp = handle(t, f, batch) // the retry: no second email, the delivery written
	if len(resp.BatchItemFailures) != 0 || len(ses.sent()) != 1 {
		t.Fatalf("retry: failures %v, %d emails", failures(resp), len(ses.sent()))
	}
	inv, _ := getInvitation(t, db, tbl, "acc_1", "inv_1")
	if inv.Delivery == nil || inv.Delivery.Status != "sent" || inv.Delivery.MessageID != ses.sent()[0].MessageID {
		t.Fatalf("delivery %+v", inv.Delivery)
	}
}

// TestPermanentRejectionDoesNotBlock: an address SES refuses as malformed and an invitation
// email that is not one address mark their invitations failed; the records after them are sent
// in the same invocation.
func TestPermanentRejectionDoesNotBlock(t *testing.T) {
	db, tbl := testenv.DB(t)
	ses := &fakeSES{fail: func(_ int, in *sesv2.SendEmailInput) error {
		if in.Destination.ToAddresses[0] == "bounce@acme.example" {
			return errBadAddr
		}
		return nil
	}}
	var logs bytes.Buffer
	f := newTestFunction(t, db, tbl, ses, &logs)
	stream := newStreamReader(t, db, tbl)
	putInvitation(t, db, tbl, invitation("acc_1", "inv_a", domain.KindUser, "bounce@acme.example"))
	putInvitation(t, db, tbl, invitation("acc_1", "inv_c", domain.KindUser, "grace@acme.example"))
	putInvitation(t, db, tbl, invitation("acc_1", "inv_d", domain.KindUser, "not an address"))
	putInvitation(t, db, tbl, invitation("acc_1", "inv_e", domain.KindUser, "linus@acme.example"))

	if resp := handle(t, f, stream.next(t)); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures %v", failures(resp))
	}
	for id, want := range map[string]string{"inv_a": ReasonInvalidAddress, "inv_d": ReasonInvalidRecipient} {
		inv, _ := getInvitation(t, db, tbl, "acc_1", id)
		if inv.Delivery == nil || inv.Delivery.Status != "failed" || inv.Delivery.Reason != want || inv.Delivery.MessageID != "" {
			t.Errorf("%s delivery %+v, want failed %s", id, inv.Delivery, want)
		}
		if inv.SendCount != 1 {
			t.Errorf("%s send count %d", id, inv.SendCount)
		}
		if _, _, ok := getSendRecord(t, db, tbl, "acc_1", id, 1); ok {
			t.Errorf("%s has a send record", id)
		}
	}
	for _, id := range []string{"inv_c", "inv_e"} {
		if inv, _ := getInvitation(t, db, tbl, "acc_1", id); inv.Delivery == nil || inv.Delivery.Status != "sent" {
			t.Errorf("%s delivery %+v, want sent", id, inv.Delivery)
		}
	}
	// The permanent rejection was tried once, not retried; the invalid address never reached SES.
	if calls := ses.callCount(); calls != 3 {
		t.Errorf("%d SES calls, want 3 (one rejection, two sends)", calls)
	}
	m := emfLines(t, &logs)
	if m["EmailsSent"] != 2 || m["EmailsFailed/address"] != 1 || m["EmailsFailed/invalid"] != 1 || m["EmailsRetried"] != 0 {
		t.Errorf("metrics %v", m)
	}
	if !strings.Contains(logs.String(), `"sesErrorCode":"BadRequestException"`) {
		t.Errorf("no log line with the SES error code:\n%s", logs.String())
	}
}

// TestConfigurationFaultsAreRetriedNotFailed: SES refusing an email because of the account's
// setup (sandbox or unverified sender, sending paused, MAIL FROM domain not verified, suspended,
// configuration set missing, access denied) never marks the invitation failed: the record is
// reported for the event source's retries at once (no retry within the invocation, which cannot
// help), counted as EmailsFailed{Class=configuration} and logged at ERROR with SES's error code;
// once the setup is fixed the retry sends it.
func TestConfigurationFaultsAreRetriedNotFailed(t *testing.T) {
	faults := map[string]error{
		"MessageRejected":                    errRejected,
		"SendingPausedException":             errPaused,
		"MailFromDomainNotVerifiedException": errMailFrom,
		"AccountSuspendedException":          &sestypes.AccountSuspendedException{Message: aws.String("suspended")},
		"NotFoundException":                  &sestypes.NotFoundException{Message: aws.String("Configuration set <x> does not exist.")},
		"AccessDeniedException":              &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized", Fault: smithy.FaultClient},
	}
	for code, fault := range faults {
		t.Run(code, func(t *testing.T) {
			db, tbl := testenv.DB(t)
			broken := true
			ses := &fakeSES{fail: func(int, *sesv2.SendEmailInput) error {
				if broken {
					return fault
				}
				return nil
			}}
			var logs bytes.Buffer
			f := newTestFunction(t, db, tbl, ses, &logs)
			stream := newStreamReader(t, db, tbl)
			putInvitation(t, db, tbl, invitation("acc_1", "inv_a", domain.KindUser, "grace@acme.example"))
			putInvitation(t, db, tbl, invitation("acc_1", "inv_b", domain.KindUser, "linus@acme.example"))
			batch := stream.next(t)
			resp := handle(t, f, batch)
			if got := failures(resp); len(got) != 1 || got[0] != batch[0].Change.SequenceNumber {
				t.Fatalf("failures %v, want the first record", got)
			}
			if ses.callCount() != 1 {
				t.Errorf("%d SES calls: a configuration fault is not retried within the invocation", ses.callCount())
			}
			if inv, _ := getInvitation(t, db, tbl, "acc_1", "inv_a"); inv.Delivery != nil {
				t.Fatalf("delivery %+v written for a configuration fault", inv.Delivery)
			}
			m := emfLines(t, &logs)
			if m["EmailsFailed/configuration"] != 1 || m["EmailsRetried"] != 1 || m["EmailsSent"] != 0 {
				t.Errorf("metrics %v", m)
			}
			if !strings.Contains(logs.String(), `"level":"ERROR"`) || !strings.Contains(logs.String(), `"sesErrorCode":"`+code+`"`) {
				t.Errorf("no ERROR line naming %s:\n%s", code, logs.String())
			}
			broken = false
			if resp := handle(t, f, batch); len(resp.BatchItemFailures) != 0 {
				t.Fatalf("after the fix: failures %v", failures(resp))
			}
			for _, id := range []string{"inv_a", "inv_b"} {
				if inv, _ := getInvitation(t, db, tbl, "acc_1", id); inv.Delivery == nil || inv.Delivery.Status != "sent" {
					t.Errorf("%s delivery %+v after the fix", id, inv.Delivery)
				}
			}
		})
	}
}

// TestClassify: every error SES v2's SendEmail declares, and the rest, fall in the intended class.
func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err   error
		class string
	}{
		{&sestypes.TooManyRequestsException{}, ClassThrottled},
		{&sestypes.LimitExceededException{}, ClassThrottled},
		{&sestypes.AccountSuspendedException{}, ClassConfiguration},
		{&sestypes.SendingPausedException{}, ClassConfiguration},
		{&sestypes.MailFromDomainNotVerifiedException{}, ClassConfiguration},
		{&sestypes.NotFoundException{}, ClassConfiguration},
		{errRejected, ClassConfiguration},
		{&sestypes.MessageRejected{Message: aws.String("Message length is more than 10485760 bytes long.")}, ClassConfiguration},
		{&sestypes.MessageRejected{Message: aws.String("Illegal address")}, ClassAddress},
		{&sestypes.BadRequestException{Message: aws.String("Missing final '@domain'")}, ClassAddress},
		{&sestypes.BadRequestException{Message: aws.String("1 validation error detected")}, ClassConfiguration},
		{&sestypes.InternalServiceErrorException{}, ClassTransient},
		{&smithy.GenericAPIError{Code: "ServiceUnavailable", Fault: smithy.FaultServer}, ClassTransient},
		{&smithy.GenericAPIError{Code: "AccessDeniedException", Fault: smithy.FaultClient}, ClassConfiguration},
		{fmt.Errorf("operation error SESv2: SendEmail: %w", context.DeadlineExceeded), ClassTransient},
		{errors.New("dial tcp: connection refused"), ClassTransient},
	} {
		f := Classify(tc.err)
		if f.Class != tc.class {
			t.Errorf("%T %v: class %s, want %s", tc.err, tc.err, f.Class, tc.class)
		}
		if (f.Class == ClassAddress) != (f.Reason == ReasonInvalidAddress) {
			t.Errorf("%v: reason %q", tc.err, f.Reason)
		}
	}
}

// TestTransientFailureStopsTheBatch: a record that keeps failing is reported, nothing after it
// is attempted, and the retry from it completes the batch.
func TestTransientFailureStopsTheBatch(t *testing.T) {
	db, tbl := testenv.DB(t)
	down := true
	ses := &fakeSES{fail: func(_ int, in *sesv2.SendEmailInput) error {
		if down && in.Destination.ToAddresses[0] == "b@acme.example" {
			return errThrottled
		}
		return nil
	}}
	f := newTestFunction(t, db, tbl, ses, nil)
	stream := newStreamReader(t, db, tbl)
	for _, id := range []string{"a", "b", "c"} {
		putInvitation(t, db, tbl, invitation("acc_1", "inv_"+id, domain.KindUser, id+"@acme.example"))
	}
	batch := stream.next(t)
	resp := handle(t, f, batch)
	if got := failures(resp); len(got) != 1 || got[0] != batch[1].Change.SequenceNumber {
		t.Fatalf("failures %v, want only record b's %s", got, batch[1].Change.SequenceNumber)
	}
	if calls := ses.callCount(); calls != 1+fastRetry.SendAttempts {
		t.Fatalf("%d SES calls, want 1 + %d attempts for b, none for c", calls, fastRetry.SendAttempts)
	}
	if inv, _ := getInvitation(t, db, tbl, "acc_1", "inv_b"); inv.Delivery != nil {
		t.Fatalf("a transient failure wrote a delivery: %+v", inv.Delivery)
	}

	down = false
	if resp := handle(t, f, batch[1:]); len(resp.BatchItemFailures) != 0 { // Lambda resumes from b
		t.Fatalf("retry failures %v", failures(resp))
	}
	if n := len(ses.sent()); n != 3 {
		t.Fatalf("%d emails, want 3", n)
	}
}

func TestTransientFailureIsRetriedWithinTheInvocation(t *testing.T) {
	db, tbl := testenv.DB(t)
	ses := &fakeSES{fail: func(call int, _ *sesv2.SendEmailInput) error {
		if call < fastRetry.SendAttempts {
			return []error{errThrottled, errInternal}[call%2]
		}
		return nil
	}}
	f := newTestFunction(t, db, tbl, ses, nil)
	stream := newStreamReader(t, db, tbl)
	putInvitation(t, db, tbl, invitation("acc_1", "inv_1", domain.KindUser, "grace@acme.example"))
	if resp := handle(t, f, stream.next(t)); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures %v", failures(resp))
	}
	if len(ses.sent()) != 1 || ses.callCount() != fastRetry.SendAttempts {
		t.Fatalf("%d sent after %d calls", len(ses.sent()), ses.callCount())
	}
}

// TestTimeBudget: near the deadline the function starts no SES attempt and no back-off it could
// not finish, and reports the record for the retry instead.
func TestTimeBudget(t *testing.T) {
	db, tbl := testenv.DB(t)
	ses := &fakeSES{fail: func(int, *sesv2.SendEmailInput) error { return errThrottled }}
	f := newTestFunction(t, db, tbl, ses, nil)
	f.retry = RetryPolicy{SendAttempts: 100, WriteAttempts: 3, BaseDelay: 50 * time.Millisecond, MaxDelay: 50 * time.Millisecond,
		AttemptTimeout: 200 * time.Millisecond, Reserve: 100 * time.Millisecond}
	stream := newStreamReader(t, db, tbl)
	putInvitation(t, db, tbl, invitation("acc_1", "inv_1", domain.KindUser, "a@acme.example"))
	putInvitation(t, db, tbl, invitation("acc_1", "inv_2", domain.KindUser, "b@acme.example"))
	batch := stream.next(t)

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	resp, _ := f.Handle(ctx, events.DynamoDBEvent{Records: batch})
	elapsed := time.Since(start)
	if got := failures(resp); len(got) != 1 || got[0] != batch[0].Change.SequenceNumber {
		t.Fatalf("failures %v", got)
	}
	if elapsed > 800*time.Millisecond {
		t.Fatalf("handler took %v of its 1 s; it must keep its reserve", elapsed)
	}
	if calls := ses.callCount(); calls < 2 || calls >= 100 {
		t.Fatalf("%d SES calls: want some retries, bounded by the budget", calls)
	}

	// With less than one attempt's worth of time left nothing is tried at all.
	calls := ses.callCount()
	ctx2, cancel2 := context.WithTimeout(context.Background(), 250*time.Millisecond)
	defer cancel2()
	resp, _ = f.Handle(ctx2, events.DynamoDBEvent{Records: batch})
	if got := failures(resp); len(got) != 1 || ses.callCount() != calls {
		t.Fatalf("failures %v after %d more calls", got, ses.callCount()-calls)
	}
}

func TestSupersededAndEndedInvitationsAreNotSent(t *testing.T) {
	db, tbl := testenv.DB(t)
	ses := &fakeSES{}
	f := newTestFunction(t, db, tbl, ses, nil)
	stream := newStreamReader(t, db, tbl)

	first := invitation("acc_1", "inv_1", domain.KindUser, "grace@acme.example")
	putInvitation(t, db, tbl, first)
	second := resend(t, db, tbl, first) // resent before the stream was read
	revoked := invitation("acc_1", "inv_2", domain.KindUser, "linus@acme.example")
	putInvitation(t, db, tbl, revoked)
	revoked.Status = domain.StatusRevoked
	putInvitation(t, db, tbl, revoked)

	if resp := handle(t, f, stream.next(t)); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures %v", failures(resp))
	}
	sent := ses.sent()
	if len(sent) != 1 {
		t.Fatalf("%d emails, want only the resend's", len(sent))
	}
	if tok := linkToken(t, textOf(sent[0].In)); !testSigner(t).Verify(tok, "acc_1", "inv_1", second.Nonce) {
		t.Fatal("the email does not carry the current link")
	}
	if _, _, ok := getSendRecord(t, db, tbl, "acc_1", "inv_1", 2); !ok {
		t.Fatal("no send record for send 2")
	}
}

func TestDeliveryOfAnOlderSendIsNotWrittenOverANewerOne(t *testing.T) {
	db, tbl := testenv.DB(t)
	l := ledger{db: db, table: tbl, ttl: time.Hour}
	inv := invitation("acc_1", "inv_1", domain.KindUser, "grace@acme.example")
	putInvitation(t, db, tbl, inv)
	inv = resend(t, db, tbl, inv)
	ok, err := l.writeDelivery(context.Background(), "acc_1", "inv_1", 1, domain.Delivery{Status: "sent", MessageID: "old", At: time.Now()})
	if err != nil || ok {
		t.Fatalf("stale write-back: %v, %v; want skipped", ok, err)
	}
	ok, err = l.writeDelivery(context.Background(), "acc_1", "inv_1", 2, domain.Delivery{Status: "sent", MessageID: "new", At: time.Now()})
	if err != nil || !ok {
		t.Fatalf("current write-back: %v, %v", ok, err)
	}
	ok, err = l.writeDelivery(context.Background(), "acc_1", "missing", 1, domain.Delivery{Status: "sent", At: time.Now()})
	if err != nil || ok {
		t.Fatalf("write-back to a missing invitation: %v, %v; want skipped, not created", ok, err)
	}
	if _, exists := getInvitation(t, db, tbl, "acc_1", "missing"); exists {
		t.Fatal("the write-back created an invitation")
	}
	got, _ := getInvitation(t, db, tbl, "acc_1", "inv_1")
	if got.Delivery.MessageID != "new" || got.SendCount != 2 {
		t.Fatalf("invitation %+v", got)
	}
}

func TestRecordSendKeepsTheFirstRecord(t *testing.T) {
	db, tbl := testenv.DB(t)
	l := ledger{db: db, table: tbl, ttl: time.Hour}
	r := SendRecord{Key: table.EmailSend("acc_1", "inv_1", 3), Entity: EntitySend, AccountID: "acc_1", InvitationID: "inv_1",
		SendCount: 3, Kind: domain.KindUser, MessageID: "first", SentAt: time.Now().UTC()}
	if err := l.recordSend(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	r.MessageID = "second"
	if err := l.recordSend(context.Background(), r); err != nil {
		t.Fatalf("recording an existing send: %v", err)
	}
	st, err := l.state(context.Background(), "acc_1", "inv_1", 3)
	if err != nil {
		t.Fatal(err)
	}
	if !st.recorded || st.messageID != "first" || st.exists {
		t.Fatalf("state %+v", st)
	}
	if st, _ := l.state(context.Background(), "acc_1", "inv_1", 4); st.recorded {
		t.Fatal("send 4 reads as recorded")
	}
}

// TestUnrelatedRecordsAreIgnoredCheaply: other items, removals and write-backs cost neither a
// table call nor an SES call.
func TestUnrelatedRecordsAreIgnoredCheaply(t *testing.T) {
	cdb := &countingDB{DB: failingDB{}}
	ses := &fakeSES{}
	f := newTestFunction(t, cdb, "unused", ses, nil)
	for _, file := range []string{"unrelated.json", "removal.json"} {
		ev := sampleEvent(t, file)
		resp := handle(t, f, ev.Records)
		if len(resp.BatchItemFailures) != 0 || cdb.calls() != 0 || ses.callCount() != 0 {
			t.Fatalf("%s: failures %v, %d table calls, %d SES calls", file, failures(resp), cdb.calls(), ses.callCount())
		}
	}
}

func TestInvalidImageIsMarkedFailed(t *testing.T) {
	db, tbl := testenv.DB(t)
	ses := &fakeSES{}
	f := newTestFunction(t, db, tbl, ses, nil)
	stream := newStreamReader(t, db, tbl)
	inv := invitation("acc_1", "inv_1", "superuser", "grace@acme.example")
	putInvitation(t, db, tbl, inv)
	if resp := handle(t, f, stream.next(t)); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures %v", failures(resp))
	}
	got, _ := getInvitation(t, db, tbl, "acc_1", "inv_1")
	if got.Delivery == nil || got.Delivery.Status != "failed" || got.Delivery.Reason != ReasonInvalidInvitation || ses.callCount() != 0 {
		t.Fatalf("delivery %+v after %d SES calls", got.Delivery, ses.callCount())
	}
}

func TestResponseIsEmptyListOnSuccess(t *testing.T) {
	f := newTestFunction(t, &countingDB{DB: failingDB{}}, "unused", &fakeSES{}, nil)
	resp := handle(t, f, nil)
	if resp.BatchItemFailures == nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("response %+v: want an empty, non-null list", resp)
	}
}

func TestNewRequiresItsParts(t *testing.T) {
	base := Options{DB: &countingDB{}, Table: "t", SES: &fakeSES{}, Signer: testSigner(t), Sending: Sending{From: "a@b.example"}}
	for name, mutate := range map[string]func(*Options){
		"db": func(o *Options) { o.DB = nil }, "table": func(o *Options) { o.Table = "" },
		"ses": func(o *Options) { o.SES = nil }, "signer": func(o *Options) { o.Signer = nil },
		"from": func(o *Options) { o.Sending.From = "" },
	} {
		o := base
		mutate(&o)
		if _, err := New(o); err == nil {
			t.Errorf("New without %s succeeded", name)
		}
	}
	if _, err := New(base); err != nil {
		t.Fatal(err)
	}
}

// failingDB has no table behind it: a call through it panics, so ignored records must not reach it.
type failingDB struct{ DB }

func TestFromEnv(t *testing.T) {
	keyFile := t.TempDir() + "/invitation-signing-key"
	for k, v := range map[string]string{
		"ROLLCALL_TABLE_NAME": "rollcall-test", "ROLLCALL_SIGNING_KEY_FILE": keyFile, "ROLLCALL_SIGNING_KEY_SECRET_ARN": "",
		"ROLLCALL_SENDER_EMAIL": "no-reply@rollcall.example", "AWS_REGION": "eu-west-1",
		"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "token",
	} {
		t.Setenv(k, v)
	}
	f, err := FromEnv(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if f.ledger.table != "rollcall-test" || f.sending.From != "no-reply@rollcall.example" || f.retry != DefaultRetryPolicy {
		t.Fatalf("function %+v", f)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	if _, err := FromEnv(context.Background()); err == nil || !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID") {
		t.Fatalf("without credentials: %v", err)
	}
}
