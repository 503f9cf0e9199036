package stack

import (
	"time"

	"rollcall/shared/email"
	"rollcall/shared/routes"
)

// EmailFunction is the folder under functions/ of the stream function that sends invitation
// emails (DESIGN §4). It serves no route, so its facts are kept here, not in routes.All.
const EmailFunction = "send-emails"

// EmailActions are the DynamoDB actions the email function needs on the table, besides reading
// the stream: GetItem to check a send record, PutItem to record a send, UpdateItem to write the
// delivery status onto the invitation.
var EmailActions = []string{routes.GetItem, routes.PutItem, routes.UpdateItem}

// EmailSESActions are the SES v2 actions the email function needs on the sender identity and the
// configuration set.
var EmailSESActions = []string{"ses:SendEmail"}

// Stream event source settings of the email function (DESIGN §4: bisect, bounded retries,
// partial batch failures, dead-letter queue, only invitation records): the one definition in
// shared/email, which the local stream poller applies too.
var (
	EmailBatchSize     = email.Source.BatchSize
	EmailRetryAttempts = email.Source.RetryAttempts
	EmailMaxRecordAge  = email.Source.MaxRecordAge
	EmailFilter        = email.Source.Filter
)

// Function sizing. API functions answer within API Gateway's 30 s integration limit; the
// email function sends up to EmailBatchSize emails per invocation.
const (
	APIMemoryMB     = 256
	APITimeout      = 10 * time.Second
	EmailMemoryMB   = 256
	EmailTimeout    = 60 * time.Second
	DLQRetention    = 14 * 24 * time.Hour
	alarmPeriod     = 5 * time.Minute
	maxFunctionName = 64
)

// Functions lists every function the stack deploys: one per route of routes.All, in its order,
// then the email function and the SES events function.
func Functions() []string {
	names := make([]string, 0, len(routes.All)+1)
	for _, r := range routes.All {
		names = append(names, r.Function)
	}
	return append(names, EmailFunction, SESEventsFunction)
}
