package stack

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdadestinations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsses"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"
	cdknag "github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"rollcall/shared/config"
	"rollcall/shared/email"
	"rollcall/shared/metrics"
	"rollcall/shared/routes"
	"rollcall/shared/sesevents"
)

// This file holds the email parts of the stack that issue 9 added: the configuration set's
// event destination, the ses-events function that records SES's events (shared/sesevents), its
// dead-letter queue, the email alarms, and Cognito's own emails through the stack's SES
// identity. infra/README.md says why the events go through EventBridge.

// SESEventsFunction is the folder under functions/ of the function that records SES events.
const SESEventsFunction = "ses-events"

// SESEventsActions are its DynamoDB actions on the table: GetItem to read an invitation, a
// guard or the account, UpdateItem to write a delivery or an email status. No index, no stream.
var SESEventsActions = []string{routes.GetItem, routes.UpdateItem}

// SESEvents are the SES event types the configuration set publishes (and the function records).
var SESEvents = []awsses.EmailSendingEvent{
	awsses.EmailSendingEvent_SEND, awsses.EmailSendingEvent_DELIVERY, awsses.EmailSendingEvent_BOUNCE,
	awsses.EmailSendingEvent_COMPLAINT, awsses.EmailSendingEvent_REJECT, awsses.EmailSendingEvent_DELIVERY_DELAY,
}

// Settings of the ses-events function and of the email alarms.
const (
	SESEventsMemoryMB = 128
	// SESEventsRetryAttempts is how often EventBridge retries delivering an event to the
	// function (and Lambda an invocation that failed) before the event goes to the queue.
	SESEventsRetryAttempts = 2
	// BounceRatePercent and ComplaintRatePercent are SES's own review thresholds: above them
	// SES may put the account under review (bounces 5 %, complaints 0.1 %).
	BounceRatePercent    = 5
	ComplaintRatePercent = 0.1
	// RateMinEmails is the number of emails SES accepted in the hour below which the bounce and
	// complaint rates are not evaluated (one bounce of the day's first email is not 100 %).
	RateMinEmails = 20
)

// sesEvents declares the configuration set's event destination (EventBridge's default bus), a
// rule matching this stage's SES events, the ses-events function (its live alias is the
// target) with only GetItem and UpdateItem on the table, and its dead-letter queue; and has
// Cognito send its own emails through the stack's SES identity.
func (b *builder) sesEvents() {
	s := b.stage
	bus := awsevents.EventBus_FromEventBusName(b.stack, jsii.String("DefaultEventBus"), jsii.String("default"))
	b.configSet.AddEventDestination(jsii.String("EventBridge"), &awsses.ConfigurationSetEventDestinationOptions{
		Destination: awsses.EventDestination_EventBus(bus),
		Events:      &SESEvents,
	})

	b.sesEventsQ = awssqs.NewQueue(b.stack, jsii.String("SESEventsDeadLetterQueue"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Seconds(jsii.Number(DLQRetention.Seconds())),
		RemovalPolicy:   b.removal,
	})
	cdknag.NagSuppressions_AddResourceSuppressions(b.sesEventsQ, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-SQS3"),
		Reason: jsii.String("This queue is itself the dead-letter queue of the SES events rule's target and of the " +
			"ses-events function's asynchronous invocations; nothing consumes it but operators."),
	}}, jsii.Bool(true))

	env, _ := s.Environment(map[string]string{config.EnvTableName: *b.tbl.TableName()})
	_, alias, role := b.function(SESEventsFunction, "rollcall "+s.Name+": records SES's delivery, bounce and complaint events",
		env, SESEventsMemoryMB, APITimeout)
	b.grantTable(role, SESEventsActions, false)
	b.sesEventsQ.GrantSendMessages(role)
	alias.ConfigureAsyncInvoke(&awslambda.EventInvokeConfigOptions{
		RetryAttempts: jsii.Number(SESEventsRetryAttempts),
		MaxEventAge:   awscdk.Duration_Hours(jsii.Number(6)),
		OnFailure:     awslambdadestinations.NewSqsDestination(b.sesEventsQ),
	})

	var detailTypes []*string
	for _, t := range []string{"Send", "Delivery", "Bounce", "Complaint", "Reject", "DeliveryDelay"} {
		detailTypes = append(detailTypes, jsii.String(sesevents.DetailTypes[t]))
	}
	awsevents.NewRule(b.stack, jsii.String("SESEventsRule"), &awsevents.RuleProps{
		Description: jsii.String("rollcall " + s.Name + ": SES events of the stage's configuration set to the ses-events function"),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings(sesevents.Source),
			DetailType: &detailTypes,
			Detail: &map[string]any{"mail": map[string]any{"tags": map[string]any{
				"ses:configuration-set": []any{*b.configSet.ConfigurationSetName()},
			}}},
		},
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(alias, &awseventstargets.LambdaFunctionProps{
			DeadLetterQueue: b.sesEventsQ,
			RetryAttempts:   jsii.Number(SESEventsRetryAttempts),
			MaxEventAge:     awscdk.Duration_Hours(jsii.Number(6)),
		})},
	})

	// Cognito's verification and password-reset emails through the stack's identity (not
	// Cognito's built-in sender and its daily quota of 50).
	if b.userPool != nil {
		cfn := b.userPool.Node().DefaultChild().(awscognito.CfnUserPool)
		cfn.SetEmailConfiguration(&awscognito.CfnUserPool_EmailConfigurationProperty{
			EmailSendingAccount: jsii.String("DEVELOPER"),
			From:                jsii.String(s.SenderEmail),
			SourceArn:           b.identity.EmailIdentityArn(),
			ConfigurationSet:    b.configSet.ConfigurationSetName(),
			ReplyToEmailAddress: replyTo(s),
		})
	}
}

func replyTo(s Stage) *string {
	if s.ReplyTo == "" {
		return nil
	}
	return jsii.String(s.ReplyTo)
}

// emailAlarms adds the email alarms to those of alarms(), with its alarm helper (no OK action):
// any configuration-class SES failure (email.ClassConfiguration) in a minute; the hard-bounce
// rate over BounceRatePercent and the complaint rate over ComplaintRatePercent of the emails SES
// accepted in the last hour (once RateMinEmails were); messages in the ses-events dead-letter
// queue. The first rolls back the email function's canary deployments, the last the
// ses-events function's.
func (b *builder) emailAlarms(alarm func(id, name, description string, m awscloudwatch.IMetric, threshold float64, datapoints, periods int) awscloudwatch.Alarm, set alarmSet) {
	emf := func(name string, dims map[string]*string, period awscdk.Duration) awscloudwatch.Metric {
		dims["Stage"] = jsii.String(b.stage.Name)
		return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{Namespace: jsii.String(metrics.Namespace), MetricName: jsii.String(name),
			DimensionsMap: &dims, Statistic: jsii.String("Sum"), Period: period})
	}
	cfgFault := alarm("EmailConfigurationFaultAlarm", "email-configuration-faults",
		"SES refused emails because of the account's or the stack's setup (identity not verified, sandbox, sending paused…): they are retried, then dead-lettered; fix the setup and make redrive",
		emf(email.MetricFailed, map[string]*string{"Class": jsii.String(email.ClassConfiguration)}, minute()), 0, 1, 1)
	set.byFunction[EmailFunction] = append(set.byFunction[EmailFunction], cfgFault)

	hour := awscdk.Duration_Hours(jsii.Number(1))
	rate := func(id, name, metric string, threshold float64, what string) {
		m := awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Expression: jsii.String(fmt.Sprintf("IF(FILL(sent,0) >= %d, 100*FILL(bad,0)/sent, 0)", RateMinEmails)),
			UsingMetrics: &map[string]awscloudwatch.IMetric{
				"sent": emf("EmailsAccepted", map[string]*string{}, hour),
				"bad":  emf(metric, map[string]*string{}, hour),
			},
			Label:  jsii.String(what + " rate of the emails SES accepted in the hour (%)"),
			Period: hour,
		})
		alarm(id, name, fmt.Sprintf("the %s rate is over %v %% (SES's review threshold) over the last hour", what, threshold), m, threshold, 1, 1)
	}
	rate("EmailBounceRateAlarm", "email-bounce-rate", sesevents.MetricHardBounce, BounceRatePercent, "hard-bounce")
	rate("EmailComplaintRateAlarm", "email-complaint-rate", sesevents.MetricComplained, ComplaintRatePercent, "complaint")

	dlq := alarm("SESEventsDeadLetterQueueDepthAlarm", "ses-events-dead-letters", "SES events could not be recorded and wait in the ses-events dead-letter queue",
		b.sesEventsQ.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("Maximum")}),
		0, 1, 1)
	set.byFunction[SESEventsFunction] = append(set.byFunction[SESEventsFunction], dlq)
}
