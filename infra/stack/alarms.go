package stack

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/jsii-runtime-go"

	"rollcall/shared/metrics"
	"rollcall/shared/routes"
)

// Alarm settings. Every alarm evaluates one-minute data points and fires when AlarmDatapoints
// of the last AlarmEvaluationPeriods breach ("3 of 5 minutes"); none notifies on OK.
const (
	AlarmDatapoints        = 3
	AlarmEvaluationPeriods = 5
	// ServerErrorRatePercent is the 5xx rate (per route, and for the whole API) that alarms.
	ServerErrorRatePercent = 1
	// APIMinRequests is the number of requests a minute below which the API-wide 5xx rate is
	// not evaluated (one failed request of three is not an incident).
	APIMinRequests = 10
	// IteratorAgeMs is the age of the oldest stream record the email function has not yet
	// processed that alarms (the stream keeps records 24 hours).
	IteratorAgeMs = 5 * 60 * 1000
	// routesPerAlarm is how many routes one metric-math alarm covers: CloudWatch allows 10
	// metrics in an alarm's expression.
	routesPerAlarm = 10
)

// alarmSet is what the deployment groups need from the alarms: the alarms that roll back a
// deployment of each function.
type alarmSet struct {
	byFunction map[string][]awscloudwatch.IAlarm
}

// minute is the period of every alarm's data points.
func minute() awscdk.Duration { return awscdk.Duration_Minutes(jsii.Number(1)) }

// routeMetric is the EMF metric name of route r in stage, with statistic stat over a minute.
func (b *builder) routeMetric(name, routeKey, stat string) awscloudwatch.Metric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:     jsii.String(metrics.Namespace),
		MetricName:    jsii.String(name),
		DimensionsMap: &map[string]*string{"Stage": jsii.String(b.stage.Name), "Route": jsii.String(routeKey)},
		Statistic:     jsii.String(stat),
		Period:        minute(),
	})
}

// alarms declares the stage's alarms and the SNS topic they notify (with the stage's alarm
// email subscribed), fewer and better than one per function per metric:
//
//   - per route, from the request metrics (shared/reqlog), by groups of routesPerAlarm routes
//     with metric math: the 5xx rate (the Average of Errors5xx, which is 0 or 1 per request)
//     over ServerErrorRatePercent, and the p99 Latency over the stage's latencyP99Ms;
//   - the API's 5xx rate as API Gateway counts it (it also sees crashed and timed-out
//     invocations, which write no request line), once there are APIMinRequests a minute;
//   - throttles: Lambda's (the account's, in the region) and the table's read and write
//     throttle events, summed;
//   - DynamoDB system errors on the table, summed over the operations the functions use;
//   - the email function's stream IteratorAge, and messages in its dead-letter queue.
//
// It returns, per function, the alarms that roll back its canary deployments.
func (b *builder) alarms() alarmSet {
	s := b.stage
	topic := awssns.NewTopic(b.stack, jsii.String("AlarmTopic"), &awssns.TopicProps{
		DisplayName: jsii.String("rollcall " + s.Name + " alarms"),
		EnforceSSL:  jsii.Bool(true),
	})
	if s.AlarmEmail != "" {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(s.AlarmEmail), nil))
	}
	action := awscloudwatchactions.NewSnsAction(topic)
	alarm := func(id, name, description string, m awscloudwatch.IMetric, threshold float64, datapoints, periods int) awscloudwatch.Alarm {
		a := awscloudwatch.NewAlarm(b.stack, jsii.String(id), &awscloudwatch.AlarmProps{
			AlarmName:          jsii.String(s.resourcePrefix() + "-" + name),
			AlarmDescription:   jsii.String("rollcall " + s.Name + ": " + description),
			Metric:             m,
			Threshold:          jsii.Number(threshold),
			EvaluationPeriods:  jsii.Number(float64(periods)),
			DatapointsToAlarm:  jsii.Number(float64(datapoints)),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		a.AddAlarmAction(action) // no OK action: recovery is visible on the dashboard
		return a
	}
	set := alarmSet{byFunction: map[string][]awscloudwatch.IAlarm{}}

	// Per-route 5xx rate and p99 latency, routesPerAlarm routes per alarm.
	for g, start := 0, 0; start < len(routes.All); g, start = g+1, start+routesPerAlarm {
		group := routes.All[start:min(start+routesPerAlarm, len(routes.All))]
		errs := map[string]awscloudwatch.IMetric{}
		lat := map[string]awscloudwatch.IMetric{}
		var ids, names []string
		for i, r := range group {
			id := fmt.Sprintf("r%d", i)
			ids = append(ids, id)
			names = append(names, r.Key())
			errs[id] = b.routeMetric("Errors5xx", r.Key(), "Average")
			lat[id] = b.routeMetric("Latency", r.Key(), "p99")
		}
		list := "[" + strings.Join(ids, ",") + "]"
		errRate := awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Expression:   jsii.String("100*MAX(" + list + ")"),
			UsingMetrics: &errs,
			Label:        jsii.String("highest 5xx rate of the group's routes (%)"),
			Period:       minute(),
		})
		p99 := awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Expression:   jsii.String("MAX(" + list + ")"),
			UsingMetrics: &lat,
			Label:        jsii.String("highest p99 latency of the group's routes (ms)"),
			Period:       minute(),
		})
		covered := strings.Join(names, ", ")
		errAlarm := alarm(fmt.Sprintf("RouteServerErrorRateAlarm%d", g+1), fmt.Sprintf("route-5xx-rate-%d", g+1),
			fmt.Sprintf("a route's 5xx rate is over %d %% for %d of %d minutes; routes: %s", ServerErrorRatePercent, AlarmDatapoints, AlarmEvaluationPeriods, covered),
			errRate, ServerErrorRatePercent, AlarmDatapoints, AlarmEvaluationPeriods)
		latAlarm := alarm(fmt.Sprintf("RouteLatencyAlarm%d", g+1), fmt.Sprintf("route-p99-latency-%d", g+1),
			fmt.Sprintf("a route's p99 latency is over %d ms for %d of %d minutes; routes: %s", s.LatencyP99Ms, AlarmDatapoints, AlarmEvaluationPeriods, covered),
			p99, float64(s.LatencyP99Ms), AlarmDatapoints, AlarmEvaluationPeriods)
		for _, r := range group {
			set.byFunction[r.Function] = append(set.byFunction[r.Function], errAlarm, latAlarm)
		}
	}

	// The API's 5xx rate as API Gateway counts it.
	apiRate := awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression: jsii.String(fmt.Sprintf("IF(c >= %d, 100*e/c, 0)", APIMinRequests)),
		UsingMetrics: &map[string]awscloudwatch.IMetric{
			"e": b.httpAPI.MetricServerError(&awscloudwatch.MetricOptions{Period: minute(), Statistic: jsii.String("Sum")}),
			"c": b.httpAPI.MetricCount(&awscloudwatch.MetricOptions{Period: minute(), Statistic: jsii.String("Sum")}),
		},
		Label:  jsii.String("API 5xx rate (%)"),
		Period: minute(),
	})
	apiAlarm := alarm("ApiServerErrorRateAlarm", "api-5xx-rate",
		fmt.Sprintf("the API's 5xx rate (API Gateway's count, crashes and timeouts included) is over %d %% for %d of %d minutes", ServerErrorRatePercent, AlarmDatapoints, AlarmEvaluationPeriods),
		apiRate, ServerErrorRatePercent, AlarmDatapoints, AlarmEvaluationPeriods)
	for _, r := range routes.All {
		set.byFunction[r.Function] = append(set.byFunction[r.Function], apiAlarm)
	}

	// Throttles: Lambda's and the table's, summed.
	tableDims := &map[string]*string{"TableName": b.tbl.TableName()}
	ddb := func(name string, dims *map[string]*string) awscloudwatch.IMetric {
		return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{Namespace: jsii.String("AWS/DynamoDB"), MetricName: jsii.String(name),
			DimensionsMap: dims, Statistic: jsii.String("Sum"), Period: minute()})
	}
	indexDims := &map[string]*string{"TableName": b.tbl.TableName(), "GlobalSecondaryIndexName": jsii.String("GSI1")}
	throttles := awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression: jsii.String("FILL(l,0)+FILL(r,0)+FILL(w,0)+FILL(ir,0)+FILL(iw,0)"),
		UsingMetrics: &map[string]awscloudwatch.IMetric{
			"l": awscloudwatch.NewMetric(&awscloudwatch.MetricProps{Namespace: jsii.String("AWS/Lambda"), MetricName: jsii.String("Throttles"),
				Statistic: jsii.String("Sum"), Period: minute()}),
			"r":  ddb("ReadThrottleEvents", tableDims),
			"w":  ddb("WriteThrottleEvents", tableDims),
			"ir": ddb("ReadThrottleEvents", indexDims),
			"iw": ddb("WriteThrottleEvents", indexDims),
		},
		Label:  jsii.String("Lambda throttles + table and GSI1 throttle events"),
		Period: minute(),
	})
	alarm("ThrottlesAlarm", "throttles",
		fmt.Sprintf("Lambda invocations (account, region) or table requests were throttled in %d of %d minutes", AlarmDatapoints, AlarmEvaluationPeriods),
		throttles, 0, AlarmDatapoints, AlarmEvaluationPeriods)

	// DynamoDB system errors, summed over the operations the functions make.
	sysErrs := map[string]awscloudwatch.IMetric{}
	var terms []string
	for i, op := range []string{"GetItem", "BatchGetItem", "Query", "PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "GetRecords"} {
		id := fmt.Sprintf("s%d", i)
		sysErrs[id] = ddb("SystemErrors", &map[string]*string{"TableName": b.tbl.TableName(), "Operation": jsii.String(op)})
		terms = append(terms, "FILL("+id+",0)")
	}
	ddbErrors := awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression:   jsii.String(strings.Join(terms, "+")),
		UsingMetrics: &sysErrs,
		Label:        jsii.String("DynamoDB system errors"),
		Period:       minute(),
	})
	alarm("DynamoDBSystemErrorsAlarm", "dynamodb-system-errors",
		fmt.Sprintf("DynamoDB answered the table's requests with system errors (5xx) in %d of %d minutes", AlarmDatapoints, AlarmEvaluationPeriods),
		ddbErrors, 0, AlarmDatapoints, AlarmEvaluationPeriods)

	// The email function: stream lag and dead letters.
	emailFn := b.out.Functions[EmailFunction]
	iterAge := alarm("EmailIteratorAgeAlarm", "email-iterator-age",
		fmt.Sprintf("the email function is more than %d minutes behind the table's stream for %d of %d minutes", IteratorAgeMs/60000, AlarmDatapoints, AlarmEvaluationPeriods),
		emailFn.Metric(jsii.String("IteratorAge"), &awscloudwatch.MetricOptions{Statistic: jsii.String("Maximum"), Period: minute()}),
		IteratorAgeMs, AlarmDatapoints, AlarmEvaluationPeriods)
	dlq := alarm("EmailDeadLetterQueueDepthAlarm", "email-dead-letters", "the email function's dead-letter queue holds messages",
		b.dlq.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("Maximum")}),
		0, 1, 1)
	set.byFunction[EmailFunction] = append(set.byFunction[EmailFunction], iterAge, dlq)
	b.emailAlarms(alarm, set) // email_events.go: SES outcomes, bounce and complaint rates, SES events' dead letters

	awscdk.NewCfnOutput(b.stack, jsii.String("AlarmTopicArn"), &awscdk.CfnOutputProps{
		Value:       topic.TopicArn(),
		Description: jsii.String("SNS topic the stage's alarms notify"),
	})
	return set
}
