package local

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"rollcall/shared/email"
	"rollcall/shared/sesevents"
)

// MailboxSimulator emulates SES's event publishing for the local stack: the SES v2 emulator
// accepts emails but publishes no events, so this wraps the email function's SES client and,
// for each email the emulator accepted, produces the events SES's mailbox simulator would
// (sesevents.SimulatorEvents: bounce@, complaint@, suppressionlist@, ooto@simulator.amazonses.com,
// and a delivery for every other address) and hands each, in an EventBridge envelope, to the
// same handler the deployed ses-events function runs (through lambda.NewHandler, as Lambda
// would), shortly after the acceptance, in the background.
type MailboxSimulator struct {
	next    email.SES
	handler lambda.Handler
	delay   time.Duration
	log     *slog.Logger
	wg      sync.WaitGroup
	events  atomic.Int64
	errors  atomic.Int64
}

// NewMailboxSimulator wraps next; events go to rec's EventBridge handler delay after each
// acceptance (0: 50 ms).
func NewMailboxSimulator(next email.SES, rec *sesevents.Recorder, delay time.Duration, log *slog.Logger) *MailboxSimulator {
	if delay <= 0 {
		delay = 50 * time.Millisecond
	}
	if log == nil {
		log = slog.Default()
	}
	return &MailboxSimulator{next: next, handler: lambda.NewHandler(rec.HandleEventBridge), delay: delay,
		log: log.With("component", "ses-mailbox-simulator", "function", "ses-events")}
}

// SendEmail sends through the wrapped client and, when it accepted the email, schedules its
// simulated events.
func (m *MailboxSimulator) SendEmail(ctx context.Context, in *sesv2.SendEmailInput, o ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
	out, err := m.next.SendEmail(ctx, in, o...)
	if err != nil || in.Destination == nil || len(in.Destination.ToAddresses) == 0 {
		return out, err
	}
	s := sesevents.Sent{MessageID: aws.ToString(out.MessageId), From: aws.ToString(in.FromEmailAddress),
		To: in.Destination.ToAddresses[0], Tags: map[string]string{}, At: time.Now().UTC()}
	for _, t := range in.EmailTags {
		s.Tags[aws.ToString(t.Name)] = aws.ToString(t.Value)
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		time.Sleep(m.delay)
		for i, detail := range sesevents.SimulatorEvents(s) {
			m.deliver(fmt.Sprintf("%s-%d", s.MessageID, i), detail)
		}
	}()
	return out, nil
}

// deliver invokes the handler with one event, retrying twice as Lambda does for asynchronous
// invocations; an event that still fails is logged (the deployed function's dead-letter queue).
func (m *MailboxSimulator) deliver(id string, detail []byte) {
	payload := sesevents.EventBridgeEnvelope(id, detail, time.Now())
	var err error
	for attempt := range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: pollerRequestID()})
		_, err = m.handler.Invoke(ctx, payload)
		cancel()
		if err == nil {
			m.events.Add(1)
			return
		}
		time.Sleep(time.Duration(attempt+1) * 200 * time.Millisecond)
	}
	m.errors.Add(1)
	m.log.Error("SES event not recorded after 3 attempts", "eventId", id, "error", err.Error())
}

// Wait waits until the events of every email sent so far have been handled.
func (m *MailboxSimulator) Wait() { m.wg.Wait() }

// Stats returns how many events were recorded and how many failed for good.
func (m *MailboxSimulator) Stats() (recorded, failed int64) { return m.events.Load(), m.errors.Load() }
