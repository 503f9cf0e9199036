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
// number), so the event source retries it, bisects, and finally dead-letters it. A rejection of
// the message itself (a bad address, a rejected message) marks the delivery failed and does not
// hold up the records after it. The only duplicate left is a crash, or a lost answer, between
// SES's acceptance and the send record.
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
	"rollcall/shared/table"
)

// Options are what the function is built from.
type Options struct {
	DB            DB                  // the table's client
	Table         string              // the table's name
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
	start := time.Now()
	for i, rec := range ev.Records {
		s, ok := selectSend(rec)
		if !ok {
			counts[outIgnored]++
			continue
		}
		rlog := log.With("accountId", s.accountID, "invitationId", s.invitationID, "sendCount", s.sendCount,
			"sequenceNumber", rec.Change.SequenceNumber)
		out := outFailed
		if f.retry.fits(ctx, 0) {
			out = f.process(ctx, rlog, rec, s)
		} else {
			rlog.Warn("time budget spent before the record: leaving it to the retry")
		}
		counts[out]++
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
		// per batch.
		log.Debug("stream batch processed", attrs...)
	} else {
		log.Info("stream batch processed", attrs...)
	}
	return resp, nil
}

// process handles one record that asks for an email and returns its outcome.
func (f *Function) process(ctx context.Context, log *slog.Logger, rec events.DynamoDBEventRecord, s send) string {
	inv, err := decodeInvitation(rec.Change.NewImage)
	if err == nil {
		err = emailable(inv, s)
	}
	if err != nil {
		log.Error("invitation cannot be emailed", "error", err.Error())
		return f.reject(ctx, log, s, ReasonInvalidInvitation)
	}
	log = log.With("kind", inv.Kind)
	st, err := f.ledger.state(ctx, s.accountID, s.invitationID, s.sendCount)
	if err != nil {
		log.Warn("cannot read the send state", "error", err.Error())
		return outFailed
	}
	switch {
	case st.recorded:
		// Redelivered after the email went out: finish the delivery write-back if it was cut off.
		if st.exists && st.sendCount == s.sendCount && (st.delivery == nil || st.delivery.MessageID != st.messageID) {
			if err := f.writeDelivery(ctx, s, domain.Delivery{Status: "sent", MessageID: st.messageID, At: f.stamp()}); err != nil {
				log.Warn("cannot write the delivery status", "error", err.Error())
				return outFailed
			}
		}
		log.Info("email already sent: skipping the redelivered record", "sesMessageId", st.messageID)
		return outRecorded
	case !st.exists:
		log.Info("invitation no longer exists: not sending")
		return outSkipped
	case st.sendCount > s.sendCount:
		log.Info("invitation was sent again since: the newer send carries the valid link", "currentSendCount", st.sendCount)
		return outSkipped
	case st.status != domain.StatusPending:
		log.Info("invitation has ended: not sending", "status", st.status)
		return outSkipped
	}
	if _, err := mail.ParseAddress(inv.Email); err != nil || strings.ContainsAny(inv.Email, "\r\n,;<>") {
		log.Error("invitation email is not one address: not sending")
		return f.reject(ctx, log, s, ReasonInvalidRecipient)
	}
	if st.accountName != "" {
		inv.AccountName = st.accountName
	}
	msg, err := f.render.Render(inv, f.signer.Token(inv.AccountID, inv.ID, inv.Nonce))
	if err != nil {
		log.Error("cannot render the email", "error", err.Error())
		return f.reject(ctx, log, s, ReasonInvalidInvitation)
	}

	messageID, reason, attempts, err := f.send(ctx, log, msg, inv.Kind)
	switch {
	case reason != "":
		log.Warn("SES rejected the email", "reason", reason, "attempts", attempts)
		return f.reject(ctx, log, s, reason)
	case err != nil:
		log.Warn("email not sent: leaving the record to the retry", "error", errorCode(err), "attempts", attempts)
		return outFailed
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
		return outFailed
	}
	if err := f.writeDelivery(ctx, s, domain.Delivery{Status: "sent", MessageID: messageID, At: sentAt}); err != nil {
		log.Warn("email sent and recorded, delivery status not written: the retry writes it", "error", err.Error())
		return outFailed
	}
	log.Info("email sent")
	return outSent
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

// send sends msg through SES, retrying with back-off what may pass. It returns the SES message
// id; or the delivery reason when SES rejected the message for good; or the last error when the
// attempts or the time budget ran out. attempts is how many calls were made.
func (f *Function) send(ctx context.Context, log *slog.Logger, msg Message, kind string) (messageID, reason string, attempts int, err error) {
	in := f.sending.input(msg, kind)
	for attempts = 1; ; attempts++ {
		actx, cancel := context.WithTimeout(ctx, f.retry.AttemptTimeout)
		out, err := f.ses.SendEmail(actx, in)
		cancel()
		if err == nil {
			return aws.ToString(out.MessageId), "", attempts, nil
		}
		if reason := permanentReason(err); reason != "" {
			return "", reason, attempts, nil
		}
		if attempts >= f.retry.SendAttempts || ctx.Err() != nil {
			return "", "", attempts, err
		}
		d := f.retry.delay(attempts)
		if !f.retry.fits(ctx, d) {
			return "", "", attempts, fmt.Errorf("time budget spent: %w", err)
		}
		log.Debug("SES send failed: retrying", "error", errorCode(err), "attempt", attempts, "backoffMs", d.Milliseconds())
		if !f.sleeping(ctx, d) {
			return "", "", attempts, err
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
