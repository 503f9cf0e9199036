package sesevents

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"rollcall/shared/domain"
	"rollcall/shared/table"
	"rollcall/shared/testenv"
)

func put(t *testing.T, db *dynamodb.Client, tbl string, k table.Key, attrs map[string]any) {
	t.Helper()
	attrs["PK"], attrs["SK"] = k.PK, k.SK
	item, err := attributevalue.MarshalMap(attrs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(tbl), Item: item}); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, db *dynamodb.Client, tbl string, k table.Key, dst any) map[string]any {
	t.Helper()
	out, err := db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(tbl), Key: keyAV(k), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if dst != nil {
		if err := attributevalue.UnmarshalMap(out.Item, dst); err != nil {
			t.Fatal(err)
		}
	}
	var m map[string]any
	_ = attributevalue.UnmarshalMap(out.Item, &m)
	return m
}

var t0 = time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)

func sent(msg string, n int) Sent {
	return Sent{MessageID: msg, From: "no-reply@rollcall.example", To: "grace@acme.example", At: t0,
		Tags: map[string]string{TagAccountID: "acc_1", TagInvitationID: "inv_1", TagSendCount: fmt.Sprint(n), TagKind: "user"}}
}

func recorder(t *testing.T) (*Recorder, *dynamodb.Client, string, *bytes.Buffer) {
	db, tbl := testenv.DB(t)
	var logs bytes.Buffer
	return &Recorder{DB: db, Table: tbl, Stage: "test", Logger: slog.New(slog.NewJSONHandler(&logs, nil))}, db, tbl, &logs
}

func feed(t *testing.T, r *Recorder, evs ...[]byte) {
	t.Helper()
	for _, e := range evs {
		if err := r.HandleJSON(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
}

// TestOutOfOrderAndDuplicatedEventsLeaveTheNewest: SES delivers events at least once and in any
// order; whatever the order and however often each comes, the invitation ends with the newest
// status and each event once in its history, in time order — also when the events arrive before
// the email function wrote "sent".
func TestOutOfOrderAndDuplicatedEventsLeaveTheNewest(t *testing.T) {
	r, db, tbl, _ := recorder(t)
	s := sent("msg-1", 1)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Minute) }
	evs := [][]byte{
		Build(s, "Send", at(0), nil),
		Build(s, "DeliveryDelay", at(1), map[string]any{"deliveryDelay": map[string]any{"delayType": "MailboxFull", "timestamp": at(1)}}),
		Build(s, "Delivery", at(2), map[string]any{"delivery": map[string]any{"timestamp": at(2)}}),
		Build(s, "Complaint", at(3), map[string]any{"complaint": map[string]any{"timestamp": at(3), "complaintFeedbackType": "abuse",
			"complainedRecipients": []any{map[string]any{"emailAddress": "grace@acme.example"}}}}),
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for run := range 12 {
		inv := table.Invitation("acc_1", "inv_1")
		attrs := map[string]any{"id": "inv_1", "accountId": "acc_1", "email": "grace@acme.example", "sendCount": 1, "status": "pending"}
		if run%2 == 0 { // the email function wrote "sent" before the events
			attrs["delivery"] = map[string]any{"status": "sent", "messageId": "msg-1", "at": t0}
		}
		put(t, db, tbl, inv, attrs)
		var order [][]byte
		for _, i := range rng.Perm(len(evs)) {
			order = append(order, evs[i])
			if rng.IntN(2) == 0 {
				order = append(order, evs[i]) // duplicated
			}
		}
		feed(t, r, order...)
		var got domain.Invitation
		read(t, db, tbl, inv, &got)
		d := got.Delivery
		if d == nil || d.Status != domain.DeliveryComplained || !d.At.Equal(at(3)) || d.MessageID != "msg-1" || d.Reason != "complaint:abuse" {
			t.Fatalf("run %d: delivery %+v, want complained at %v", run, d, at(3))
		}
		var statuses []string
		for _, h := range d.History {
			statuses = append(statuses, h.Status)
		}
		if strings.Join(statuses, ",") != "sent,delayed,delivered,complained" {
			t.Fatalf("run %d: history %v", run, statuses)
		}
		if got.EmailStatus == nil || got.EmailStatus.Status != domain.EmailUndeliverable || got.EmailStatus.Reason != ReasonComplaint {
			t.Fatalf("run %d: emailStatus %+v", run, got.EmailStatus)
		}
	}
}

// TestEventsOfAnOlderSendDoNotTouchTheCurrentDelivery: after a resend, the old email's events
// leave the new send's delivery alone.
func TestEventsOfAnOlderSendDoNotTouchTheCurrentDelivery(t *testing.T) {
	r, db, tbl, _ := recorder(t)
	k := table.Invitation("acc_1", "inv_1")
	put(t, db, tbl, k, map[string]any{"id": "inv_1", "email": "grace@acme.example", "sendCount": 2, "status": "pending",
		"delivery": map[string]any{"status": "sent", "messageId": "msg-2", "at": t0.Add(time.Hour)}})
	feed(t, r, Build(sent("msg-1", 1), "Delivery", t0.Add(2*time.Hour), map[string]any{"delivery": map[string]any{"timestamp": t0.Add(2 * time.Hour)}}))
	var got domain.Invitation
	read(t, db, tbl, k, &got)
	if got.Delivery.Status != "sent" || got.Delivery.MessageID != "msg-2" || len(got.Delivery.History) != 0 {
		t.Fatalf("delivery %+v", got.Delivery)
	}
}

// TestHardBounceMarksTheAddressWhereItIsUsed: a hard bounce marks the contact with the address
// (and puts it in the sparse undeliverable index), the owner when the owner has it, the pending
// invitation to it and the bounced invitation; repeating it, or an older bounce, changes
// nothing; a soft bounce marks nothing.
func TestHardBounceMarksTheAddressWhereItIsUsed(t *testing.T) {
	r, db, tbl, logs := recorder(t)
	const addr = "Grace@Acme.example"
	put(t, db, tbl, table.Account("acc_1"), map[string]any{"id": "acc_1", "owner": map[string]any{"email": addr}})
	put(t, db, tbl, table.ContactEmail("acc_1", "grace@acme.example"), map[string]any{"contactId": "con_1"})
	put(t, db, tbl, table.Contact("acc_1", "con_1"), map[string]any{"id": "con_1", "email": addr, "emailTypes": []string{"billing"}})
	put(t, db, tbl, table.Contact("acc_1", "con_2"), map[string]any{"id": "con_2", "email": "linus@acme.example"})
	grace := domain.Contact{ID: "con_1", AccountID: "acc_1", Email: addr, EmailTypes: []string{"billing"}}
	entries := table.ContactIndex("acc_1", "con_1", domain.SearchTerms(grace), grace.EmailTypes)
	for _, k := range entries { // its copies in filtered lists, as the store writes them
		put(t, db, tbl, k, map[string]any{"id": "con_1", "email": addr, "emailTypes": []string{"billing"}, "version": 0})
	}
	put(t, db, tbl, table.InvitationEmail("acc_1", "grace@acme.example"), map[string]any{"invitationId": "inv_2"})
	put(t, db, tbl, table.Invitation("acc_1", "inv_1"), map[string]any{"id": "inv_1", "email": addr, "sendCount": 1, "status": "accepted"})
	put(t, db, tbl, table.Invitation("acc_1", "inv_2"), map[string]any{"id": "inv_2", "email": addr, "sendCount": 1, "status": "pending"})

	s := sent("msg-1", 1)
	s.To = addr
	soft := Build(s, "Bounce", t0, map[string]any{"bounce": map[string]any{"bounceType": "Transient", "bounceSubType": "MailboxFull", "timestamp": t0}})
	feed(t, r, soft)
	if m := read(t, db, tbl, table.Contact("acc_1", "con_1"), nil); m["emailStatus"] != nil {
		t.Fatalf("a soft bounce marked the contact: %v", m)
	}
	hard := func(at time.Time) []byte {
		return Build(s, "Bounce", at, map[string]any{"bounce": map[string]any{"bounceType": "Permanent", "bounceSubType": "General", "timestamp": at}})
	}
	feed(t, r, hard(t0.Add(time.Minute)), hard(t0.Add(time.Minute)), hard(t0))
	if len(entries) < 2 {
		t.Fatalf("index entries %v", entries)
	}
	for _, k := range append([]table.Key{table.Contact("acc_1", "con_1"), table.Account("acc_1"), table.Invitation("acc_1", "inv_1"), table.Invitation("acc_1", "inv_2")}, entries...) {
		var got struct {
			EmailStatus *domain.EmailStatus `dynamodbav:"emailStatus"`
			GSI1PK      string              `dynamodbav:"GSI1PK"`
		}
		read(t, db, tbl, k, &got)
		if got.EmailStatus == nil || got.EmailStatus.Status != domain.EmailUndeliverable || got.EmailStatus.Reason != ReasonHardBounce ||
			!got.EmailStatus.At.Equal(t0.Add(time.Minute)) {
			t.Errorf("%s: emailStatus %+v, want undeliverable since the newest bounce", k.SK, got.EmailStatus)
		}
		if k.SK == "CONTACT#con_1" && got.GSI1PK != "UNDELIVERABLE#acc_1" {
			t.Errorf("contact not in the undeliverable index: %q", got.GSI1PK)
		}
	}
	if m := read(t, db, tbl, table.Contact("acc_1", "con_2"), nil); m["emailStatus"] != nil {
		t.Errorf("another contact was marked: %v", m)
	}
	if n := strings.Count(logs.String(), `"EmailsHardBounced":1`); n != 1 {
		t.Errorf("%d hard-bounce metrics for one bounce event repeated:\n%s", n, logs.String())
	}
}

// TestUnreadableEventsAreDroppedNotRetried: events without the tags or of other types are
// logged and dropped (an error would only retry them into the dead-letter queue).
func TestUnreadableEventsAreDroppedNotRetried(t *testing.T) {
	r := &Recorder{DB: nil, Table: "unused", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	s := sent("msg-1", 1)
	s.Tags = nil
	for _, b := range [][]byte{Build(s, "Delivery", t0, nil), Build(sent("m", 1), "Open", t0, nil), []byte(`{`)} {
		if err := r.HandleJSON(context.Background(), b); err != nil {
			t.Errorf("%s: %v", b, err)
		}
	}
}

// TestSimulatorEvents: the mailbox simulator's addresses produce what SES documents.
func TestSimulatorEvents(t *testing.T) {
	for to, want := range map[string]string{
		SimulatorBounce: "Send,Bounce", SimulatorSuppression: "Send,Bounce", SimulatorComplaint: "Send,Delivery,Complaint",
		SimulatorOOTO: "Send,Delivery", "success+x@simulator.amazonses.com": "Send,Delivery", "grace@acme.example": "Send,Delivery",
		"Bounce+label@Simulator.AmazonSES.com": "Send,Bounce",
	} {
		s := sent("m", 1)
		s.To = to
		var types []string
		for _, b := range SimulatorEvents(s) {
			ev, err := Parse(b)
			if err != nil {
				t.Fatalf("%s: %v", to, err)
			}
			types = append(types, ev.Type)
			if ev.Type == "Bounce" && ev.Undeliverable == "" {
				t.Errorf("%s: bounce not permanent", to)
			}
		}
		if got := strings.Join(types, ","); got != want {
			t.Errorf("%s: %s, want %s", to, got, want)
		}
	}
	var env map[string]any
	if err := json.Unmarshal(EventBridgeEnvelope("id-1", Build(sent("m", 1), "Bounce", t0, nil), t0), &env); err != nil ||
		env["detail-type"] != "Email Bounced" || env["source"] != "aws.ses" {
		t.Fatalf("envelope %v %v", env, err)
	}
}
