package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// alarms declares the stage's alarms and the SNS topic they notify (with the stage's alarm
// email subscribed): errors and throttles of every function, messages in the email dead-letter
// queue, and 5xx answers of the API. Each fires on the first occurrence in a five-minute period
// and notifies again when it clears.
func (b *builder) alarms() {
	s := b.stage
	topic := awssns.NewTopic(b.stack, jsii.String("AlarmTopic"), &awssns.TopicProps{
		DisplayName: jsii.String("rollcall " + s.Name + " alarms"),
		EnforceSSL:  jsii.Bool(true),
	})
	if s.AlarmEmail != "" {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(s.AlarmEmail), nil))
	}
	action := awscloudwatchactions.NewSnsAction(topic)
	alarm := func(scope constructs.Construct, id, description string, metric awscloudwatch.Metric) {
		a := metric.CreateAlarm(scope, jsii.String(id), &awscloudwatch.CreateAlarmOptions{
			AlarmName:          jsii.String(s.resourcePrefix() + "-" + description),
			AlarmDescription:   jsii.String("rollcall " + s.Name + ": " + description),
			Threshold:          jsii.Number(1),
			EvaluationPeriods:  jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		a.AddAlarmAction(action)
		a.AddOkAction(action)
	}
	period := awscdk.Duration_Seconds(jsii.Number(alarmPeriod.Seconds()))
	sum := &awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("Sum")}
	for _, name := range Functions() {
		fn := b.out.Functions[name]
		id := constructID(name)
		alarm(b.stack, id+"ErrorsAlarm", name+"-errors", fn.MetricErrors(sum))
		alarm(b.stack, id+"ThrottlesAlarm", name+"-throttles", fn.MetricThrottles(sum))
	}
	alarm(b.stack, "EmailDeadLetterQueueDepthAlarm", "email-dead-letters", b.dlq.MetricApproximateNumberOfMessagesVisible(
		&awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("Maximum")}))
	alarm(b.stack, "ApiServerErrorsAlarm", "api-5xx", b.httpAPI.MetricServerError(sum))
	awscdk.NewCfnOutput(b.stack, jsii.String("AlarmTopicArn"), &awscdk.CfnOutputProps{
		Value:       topic.TopicArn(),
		Description: jsii.String("SNS topic the stage's alarms notify"),
	})
}
