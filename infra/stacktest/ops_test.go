package stacktest

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"rollcall/infra/stack"
	"rollcall/shared/routes"
	"rollcall/shared/table"
)

// MaxResources is CloudFormation's limit of resources in one stack.
const MaxResources = 500

// TableLogicalID is the table's logical id in every stage's template. CloudFormation replaces a
// resource whose logical id changes (a new, empty table under the API): this must never change.
const TableLogicalID = "TableCD117FA1"

// checkAlarms checks a stage's alarms: the ones listed below and no other, each notifying the
// alarm topic on alarm only (no OK notifications), breaching 3 of 5 one-minute data points
// (the dead-letter queue: its first message), every route covered by one 5xx-rate alarm and one
// p99-latency alarm at the stage's threshold.
func checkAlarms(t *testing.T, s *synthesized) {
	t.Helper()
	name := s.stage.Name
	topicID, _ := s.only(t, "AWS::SNS::Topic")
	groups := (len(routes.All) + 9) / 10
	want := []string{"api-5xx-rate", "throttles", "dynamodb-system-errors", "email-iterator-age", "email-dead-letters"}
	want = append(want, emailAlarmNames...) // email_events_test.go
	for g := 1; g <= groups; g++ {
		want = append(want, fmt.Sprintf("route-5xx-rate-%d", g), fmt.Sprintf("route-p99-latency-%d", g))
	}
	var got []string
	errCovered, latCovered := map[string]int{}, map[string]int{}
	for id, a := range s.resources("AWS::CloudWatch::Alarm") {
		p := props(a)
		short := strings.TrimPrefix(p["AlarmName"].(string), "rollcall-"+name+"-")
		got = append(got, short)
		if canon(p["AlarmActions"]) != canon([]any{ref(topicID)}) {
			t.Errorf("%s: alarm %s notifies %s, want the alarm topic", name, id, canon(p["AlarmActions"]))
		}
		if p["OKActions"] != nil || p["InsufficientDataActions"] != nil {
			t.Errorf("%s: alarm %s notifies on OK or insufficient data", name, short)
		}
		if short != "email-dead-letters" && !slices.Contains(emailAlarmNames, short) && (p["DatapointsToAlarm"] != 3.0 || p["EvaluationPeriods"] != 5.0) {
			t.Errorf("%s: alarm %s fires on %v of %v data points, want 3 of 5", name, short, p["DatapointsToAlarm"], p["EvaluationPeriods"])
		}
		body := canon(p["Metrics"])
		for _, r := range routes.All {
			quoted := canon(r.Key())
			if !strings.Contains(body, `"Value":`+quoted+`}`) {
				continue
			}
			switch {
			case strings.HasPrefix(short, "route-5xx-rate-"):
				if !strings.Contains(body, `"MetricName":"Errors5xx"`) || !strings.Contains(body, `"Stat":"Average"`) || p["Threshold"] != 1.0 {
					t.Errorf("%s: %s does not alarm on the Average of Errors5xx over 1 %%", name, short)
				}
				errCovered[r.Key()]++
			case strings.HasPrefix(short, "route-p99-latency-"):
				if !strings.Contains(body, `"MetricName":"Latency"`) || !strings.Contains(body, `"Stat":"p99"`) || p["Threshold"] != float64(s.stage.LatencyP99Ms) {
					t.Errorf("%s: %s does not alarm on p99 Latency over %d ms", name, short, s.stage.LatencyP99Ms)
				}
				latCovered[r.Key()]++
			}
		}
	}
	if !reflect.DeepEqual(sorted(got), sorted(want)) {
		t.Errorf("%s: alarms %v, want %v", name, sorted(got), sorted(want))
	}
	for _, r := range routes.All {
		if errCovered[r.Key()] != 1 || latCovered[r.Key()] != 1 {
			t.Errorf("%s: route %s is in %d 5xx-rate and %d latency alarms, want 1 each", name, r.Key(), errCovered[r.Key()], latCovered[r.Key()])
		}
	}
}

// Every function publishes versions behind the live alias. In prod each alias moves through a
// CodeDeploy canary (10 % for 5 minutes) rolled back by the function's alarms; dev and staging
// move it at once.
func TestVersionsAliasesAndDeployments(t *testing.T) {
	for _, name := range []string{"dev", "staging", "prod"} {
		s := synth(t, name)
		canary := s.stage.CanaryDeployments
		if canary != (name == "prod") {
			t.Errorf("%s: canaryDeployments %v", name, canary)
		}
		groups := s.resources("AWS::CodeDeploy::DeploymentGroup")
		alarmIDs := map[string]string{}
		for id, a := range s.resources("AWS::CloudWatch::Alarm") {
			alarmIDs[id] = strings.TrimPrefix(props(a)["AlarmName"].(string), "rollcall-"+name+"-")
		}
		for _, fn := range stack.Functions() {
			fnID, _ := s.function(t, fn)
			aliasID := s.alias(t, fnID)
			alias := s.tmpl["Resources"].(map[string]any)[aliasID].(map[string]any)
			version := props(alias)["FunctionVersion"].(map[string]any)["Fn::GetAtt"].([]any)
			v := s.tmpl["Resources"].(map[string]any)[version[0].(string)].(map[string]any)
			if v["Type"] != "AWS::Lambda::Version" || canon(props(v)["FunctionName"]) != canon(ref(fnID)) {
				t.Errorf("%s/%s: the live alias points at %s, not a version of the function", name, fn, canon(version))
			}
			update, _ := alias["UpdatePolicy"].(map[string]any)
			if (update["CodeDeployLambdaAliasUpdate"] != nil) != canary {
				t.Errorf("%s/%s: alias update policy %s, canary %v", name, fn, canon(update), canary)
			}
			if !canary {
				continue
			}
			groupID := canon(update["CodeDeployLambdaAliasUpdate"].(map[string]any)["DeploymentGroupName"].(map[string]any)["Ref"])
			group, ok := groups[strings.Trim(groupID, `"`)]
			if !ok {
				t.Fatalf("%s/%s: no deployment group %s", name, fn, groupID)
			}
			gp := props(group)
			if gp["DeploymentConfigName"] != "CodeDeployDefault.LambdaCanary10Percent5Minutes" {
				t.Errorf("%s/%s: deployment config %v", name, fn, gp["DeploymentConfigName"])
			}
			rollback := canon(gp["AutoRollbackConfiguration"])
			if !strings.Contains(rollback, "DEPLOYMENT_STOP_ON_ALARM") || !strings.Contains(rollback, `"Enabled":true`) {
				t.Errorf("%s/%s: no rollback on alarm: %s", name, fn, rollback)
			}
			ac := gp["AlarmConfiguration"].(map[string]any)
			var wired []string
			for _, a := range list(ac["Alarms"]) {
				wired = append(wired, alarmIDs[a.(map[string]any)["Name"].(map[string]any)["Ref"].(string)])
			}
			wantAlarms := []string{"email-dead-letters", "email-iterator-age", "email-configuration-faults"}
			switch fn {
			case stack.EmailFunction:
			case stack.SESEventsFunction:
				wantAlarms = []string{"ses-events-dead-letters"}
			default:
				g := slices.IndexFunc(routes.All, func(r routes.Route) bool { return r.Function == fn })/10 + 1
				wantAlarms = []string{"api-5xx-rate", fmt.Sprintf("route-5xx-rate-%d", g), fmt.Sprintf("route-p99-latency-%d", g)}
			}
			if ac["Enabled"] != true || !reflect.DeepEqual(sorted(wired), sorted(wantAlarms)) {
				t.Errorf("%s/%s: rollback alarms %v (enabled %v), want %v", name, fn, wired, ac["Enabled"], wantAlarms)
			}
		}
		if canary && len(groups) != len(stack.Functions()) {
			t.Errorf("%s: %d deployment groups, want one per function (%d)", name, len(groups), len(stack.Functions()))
		}
		if !canary && len(groups) != 0 {
			t.Errorf("%s: %d deployment groups, want none (all at once)", name, len(groups))
		}
	}
}

// Every stage stays under CloudFormation's 500-resource limit; the counts are printed.
func TestResourceCount(t *testing.T) {
	for _, name := range []string{"dev", "staging", "prod", external} {
		s := synth(t, name)
		n := len(s.tmpl["Resources"].(map[string]any))
		t.Logf("stage %s: %d resources (limit %d); %d routes", name, n, MaxResources, len(routes.All))
		if n >= MaxResources {
			t.Errorf("stage %s has %d resources, CloudFormation allows %d: split into nested stacks", name, n, MaxResources)
		}
	}
}

// The table can never be replaced by a deploy: its logical id, fixed name and key schema are
// pinned here (a change to any of them would make CloudFormation create a new, empty table),
// and its fixed name makes CloudFormation refuse any replacement at deploy time.
func TestTableCannotBeReplaced(t *testing.T) {
	for _, name := range []string{"dev", "staging", "prod"} {
		s := synth(t, name)
		id, tbl := s.only(t, "AWS::DynamoDB::Table")
		if id != TableLogicalID {
			t.Errorf("%s: the table's logical id is %s, want %s: a new logical id replaces the table", name, id, TableLogicalID)
		}
		p := props(tbl)
		if p["TableName"] != "rollcall-"+name {
			t.Errorf("%s: table name %v, want the fixed rollcall-%s (CloudFormation refuses to replace a named table)", name, p["TableName"], name)
		}
		wantKeys := `[{"AttributeName":"PK","KeyType":"HASH"},{"AttributeName":"SK","KeyType":"RANGE"}]`
		if table.PK != "PK" || table.SK != "SK" || canon(p["KeySchema"]) != wantKeys {
			t.Errorf("%s: key schema %s, want %s: changing it replaces the table", name, canon(p["KeySchema"]), wantKeys)
		}
	}
}

// Prod's table is encrypted with the stack's customer-managed key (rotated) and backed up by an
// AWS Backup plan; its dead-letter queue and backups are kept. Dev has neither key nor plan.
func TestProdTableEncryptionAndBackup(t *testing.T) {
	prod, dev := synth(t, "prod"), synth(t, "dev")
	keyID, key := prod.only(t, "AWS::KMS::Key")
	if props(key)["EnableKeyRotation"] != true || key["DeletionPolicy"] != "RetainExceptOnCreate" {
		t.Errorf("prod: table key %s", canon(key))
	}
	tableID, tbl := prod.only(t, "AWS::DynamoDB::Table")
	sse := props(tbl)["SSESpecification"].(map[string]any)
	if sse["SSEEnabled"] != true || sse["SSEType"] != "KMS" || canon(sse["KMSMasterKeyId"]) != canon(getAtt(keyID, "Arn")) {
		t.Errorf("prod: table encryption %s", canon(sse))
	}
	_, sel := prod.only(t, "AWS::Backup::BackupSelection")
	if !strings.Contains(canon(sel), canon(getAtt(tableID, "Arn"))) {
		t.Errorf("prod: the backup selection does not cover the table: %s", canon(sel))
	}
	_, plan := prod.only(t, "AWS::Backup::BackupPlan")
	if n := len(list(props(plan)["BackupPlan"].(map[string]any)["BackupPlanRule"])); n < 2 {
		t.Errorf("prod: backup plan has %d rules, want daily and monthly", n)
	}
	_, queue := prod.byPrefix(t, "AWS::SQS::Queue", "EmailDeadLetterQueue")
	if queue["DeletionPolicy"] != "RetainExceptOnCreate" {
		t.Errorf("prod: dead-letter queue deletion policy %v, want RetainExceptOnCreate", queue["DeletionPolicy"])
	}
	if len(dev.resources("AWS::KMS::Key")) != 0 || len(dev.resources("AWS::Backup::BackupPlan")) != 0 {
		t.Error("dev has a table key or a backup plan")
	}
}

// Every function logs in Lambda's JSON format at the stage's level and is traced by X-Ray.
func TestFunctionsLogJSONAndAreTraced(t *testing.T) {
	for _, name := range []string{"dev", "prod"} {
		s := synth(t, name)
		wantApp := "INFO"
		if s.stage.LogLevel == "DEBUG" {
			wantApp = "DEBUG"
		}
		for _, fn := range stack.Functions() {
			_, f := s.function(t, fn)
			p := props(f)
			lc := p["LoggingConfig"].(map[string]any)
			if lc["LogFormat"] != "JSON" || lc["ApplicationLogLevel"] != wantApp || lc["SystemLogLevel"] != "INFO" {
				t.Errorf("%s/%s: logging config %s", name, fn, canon(lc))
			}
			if env := p["Environment"].(map[string]any)["Variables"].(map[string]any); env["LOG_LEVEL"] != s.stage.LogLevel {
				t.Errorf("%s/%s: LOG_LEVEL %v, want %s", name, fn, env["LOG_LEVEL"], s.stage.LogLevel)
			}
			if canon(p["TracingConfig"]) != `{"Mode":"Active"}` {
				t.Errorf("%s/%s: tracing %s", name, fn, canon(p["TracingConfig"]))
			}
		}
	}
}

// The invitation token routes and the batch routes are throttled tighter than the stage's
// default, and the API stage waits for the routes it names.
func TestSensitiveRoutesThrottled(t *testing.T) {
	for _, name := range []string{"dev", "prod"} {
		s := synth(t, name)
		_, st := s.only(t, "AWS::ApiGatewayV2::Stage")
		def := props(st)["DefaultRouteSettings"].(map[string]any)
		settings, _ := props(st)["RouteSettings"].(map[string]any)
		if len(settings) != len(stack.SensitiveRoutes) {
			t.Errorf("%s: route settings %s in %s", name, canon(settings), canon(props(st)))
		}
		for _, key := range stack.SensitiveRoutes {
			if !slices.ContainsFunc(routes.All, func(r routes.Route) bool { return r.Key() == key }) {
				t.Errorf("sensitive route %q is not in the route table", key)
			}
			rs, _ := settings[key].(map[string]any)
			rate, _ := rs["ThrottlingRateLimit"].(float64)
			burst, _ := rs["ThrottlingBurstLimit"].(float64)
			if rate <= 0 || burst <= 0 || rate >= def["ThrottlingRateLimit"].(float64) || burst >= def["ThrottlingBurstLimit"].(float64) {
				t.Errorf("%s: %s throttled at %v/%v, default %v/%v", name, key, rate, burst, def["ThrottlingRateLimit"], def["ThrottlingBurstLimit"])
			}
		}
		if len(list(st["DependsOn"])) < len(routes.All) {
			t.Errorf("%s: the API stage does not wait for the routes its settings name: %s", name, canon(st["DependsOn"]))
		}
	}
}

// One dashboard per stage with traffic, errors and p99 per route, throttles, the table's
// capacity, the stream's IteratorAge and the emails.
func TestDashboard(t *testing.T) {
	for _, name := range []string{"dev", "prod"} {
		s := synth(t, name)
		_, d := s.only(t, "AWS::CloudWatch::Dashboard")
		if props(d)["DashboardName"] != "rollcall-"+name {
			t.Errorf("%s: dashboard name %v", name, props(d)["DashboardName"])
		}
		body := canon(props(d)["DashboardBody"])
		for _, want := range []string{"Requests per route", "p99 latency per route", "5xx per route", "4xx per route", "Throttles",
			"ConsumedReadCapacityUnits", "ThrottledRequests", "IteratorAge", "EmailsSent", `Stage=\\\"` + name + `\\\"`} {
			if !strings.Contains(body, want) {
				t.Errorf("%s: dashboard lacks %s", name, want)
			}
		}
	}
}
