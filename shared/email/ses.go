package email

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"
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

// input is the SendEmail request for msg of an invitation of kind.
func (s Sending) input(msg Message, kind string) *sesv2.SendEmailInput {
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
		// The kind tags the event destinations of the configuration set (bounces, complaints).
		EmailTags: []sestypes.MessageTag{{Name: aws.String("kind"), Value: aws.String(kind)}},
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
	ReasonMessageRejected   = "message_rejected"   // SES refused the message (MessageRejected)
	ReasonInvalidRequest    = "invalid_request"    // SES refused the request, e.g. the address (BadRequestException)
	ReasonInvalidRecipient  = "invalid_recipient"  // the invitation's email is not one address
	ReasonInvalidInvitation = "invalid_invitation" // the stream image is not an invitation that can be emailed
)

// permanentReason returns the delivery reason when err is a rejection of this very message,
// which no retry can change (a bad address, a rejected message), and "" when err may pass:
// throttling, quotas, SES or network faults, and account-level conditions an operator fixes
// (sending paused, identity not verified, configuration set missing) are all retried, and
// end in the dead-letter queue rather than marking the invitation failed.
func permanentReason(err error) string {
	var rejected *sestypes.MessageRejected
	var bad *sestypes.BadRequestException
	switch {
	case errors.As(err, &rejected):
		return ReasonMessageRejected
	case errors.As(err, &bad):
		return ReasonInvalidRequest
	}
	return ""
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
