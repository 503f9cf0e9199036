// Package email is the stream function that sends rollcall's invitation emails (DESIGN §4, R13
// to R15). It reads batches of the table's stream, picks the invitation items that were inserted
// or whose send count went up, and sends one email per such record through SES v2, with the
// accept link derived from the signing key (the token is never stored).
//
// Delivery is at least once and never lost: after SES accepts an email the function writes a
// send record (invitation id + send count) and skips any send that has one, so a redelivered
// record is not mailed again; then it writes the delivery status onto the invitation without
// touching its send count. Throttling and transient SES faults are retried with back-off within
// the invocation's time budget; a record that still fails is reported in the partial batch
// response (and processing stops there, since Lambda resumes from the lowest reported sequence
// number), so the event source retries it, bisects, and finally dead-letters it. SES errors are
// classified (Classify): only an address SES will never take marks the delivery failed, without
// holding up the records after it; configuration faults (unverified identity, sandbox, sending
// paused…) are reported for the retry at once and alarmed on, never written as a failure. Each
// batch writes an embedded-metric-format line (EmailsSent, EmailsRetried, EmailsRecorded, and
// EmailsFailed by Class). The only duplicate left is a crash, or a lost answer, between SES's
// acceptance and the send record.
package email

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"

	"rollcall/shared/domain"
	"rollcall/shared/invitetoken"
	"rollcall/shared/metrics"
	"rollcall/shared/table"
)

// Options are what the function is built from.
type Options struct {
	DB            DB                  // the table's client
	Table         string              // the table's name
	Stage         string              // the stage's name: the Stage dimension of the function's metrics
	SES           SES                 // the SES v2 client
	Signer        *invitetoken.Signer // derives the accept tokens (R15)
	PortalURL     string              // links are <PortalURL>/invitations/accept?token=…
	Sending       Sending             // sender, reply-to, configuration set
	Retry         RetryPolicy         // zero value: DefaultRetryPolicy
	SendRecordTTL time.Duration       // zero: DefaultSendRecordTTL
	Logger        *slog.Logger        // nil: slog.Default()
	Now           func() time.Time    // nil: time.Now
}

// Function is the stream function. Build it once per process with New (or FromEnv) and hand
// Handle to lambda.Start or to the local stream poller.
type Function struct {
	ledger   ledger
	ses      SES
	signer   *invitetoken.Signer
	render   *Renderer
	sending  Sending
	retry    RetryPolicy
	stage    string
	log      *slog.Logger
	now      func() time.Time
	sleeping func(context.Context, time.Duration) bool
}

// New returns the function built from o. It returns an error when a required option (DB, Table,
// SES, Signer, Sending.From) is missing or the embedded templates do not parse.
func New(o Options) (*Function, error) {
	switch {
	case o.DB == nil || o.Table == "":
		return nil, errors.New("email: the table and its client are required")
	case o.SES == nil:
		return nil, errors.New("email: the SES client is required")
	case o.Signer == nil:
		return nil, errors.New("email: the token signer is required")
	case o.Sending.From == "":
		return nil, errors.New("email: the sender address is required")
	}
	r, err := NewRenderer(o.PortalURL)
	if err != nil {
		return nil, err
	}
	f := &Function{
		ledger:   ledger{db: o.DB, table: o.Table, ttl: o.SendRecordTTL},
		ses:      o.SES,
		signer:   o.Signer,
		render:   r,
		sending:  o.Sending,
		retry:    o.Retry,
		stage:    o.Stage,
		log:      o.Logger,
		now:      o.Now,
		sleeping: sleep,
	}
	if f.ledger.ttl == 0 {
		f.ledger.ttl = DefaultSendRecordTTL
	}
	if f.retry == (RetryPolicy{}) {
		f.retry = DefaultRetryPolicy
	}
	f.retry.SendAttempts = max(f.retry.SendAttempts, 1)
	f.retry.WriteAttempts = max(f.retry.WriteAttempts, 1)
	if f.log == nil {
		f.log = slog.Default()
	}
	if f.now == nil {
		f.now = time.Now
	}
	return f, nil
}

// WrapSES replaces the function's SES client by wrap(client): the local stack wraps it with its
// mailbox simulator, which emits SES's events for what the emulator accepted. Call it before the
// function handles anything.
func (f *Function) WrapSES(wrap func(SES) SES) { f.ses = wrap(f.ses) }

// Outcomes of one stream record, as counted in the batch summary.
const (
	outIgnored  = "ignored"  // not an email to send: another item, a removal, a write-back
	outSent     = "sent"     // SES accepted the email, the send was recorded
	outRecorded = "recorded" // redelivered: the send record exists, nothing sent again
	outSkipped  = "skipped"  // the invitation is gone, ended, or has been sent again since
	outRejected = "rejected" // a permanent rejection: the delivery is marked failed
	outFailed   = "failed"   // a transient failure: reported for the event source to retry
)

// Handle processes one batch of the table's stream, in order, and returns the partial batch
// response: empty when every record is done, else the sequence number of the first record that
// failed transiently (processing stops there: Lambda resumes from the lowest reported sequence
// number, so the records after it come again anyway). It never returns an error, so a batch is
// never retried whole because of one record.
func (f *Function) Handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	log := f.log
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		log = log.With("requestId", lc.AwsRequestID)
	}
	resp := events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{}}
	counts := map[string]int{}
	classes := map[string]int{} // failed records by class
	start := time.Now()
	for i, rec := range ev.Records {
		s, ok := selectSend(rec)
		if !ok {
			counts[outIgnored]++
			continue
		}
		rlog := log.With("accountId", s.accountID, "invitationId", s.invitationID, "sendCount", s.sendCount,
			"sequenceNumber", rec.Change.SequenceNumber)
		out, class := outFailed, ClassTransient
		if f.retry.fits(ctx, 0) {
			out, class = f.process(ctx, rlog, rec, s)
		} else {
			rlog.Warn("time budget spent before the record: leaving it to the retry")
		}
		counts[out]++
		if out == outFailed || out == outRejected {
			classes[class]++
		}
		if out == outFailed {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: rec.Change.SequenceNumber})
			counts["notReached"] = len(ev.Records) - i - 1
			break
		}
	}
	attrs := []any{"records", len(ev.Records), "ms", time.Since(start).Milliseconds()}
	for _, k := range []string{outSent, outRecorded, outSkipped, outRejected, outFailed, outIgnored, "notReached"} {
		if counts[k] > 0 {
			attrs = append(attrs, k, counts[k])
		}
	}
	if counts[outIgnored] == len(ev.Records) {
		// Nothing to send (other items, the function's own write-backs): not worth an INFO line
		// per batch, nor a metric.
		log.Debug("stream batch processed", attrs...)
	} else {
		f.emitMetrics(ctx, log, counts, classes, attrs)
	}
	return resp, nil
}

// Metric names of the email function (namespace metrics.Namespace, dimension Stage; EmailsFailed
// also by Class, one of the Class constants).
const (
	MetricSent     = "EmailsSent"     // SES accepted the email and the send was recorded
	MetricRetried  = "EmailsRetried"  // records reported for the event source to retry
	MetricFailed   = "EmailsFailed"   // records whose send failed in this invocation, by Class
	MetricRecorded = "EmailsRecorded" // redelivered records whose email had gone out already: not sent twice
)

// emitMetrics writes the batch summary with its metrics: one EMF line under Stage, and one per
// failure class under Stage and Class.
func (f *Function) emitMetrics(ctx context.Context, log *slog.Logger, counts, classes map[string]int, attrs []any) {
	set := metrics.New(metrics.Dim("Stage", f.stage))
	for name, n := range map[string]int{MetricSent: counts[outSent], MetricRetried: counts[outFailed], MetricRecorded: counts[outRecorded]} {
		if n > 0 {
			set.Count(name, n)
		}
	}
	var extra []slog.Attr
	for i := 0; i+1 < len(attrs); i += 2 {
		extra = append(extra, slog.Any(attrs[i].(string), attrs[i+1]))
	}
	if set.Attrs() == nil {
		log.Info("stream batch processed", attrs...)
	} else {
		set.Emit(ctx, log, "stream batch processed", extra...)
	}
	for class, n := range classes {
		metrics.New(metrics.Dim("Stage", f.stage), metrics.Dim("Class", class)).Rollup("Stage").
			Count(MetricFailed, n).Emit(ctx, log, "email failures by class")
	}
}

// process handles one record that asks for an email and returns its outcome and, for a failure,
// its class.
func (f *Function) process(ctx context.Context, log *slog.Logger, rec events.DynamoDBEventRecord, s send) (string, string) {
	inv, err := decodeInvitation(rec.Change.NewImage)
	if err == nil {
		err = emailable(inv, s)
	}
	if err != nil {
		log.Error("invitation cannot be emailed", "error", err.Error())
		return f.reject(ctx, log, s, ReasonInvalidInvitation), ClassInvalid
	}
	log = log.With("kind", inv.Kind)
	st, err := f.ledger.state(ctx, s.accountID, s.invitationID, s.sendCount)
	if err != nil {
		log.Warn("cannot read the send state", "error", err.Error())
		return outFailed, ClassTable
	}
	switch {
	case st.recorded:
		// Redelivered after the email went out: finish the delivery write-back if it was cut off.
		if st.exists && st.sendCount == s.sendCount && (st.delivery == nil || st.delivery.MessageID != st.messageID) {
			if err := f.writeDelivery(ctx, s, domain.Delivery{Status: "sent", MessageID: st.messageID, At: f.stamp()}); err != nil {
				log.Warn("cannot write the delivery status", "error", err.Error())
				return outFailed, ClassTable
			}
		}
		log.Info("email already sent: skipping the redelivered record", "sesMessageId", st.messageID)
		return outRecorded, ""
	case !st.exists:
		log.Info("invitation no longer exists: not sending")
		return outSkipped, ""
	case st.sendCount > s.sendCount:
		log.Info("invitation was sent again since: the newer send carries the valid link", "currentSendCount", st.sendCount)
		return outSkipped, ""
	case st.status != domain.StatusPending:
		log.Info("invitation has ended: not sending", "status", st.status)
		return outSkipped, ""
	}
	if _, err := mail.ParseAddress(inv.Email); err != nil || strings.ContainsAny(inv.Email, "\r\n,;<>") {
		log.Error("invitation email is not one address: not sending")
		return f.reject(ctx, log, s, ReasonInvalidRecipient), ClassInvalid
	}
	if st.accountName != "" {
		inv.AccountName = st.accountName
	}
	msg, err := f.render.Render(inv, f.signer.Token(inv.AccountID, inv.ID, inv.Nonce))
	if err != nil {
		log.Error("cannot render the email", "error", err.Error())
		return f.reject(ctx, log, s, ReasonInvalidInvitation), ClassInvalid
	}

	messageID, fault, attempts := f.send(ctx, log, msg, inv.Kind, s)
	if fault != nil {
		attrs := []any{"class", fault.Class, "sesErrorCode", fault.Code, "attempts", attempts}
		switch fault.Class {
		case ClassAddress:
			log.Warn("SES refused the address for good: delivery failed", append(attrs, "reason", fault.Reason)...)
			return f.reject(ctx, log, s, fault.Reason), fault.Class
		case ClassConfiguration:
			log.Error("SES refused the email because of the account's or the stack's configuration: leaving the record to the retry (then the dead-letter queue)", attrs...)
		default:
			log.Warn("email not sent: leaving the record to the retry", attrs...)
		}
		return outFailed, fault.Class
	}
	log = log.With("sesMessageId", messageID, "attempts", attempts)
	// SES has accepted the email: from here on a failure would send it twice, so the writes are
	// retried for as long as the invocation allows.
	sentAt := f.stamp()
	rec2 := SendRecord{Key: table.EmailSend(s.accountID, s.invitationID, s.sendCount), Entity: EntitySend,
		AccountID: s.accountID, InvitationID: s.invitationID, SendCount: s.sendCount, Kind: inv.Kind,
		MessageID: messageID, SentAt: sentAt}
	if err := f.retryWrite(ctx, func(ctx context.Context) error { return f.ledger.recordSend(ctx, rec2) }); err != nil {
		log.Error("email sent but its send record not written: a retry will send it again", "error", err.Error())
		return outFailed, ClassTable
	}
	if err := f.writeDelivery(ctx, s, domain.Delivery{Status: "sent", MessageID: messageID, At: sentAt}); err != nil {
		log.Warn("email sent and recorded, delivery status not written: the retry writes it", "error", err.Error())
		return outFailed, ClassTable
	}
	log.Info("email sent")
	return outSent, ""
}

// emailable checks what the email needs from the stream image.
func emailable(inv domain.Invitation, s send) error {
	switch {
	case inv.AccountID != s.accountID || inv.ID != s.invitationID:
		return errors.New("the image's ids differ from its key")
	case inv.Kind != domain.KindOwner && inv.Kind != domain.KindWelcome && inv.Kind != domain.KindUser:
		return fmt.Errorf("%w %q", ErrUnknownKind, inv.Kind)
	case inv.Nonce == "":
		return errors.New("the image has no nonce")
	case inv.Email == "":
		return errors.New("the image has no email")
	}
	return nil
}

// reject marks send s failed with reason. The record is done either way unless the write fails.
func (f *Function) reject(ctx context.Context, log *slog.Logger, s send, reason string) string {
	if err := f.writeDelivery(ctx, s, domain.Delivery{Status: "failed", Reason: reason, At: f.stamp()}); err != nil {
		log.Warn("cannot write the failed delivery status", "error", err.Error())
		return outFailed
	}
	return outRejected
}

// writeDelivery writes the delivery status of send s, retrying DynamoDB errors.
func (f *Function) writeDelivery(ctx context.Context, s send, d domain.Delivery) error {
	return f.retryWrite(ctx, func(ctx context.Context) error {
		_, err := f.ledger.writeDelivery(ctx, s.accountID, s.invitationID, s.sendCount, d)
		return err
	})
}

// send sends msg through SES, retrying with back-off the faults that may pass within the
// invocation (throttled, transient). It returns the SES message id, or the classified fault of
// the last attempt (see Classify) when SES refused the email for good, for a reason only an
// operator can fix, or the attempts or the time budget ran out. attempts is how many calls were
// made.
func (f *Function) send(ctx context.Context, log *slog.Logger, msg Message, kind string, snd send) (messageID string, fault *Fault, attempts int) {
	in := f.sending.input(msg, kind, snd)
	for attempts = 1; ; attempts++ {
		actx, cancel := context.WithTimeout(ctx, f.retry.AttemptTimeout)
		out, err := f.ses.SendEmail(actx, in)
		cancel()
		if err == nil {
			return aws.ToString(out.MessageId), nil, attempts
		}
		fault := Classify(err)
		if !fault.retryable() || attempts >= f.retry.SendAttempts || ctx.Err() != nil {
			return "", fault, attempts
		}
		d := f.retry.delay(attempts)
		if !f.retry.fits(ctx, d) {
			return "", fault, attempts
		}
		log.Debug("SES send failed: retrying", "class", fault.Class, "sesErrorCode", fault.Code, "attempt", attempts, "backoffMs", d.Milliseconds())
		if !f.sleeping(ctx, d) {
			return "", fault, attempts
		}
	}
}

// retryWrite runs a table write up to WriteAttempts times with back-off, while ctx lasts.
func (f *Function) retryWrite(ctx context.Context, write func(context.Context) error) error {
	var err error
	for attempt := 1; ; attempt++ {
		if err = write(ctx); err == nil {
			return nil
		}
		if attempt >= f.retry.WriteAttempts || !f.sleeping(ctx, f.retry.delay(attempt)) {
			return err
		}
	}
}

// stamp is the current time as stored: UTC, to the millisecond.
func (f *Function) stamp() time.Time { return f.now().UTC().Truncate(time.Millisecond) }
