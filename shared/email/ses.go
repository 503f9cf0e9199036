package email

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"

	"rollcall/shared/sesevents"
)

// SES is the part of the SES v2 client the function uses; *sesv2.Client satisfies it, and tests
// wrap it to inject faults.
type SES interface {
	SendEmail(context.Context, *sesv2.SendEmailInput, ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)
}

// Sending is the stage's sender configuration (DESIGN §4).
type Sending struct {
	From             string // FromEmailAddress
	ReplyTo          string // optional Reply-To address
	ConfigurationSet string // optional SES configuration set
}

// input is the SendEmail request for msg of send s of an invitation of kind.
func (s Sending) input(msg Message, kind string, snd send) *sesv2.SendEmailInput {
	utf8 := aws.String("UTF-8")
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(s.From),
		Destination:      &sestypes.Destination{ToAddresses: []string{msg.To}},
		Content: &sestypes.EmailContent{Simple: &sestypes.Message{
			Subject: &sestypes.Content{Data: aws.String(msg.Subject), Charset: utf8},
			Body: &sestypes.Body{
				Html: &sestypes.Content{Data: aws.String(msg.HTML), Charset: utf8},
				Text: &sestypes.Content{Data: aws.String(msg.Text), Charset: utf8},
			},
		}},
		// The kind, and the invitation and send the email is: SES's events of it (the
		// configuration set's event destination) find the invitation through them.
		EmailTags: []sestypes.MessageTag{
			{Name: aws.String(sesevents.TagKind), Value: aws.String(kind)},
			{Name: aws.String(sesevents.TagAccountID), Value: aws.String(snd.accountID)},
			{Name: aws.String(sesevents.TagInvitationID), Value: aws.String(snd.invitationID)},
			{Name: aws.String(sesevents.TagSendCount), Value: aws.String(strconv.Itoa(snd.sendCount))},
		},
	}
	if s.ReplyTo != "" {
		in.ReplyToAddresses = []string{s.ReplyTo}
	}
	if s.ConfigurationSet != "" {
		in.ConfigurationSetName = aws.String(s.ConfigurationSet)
	}
	return in
}

// Reasons written into a failed delivery. They are stable codes, shown to the account's owner
// through the invitation's delivery (never SES's own error text, which may quote the address).
const (
	ReasonInvalidAddress    = "invalid_address"    // SES will never take this address (it refused it as malformed)
	ReasonInvalidRecipient  = "invalid_recipient"  // the invitation's email is not one address
	ReasonInvalidInvitation = "invalid_invitation" // the stream image is not an invitation that can be emailed
)

// Classes of send failures: the Class dimension of the EmailsFailed metric and the "class" of
// the log line that reports each SES error with its code.
const (
	// ClassAddress: SES refused the recipient's address as one it will never take. The only
	// permanent class: the delivery is marked failed and the record is done.
	ClassAddress = "address"
	// ClassConfiguration: the account or the stack is at fault (sender identity or MAIL FROM
	// domain not verified, sandbox recipient, sending paused or suspended, configuration set
	// missing, access denied, any other refusal of a request SES would take from a correct
	// setup). Not retried within the invocation (it cannot pass until an operator acts); the
	// record is reported for the event source's retries and ends in the dead-letter queue, from
	// which `make redrive` sends it once fixed. Alarmed.
	ClassConfiguration = "configuration"
	// ClassThrottled: sending rate or quota exceeded. Retried with back-off within the
	// invocation, then by the event source.
	ClassThrottled = "throttled"
	// ClassTransient: SES or network faults, time-outs. Retried as throttling is.
	ClassTransient = "transient"
	// ClassInvalid: the invitation itself cannot be emailed (see ReasonInvalidInvitation and
	// ReasonInvalidRecipient); permanent, SES is not called.
	ClassInvalid = "invalid"
	// ClassTable: a DynamoDB read or write failed; retried by the event source.
	ClassTable = "table"
)

// Fault is a classified SES error: its class, SES's error code (safe to log) and, for the
// permanent class, the delivery reason.
type Fault struct {
	Class  string
	Code   string
	Reason string
	Err    error
}

func (f *Fault) Error() string { return f.Class + ": " + f.Code }
func (f *Fault) Unwrap() error { return f.Err }

// retryable reports whether a retry within the invocation may pass.
func (f *Fault) retryable() bool { return f.Class == ClassThrottled || f.Class == ClassTransient }

// Classify sorts an error of SES v2's SendEmail into its class (see the Class constants), by the
// SDK's typed errors:
//
//   - TooManyRequestsException, LimitExceededException (rate or daily quota): throttled;
//   - AccountSuspendedException, SendingPausedException, MailFromDomainNotVerifiedException,
//     NotFoundException (configuration set or identity missing): configuration;
//   - MessageRejected and BadRequestException: address when SES says the address is illegal
//     or malformed, else configuration — MessageRejected is what SES answers for an unverified
//     sender identity and for a recipient outside the sandbox's verified addresses, which a
//     fresh account hits for every email, so it is never taken as the address's fault unless
//     SES says so;
//   - other errors SES marks as its own (5xx), network errors and time-outs: transient;
//   - any other client error (access denied, an unknown code): configuration.
//
// An address on the account's suppression list is not refused by SendEmail: SES accepts the
// message and reports a permanent bounce (OnAccountSuppressionList) through the configuration
// set's events, which functions/ses-events records.
func Classify(err error) *Fault {
	f := &Fault{Code: errorCode(err), Err: err}
	var (
		throttled *sestypes.TooManyRequestsException
		limit     *sestypes.LimitExceededException
		suspended *sestypes.AccountSuspendedException
		paused    *sestypes.SendingPausedException
		mailFrom  *sestypes.MailFromDomainNotVerifiedException
		notFound  *sestypes.NotFoundException
		rejected  *sestypes.MessageRejected
		bad       *sestypes.BadRequestException
		internal  *sestypes.InternalServiceErrorException
		apiErr    smithy.APIError
	)
	switch {
	case errors.As(err, &throttled), errors.As(err, &limit):
		f.Class = ClassThrottled
	case errors.As(err, &suspended), errors.As(err, &paused), errors.As(err, &mailFrom), errors.As(err, &notFound):
		f.Class = ClassConfiguration
	case errors.As(err, &rejected):
		f.Class = addressOr(aws.ToString(rejected.Message))
	case errors.As(err, &bad):
		f.Class = addressOr(aws.ToString(bad.Message))
	case errors.As(err, &internal):
		f.Class = ClassTransient
	case errors.As(err, &apiErr):
		if apiErr.ErrorFault() == smithy.FaultServer {
			f.Class = ClassTransient
		} else {
			f.Class = ClassConfiguration
		}
	default:
		f.Class = ClassTransient // network, time-outs, cancellations
	}
	if f.Class == ClassAddress {
		f.Reason = ReasonInvalidAddress
	}
	return f
}

// addressOr returns ClassAddress when SES's message says the address itself is invalid
// ("Illegal address", "Missing final '@domain'", "Domain contains illegal character", "Local
// address contains control or whitespace"…), else ClassConfiguration. "Email address is not
// verified" is configuration (sandbox or sender identity).
func addressOr(msg string) string {
	m := strings.ToLower(msg)
	switch {
	case strings.Contains(m, "not verified"):
		return ClassConfiguration
	case strings.Contains(m, "illegal address"), strings.Contains(m, "missing final '@domain'"),
		strings.Contains(m, "domain contains illegal character"), strings.Contains(m, "local address contains"),
		strings.Contains(m, "invalid address"), strings.Contains(m, "address is invalid"):
		return ClassAddress
	}
	return ClassConfiguration
}

// errorCode is the AWS error code of err, or its Go type for other errors: safe to log, unlike
// SES's error messages, which may quote the recipient's address.
func errorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "DeadlineExceeded"
	case errors.Is(err, context.Canceled):
		return "Canceled"
	}
	return "transport"
}

// RetryPolicy says how the function retries SES and the table within one invocation.
// Retries back off exponentially with full jitter, and stop early enough that the invocation
// can finish its writes and answer before the Lambda deadline.
type RetryPolicy struct {
	SendAttempts   int           // SES attempts per email (1 = no retry)
	WriteAttempts  int           // attempts of each table write once SES has accepted an email
	BaseDelay      time.Duration // first back-off ceiling; doubles per attempt
	MaxDelay       time.Duration // back-off ceiling
	AttemptTimeout time.Duration // longest one SES attempt may take
	Reserve        time.Duration // kept free before the deadline for the table writes and the answer
}

// DefaultRetryPolicy suits a function with a 60 s timeout and batches of 10: a throttled email
// is tried for up to about 10 s, and a record is started only while a full attempt still fits.
var DefaultRetryPolicy = RetryPolicy{
	SendAttempts:   6,
	WriteAttempts:  5,
	BaseDelay:      200 * time.Millisecond,
	MaxDelay:       5 * time.Second,
	AttemptTimeout: 10 * time.Second,
	Reserve:        3 * time.Second,
}

// delay is the back-off before retry number attempt (1 for the first retry): a random
// duration up to min(MaxDelay, BaseDelay·2^(attempt-1)).
func (p RetryPolicy) delay(attempt int) time.Duration {
	ceiling := p.BaseDelay << min(attempt-1, 20)
	if ceiling > p.MaxDelay || ceiling <= 0 {
		ceiling = p.MaxDelay
	}
	if ceiling <= 0 {
		return 0
	}
	return rand.N(ceiling + 1)
}

// fits reports whether an SES attempt started after waiting wait still leaves AttemptTimeout
// plus Reserve before ctx's deadline (always, without a deadline).
func (p RetryPolicy) fits(ctx context.Context, wait time.Duration) bool {
	deadline, ok := ctx.Deadline()
	return !ok || time.Until(deadline)-wait >= p.AttemptTimeout+p.Reserve
}

// sleep waits d or until ctx ends, and reports whether it waited d.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
