package email

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"rollcall/shared/domain"
	"rollcall/shared/testenv"
)

// crash is what faultSES panics with to kill the invocation mid-batch, as a killed process would:
// nothing after it runs.
type crash struct{ afterAccept bool }

// faultSES wraps the fake SES with fault injection: a share of calls fails transiently before
// SES accepts (throttling, SES faults); at chosen calls the process dies, before the call or
// right after SES accepted; optionally SES accepts and the answer is lost (a timeout); and some
// addresses are rejected for good.
type faultSES struct {
	*fakeSES
	mu            sync.Mutex
	rng           *rand.Rand
	transientRate float64
	configRate    float64         // share of calls refused for the account's configuration (sandbox, paused, MAIL FROM)
	configFaults  int             // calls refused so
	lostRate      float64         // share of accepted sends whose answer is lost
	crashAt       map[int]bool    // call number → crash after SES accepted (true) or before (false)
	permanent     map[string]bool // addresses SES rejects for good
	transient     int             // calls failed transiently
	crashes       int             // process deaths
	crashedAfter  map[string]int  // accept token → deaths after SES accepted its email
	lost          map[string]int  // accept token → answers lost after SES accepted
	tokenOf       func(in *sesv2.SendEmailInput) string
	callsSeen     int
}

func (s *faultSES) SendEmail(ctx context.Context, in *sesv2.SendEmailInput, o ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
	s.mu.Lock()
	s.callsSeen++
	call := s.callsSeen
	afterAccept, crashHere := s.crashAt[call]
	transient := s.rng.Float64() < s.transientRate
	lose := s.rng.Float64() < s.lostRate
	errKind := s.rng.IntN(3)
	config := s.rng.Float64() < s.configRate
	s.mu.Unlock()

	if crashHere && !afterAccept {
		s.mu.Lock()
		s.crashes++
		s.mu.Unlock()
		panic(crash{afterAccept: false}) // killed between two sends
	}
	if s.permanent[in.Destination.ToAddresses[0]] {
		return s.fakeSES.SendEmail(ctx, in, o...) // the fake's fail hook rejects it
	}
	if config {
		s.mu.Lock()
		s.configFaults++
		s.mu.Unlock()
		return nil, []error{errRejected, errPaused, errMailFrom}[errKind]
	}
	if transient {
		s.mu.Lock()
		s.transient++
		s.mu.Unlock()
		return nil, []error{errThrottled, errInternal, fmt.Errorf("operation error SESv2: SendEmail: %w", context.DeadlineExceeded)}[errKind]
	}
	out, err := s.fakeSES.SendEmail(ctx, in, o...)
	if err != nil {
		return nil, err
	}
	if crashHere { // SES accepted; the process dies before the send record is written
		s.mu.Lock()
		s.crashes++
		s.crashedAfter[s.tokenOf(in)]++
		s.mu.Unlock()
		panic(crash{afterAccept: true})
	}
	if lose {
		s.mu.Lock()
		s.lost[s.tokenOf(in)]++
		s.mu.Unlock()
		return nil, fmt.Errorf("operation error SESv2: SendEmail: %w", context.DeadlineExceeded)
	}
	return out, nil
}

// esmStats counts what the stand-in event source did.
type esmStats struct {
	invocations, crashes, partial int
	deadLettered                  []events.DynamoDBEventRecord
}

// deliver hands records to the function as Lambda's event source mapping does: in order, in
// batches of batchSize, through the JSON handler; a crashed invocation is retried whole, a partial
// failure from the lowest reported record; a batch that fails maxRetries times more is
// dead-lettered.
func deliver(t *testing.T, f *Function, records []events.DynamoDBEventRecord, batchSize, maxRetries int, st *esmStats) {
	t.Helper()
	h := lambda.NewHandler(f.Handle)
	i, retries := 0, 0
	for i < len(records) {
		batch := records[i:min(i+batchSize, len(records))]
		st.invocations++
		resp, crashed := invoke(t, h, batch, st.invocations)
		switch {
		case crashed:
			st.crashes++
			retries++
		case len(resp.BatchItemFailures) == 0:
			i += len(batch)
			retries = 0
			continue
		default:
			st.partial++
			lowest := slices.MinFunc(resp.BatchItemFailures, func(a, b events.DynamoDBBatchItemFailure) int {
				return compareSeq(a.ItemIdentifier, b.ItemIdentifier)
			}).ItemIdentifier
			at := slices.IndexFunc(batch, func(r events.DynamoDBEventRecord) bool { return r.Change.SequenceNumber == lowest })
			if at < 0 {
				t.Fatalf("failure names sequence number %q, not in the batch", lowest)
			}
			if at > 0 {
				retries = 0 // progress: the checkpoint moved
			}
			i += at
			retries++
		}
		if retries > maxRetries {
			batch = records[i:min(i+batchSize, len(records))]
			st.deadLettered = append(st.deadLettered, batch...)
			i += len(batch)
			retries = 0
		}
	}
}

func compareSeq(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// invoke runs one invocation; crashed reports that the process "died" in it.
func invoke(t *testing.T, h lambda.Handler, batch []events.DynamoDBEventRecord, n int) (resp events.DynamoDBEventResponse, crashed bool) {
	payload, err := json.Marshal(events.DynamoDBEvent{Records: batch})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var out []byte
	go func() {
		defer close(done)
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(crash); !ok {
					panic(r)
				}
				crashed = true
			}
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: fmt.Sprintf("req-%d", n)})
		out, err = h.Invoke(ctx, payload)
	}()
	<-done
	if crashed {
		return resp, true
	}
	if err != nil {
		t.Fatalf("invocation error: %v", err)
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("response %s: %v", out, err)
	}
	return resp, false
}

type faultConfig struct {
	runs          int
	transientRate float64
	configRate    float64
	lostRate      float64
	crashRuns     func(run int) bool // whether run has crashes
}

type faultTotals struct {
	invitations, emails, calls, transient, configFaults, crashes, crashesAfter, lost, duplicates, explained, partial, rejected int
	lostEmails                                                                                                                 int
}

// runFaultInjection runs cfg.runs independent runs against DynamoDB Local: invitations created,
// some resent at once (before their first email) and some later, all delivered through the
// stand-in event source from the table's real stream, with SES failing as configured. It checks
// that every invitation got the email with its current link and a matching delivery status,
// and counts duplicates, attributing each to a crash after SES's acceptance or a lost answer.
func runFaultInjection(t *testing.T, cfg faultConfig) faultTotals {
	var tot faultTotals
	for run := range cfg.runs {
		started := time.Now()
		db, tbl := testenv.DB(t)
		rng := rand.New(rand.NewPCG(uint64(run)+1, 42))
		signer := testSigner(t)
		tokenOf := func(in *sesv2.SendEmailInput) string { return linkToken(t, textOf(in)) }
		ses := &faultSES{fakeSES: &fakeSES{fail: func(_ int, in *sesv2.SendEmailInput) error { return errBadAddr }},
			rng: rng, transientRate: cfg.transientRate, configRate: cfg.configRate, lostRate: cfg.lostRate, crashAt: map[int]bool{},
			permanent: map[string]bool{}, crashedAfter: map[string]int{}, lost: map[string]int{}, tokenOf: tokenOf}
		ses.fakeSES.fail = func(_ int, in *sesv2.SendEmailInput) error {
			if ses.permanent[in.Destination.ToAddresses[0]] {
				return errBadAddr
			}
			return nil
		}
		if cfg.crashRuns(run) { // one or two deaths in the first 45 calls, before and after acceptance in turn
			for k := range 1 + rng.IntN(2) {
				ses.crashAt[5+rng.IntN(40)] = (run+k)%2 == 1
			}
		}
		f := newTestFunction(t, db, tbl, ses, nil)
		stream := newStreamReader(t, db, tbl)
		var st esmStats

		acc := fmt.Sprintf("acc_run%d", run)
		current := map[string]domain.Invitation{}
		kinds := []string{domain.KindOwner, domain.KindWelcome, domain.KindUser}
		create := func(i int) {
			inv := invitation(acc, fmt.Sprintf("inv_%03d", i), kinds[i%3], fmt.Sprintf("person%03d@acme.example", i))
			putInvitation(t, db, tbl, inv)
			current[inv.ID] = inv
		}
		// Phase 1: 30 invitations, one to an address SES rejects, three resent before any email.
		for i := range 30 {
			create(i)
		}
		bad := current["inv_007"]
		ses.permanent[bad.Email] = true
		for _, id := range []string{"inv_003", "inv_011", "inv_020"} {
			current[id] = resend(t, db, tbl, current[id])
		}
		deliver(t, f, stream.next(t), 10, 5, &st)
		// Phase 2: ten resends of delivered invitations and ten new invitations.
		for _, i := range rng.Perm(30)[:10] {
			id := fmt.Sprintf("inv_%03d", i)
			current[id] = resend(t, db, tbl, current[id])
		}
		for i := 30; i < 40; i++ {
			create(i)
		}
		deliver(t, f, stream.next(t), 10, 5, &st)
		// Phase 3: the function's own writes come back through the stream; nothing is sent.
		before := ses.callCount()
		deliver(t, f, stream.next(t), 10, 5, &st)
		if ses.callCount() != before {
			t.Errorf("run %d: the function's own writes caused %d sends", run, ses.callCount()-before)
		}

		if len(st.deadLettered) > 0 {
			t.Errorf("run %d: %d records dead-lettered: their emails are lost", run, len(st.deadLettered))
		}
		byToken := map[string][]sentEmail{}
		for _, e := range ses.sent() {
			tok := tokenOf(e.In)
			byToken[tok] = append(byToken[tok], e)
		}
		for id, want := range current {
			got, _ := getInvitation(t, db, tbl, acc, id)
			tok := signer.Token(acc, id, got.Nonce)
			if got.Nonce != want.Nonce || got.SendCount != want.SendCount {
				t.Fatalf("run %d %s: the function changed the invitation: %+v", run, id, got)
			}
			if id == bad.ID && got.SendCount == 1 {
				if got.Delivery == nil || got.Delivery.Status != "failed" || got.Delivery.Reason != ReasonInvalidAddress || len(byToken[tok]) != 0 {
					t.Errorf("run %d %s: rejected address: delivery %+v, %d emails", run, id, got.Delivery, len(byToken[tok]))
				}
				tot.rejected++
				continue
			}
			if ses.permanent[got.Email] { // the bad address resent: rejected again
				if got.Delivery == nil || got.Delivery.Status != "failed" {
					t.Errorf("run %d %s: resent rejected address: delivery %+v", run, id, got.Delivery)
				}
				tot.rejected++
				continue
			}
			emails := byToken[tok]
			if len(emails) == 0 {
				t.Errorf("run %d %s (send %d): no email with the current link (delivery %+v)", run, id, got.SendCount, got.Delivery)
				tot.lostEmails++
				continue
			}
			if emails[0].To != got.Email {
				t.Errorf("run %d %s: email went to %s", run, id, emails[0].To)
			}
			if got.Delivery == nil || got.Delivery.Status != "sent" ||
				!slices.ContainsFunc(emails, func(e sentEmail) bool { return e.MessageID == got.Delivery.MessageID }) {
				t.Errorf("run %d %s: delivery %+v does not name one of its emails", run, id, got.Delivery)
			}
			if _, _, ok := getSendRecord(t, db, tbl, acc, id, got.SendCount); !ok {
				t.Errorf("run %d %s: no send record for send %d", run, id, got.SendCount)
			}
		}
		dups, explained := 0, 0
		for tok, emails := range byToken {
			extra := len(emails) - 1
			if extra <= 0 {
				continue
			}
			dups += extra
			cause := ses.crashedAfter[tok] + ses.lost[tok]
			explained += min(extra, cause)
			if extra > cause {
				t.Errorf("run %d: %d duplicates of one send with %d crashes after acceptance and %d lost answers on it",
					run, extra, ses.crashedAfter[tok], ses.lost[tok])
			}
		}
		crashesAfter, lost := 0, 0
		for _, n := range ses.crashedAfter {
			crashesAfter += n
		}
		for _, n := range ses.lost {
			lost += n
		}
		t.Logf("run %2d: %d invitations, %d emails from %d SES calls (%d transient failures), %d crashes (%d after SES accepted), %d lost answers, %d partial-failure responses, %d invocations, %v: %d duplicates (%d from a crash/lost answer after acceptance)",
			run, len(current), len(ses.sent()), ses.callsSeen, ses.transient, ses.crashes, crashesAfter, lost, st.partial, st.invocations, time.Since(started).Round(time.Millisecond), dups, explained)
		tot.invitations += len(current)
		tot.emails += len(ses.sent())
		tot.calls += ses.callsSeen
		tot.transient += ses.transient
		tot.configFaults += ses.configFaults
		tot.crashes += ses.crashes
		tot.crashesAfter += crashesAfter
		tot.lost += lost
		tot.duplicates += dups
		tot.explained += explained
		tot.partial += st.partial
	}
	return tot
}

// TestFaultInjection: with 30 % of SES calls failing transiently and the process killed between
// sends (or right after SES accepted) in most runs, every invitation gets the email with its
// current link, and the only duplicates are those of a crash between SES's acceptance and the
// send record.
func TestFaultInjection(t *testing.T) {
	tot := runFaultInjection(t, faultConfig{runs: 8, transientRate: 0.30, configRate: 0.05, crashRuns: func(run int) bool { return run%4 != 0 }})
	t.Logf("TOTAL: %d invitations (%d rejected for good), %d emails, %d SES calls, %d transient failures (%.0f %%), %d configuration faults (%.0f %%), %d crashes (%d after acceptance), %d partial-failure responses; duplicates: %d, of which %d after a crash between SES's acceptance and the send record, %d otherwise; lost: %d",
		tot.invitations, tot.rejected, tot.emails, tot.calls, tot.transient, 100*float64(tot.transient)/float64(tot.calls),
		tot.configFaults, 100*float64(tot.configFaults)/float64(tot.calls),
		tot.crashes, tot.crashesAfter, tot.partial, tot.duplicates, tot.explained, tot.duplicates-tot.explained, tot.lostEmails)
	if tot.crashes == 0 || tot.crashesAfter == 0 || tot.transient == 0 || tot.partial == 0 || tot.configFaults == 0 {
		t.Errorf("the faults did not all happen: %+v", tot)
	}
	if tot.duplicates != tot.explained {
		t.Errorf("%d duplicates outside a crash after acceptance", tot.duplicates-tot.explained)
	}
}

// TestFaultInjectionLostAnswers: when SES accepts an email but its answer is lost (a timeout),
// the retry sends it again; every such duplicate is accounted for, and nothing else duplicates.
func TestFaultInjectionLostAnswers(t *testing.T) {
	tot := runFaultInjection(t, faultConfig{runs: 2, transientRate: 0.30, lostRate: 0.05, crashRuns: func(int) bool { return false }})
	t.Logf("TOTAL: %d invitations, %d emails, %d lost answers after acceptance; duplicates: %d, of which %d from lost answers",
		tot.invitations, tot.emails, tot.lost, tot.duplicates, tot.explained)
	if tot.duplicates != tot.explained {
		t.Errorf("%d duplicates not caused by a lost answer", tot.duplicates-tot.explained)
	}
}

var _ = dynamodb.NewFromConfig // the runs use testenv's client
