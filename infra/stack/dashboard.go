package stack

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/jsii-runtime-go"

	"rollcall/shared/metrics"
)

// EmailMetrics are the email function's metric names (shared/email) the dashboard shows, by
// Stage.
var EmailMetrics = []string{"EmailsSent", "EmailsRetried", "EmailsFailed", "EmailsRecorded"}

// dashboard declares the stage's CloudWatch dashboard, rollcall-<stage>: traffic, 4xx, 5xx and
// p99 latency per route (one line per route, found with a SEARCH expression over the request
// metrics, so a new route appears without a change here), Lambda and table throttles, the
// table's consumed capacity and throttled requests, the email stream's IteratorAge and the
// email counts.
func (b *builder) dashboard() {
	s := b.stage
	search := func(metric, stat, label string) awscloudwatch.IMetric {
		return awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Expression: jsii.String(fmt.Sprintf(`SEARCH('{%s,Stage,Route} Stage="%s" MetricName="%s"', '%s', 60)`,
				metrics.Namespace, s.Name, metric, stat)),
			Label:  jsii.String(label),
			Period: minute(),
		})
	}
	graph := func(title string, width float64, left ...awscloudwatch.IMetric) awscloudwatch.GraphWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title: jsii.String(title), Width: jsii.Number(width), Height: jsii.Number(6), Left: &left,
		})
	}
	ddb := func(name, stat string) awscloudwatch.IMetric {
		return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{Namespace: jsii.String("AWS/DynamoDB"), MetricName: jsii.String(name),
			DimensionsMap: &map[string]*string{"TableName": b.tbl.TableName()}, Statistic: jsii.String(stat), Period: minute()})
	}
	var emails []awscloudwatch.IMetric
	for _, m := range EmailMetrics {
		emails = append(emails, awscloudwatch.NewMetric(&awscloudwatch.MetricProps{Namespace: jsii.String(metrics.Namespace),
			MetricName: jsii.String(m), DimensionsMap: &map[string]*string{"Stage": jsii.String(s.Name)},
			Statistic: jsii.String("Sum"), Period: awscdk.Duration_Minutes(jsii.Number(5))}))
	}
	emailFn := b.out.Functions[EmailFunction]
	d := awscloudwatch.NewDashboard(b.stack, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DashboardName: jsii.String(s.resourcePrefix()),
	})
	d.AddWidgets(
		graph("Requests per route", 12, search("Requests", "Sum", "")),
		graph("p99 latency per route (ms)", 12, search("Latency", "p99", "")),
	)
	d.AddWidgets(
		graph("5xx per route", 12, search("Errors5xx", "Sum", "")),
		graph("4xx per route", 12, search("Errors4xx", "Sum", "")),
	)
	d.AddWidgets(
		graph("Throttles", 8,
			awscloudwatch.NewMetric(&awscloudwatch.MetricProps{Namespace: jsii.String("AWS/Lambda"), MetricName: jsii.String("Throttles"),
				Statistic: jsii.String("Sum"), Period: minute(), Label: jsii.String("Lambda throttles (account)")}),
			ddb("ReadThrottleEvents", "Sum"), ddb("WriteThrottleEvents", "Sum")),
		graph("DynamoDB consumed capacity", 8, ddb("ConsumedReadCapacityUnits", "Sum"), ddb("ConsumedWriteCapacityUnits", "Sum")),
		graph("DynamoDB throttled requests and system errors", 8,
			awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
				Expression: jsii.String(fmt.Sprintf(`SEARCH('{AWS/DynamoDB,TableName,Operation} TableName="%s" MetricName="ThrottledRequests"', 'Sum', 60)`, s.resourcePrefix())),
				Period:     minute(),
			}),
			awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
				Expression: jsii.String(fmt.Sprintf(`SEARCH('{AWS/DynamoDB,TableName,Operation} TableName="%s" MetricName="SystemErrors"', 'Sum', 60)`, s.resourcePrefix())),
				Period:     minute(),
			})),
	)
	d.AddWidgets(
		graph("Email stream IteratorAge (ms)", 12, emailFn.Metric(jsii.String("IteratorAge"),
			&awscloudwatch.MetricOptions{Statistic: jsii.String("Maximum"), Period: minute()})),
		graph("Emails", 12, emails...),
	)
}
