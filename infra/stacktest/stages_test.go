package stacktest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"rollcall/infra/stack"
	"rollcall/shared/routes"
	"rollcall/shared/table"
)

// cdk.json configures dev, staging and prod, and the stack names follow Rollcall-<stage>.
func TestStagesConfigured(t *testing.T) {
	for _, name := range []string{"dev", "staging", "prod"} {
		st, ok := stages[name]
		if !ok {
			t.Errorf("cdk.json has no stage %s", name)
			continue
		}
		if st.StackName() != "Rollcall-"+name {
			t.Errorf("stack name %s", st.StackName())
		}
	}
}

// The table is built from shared/table in every stage: keys, GSI1, TTL, stream with new and
// old images, on-demand billing.
func TestTableFromSharedDefinition(t *testing.T) {
	for _, stage := range []string{"dev", "prod"} {
		s := synth(t, stage)
		_, tbl := s.only(t, "AWS::DynamoDB::Table")
		p := props(tbl)
		want := map[string]any{
			"BillingMode": "PAY_PER_REQUEST",
			"KeySchema": []any{
				map[string]any{"AttributeName": table.PK, "KeyType": "HASH"},
				map[string]any{"AttributeName": table.SK, "KeyType": "RANGE"},
			},
			"StreamSpecification":     map[string]any{"StreamViewType": string(table.StreamView)},
			"TimeToLiveSpecification": map[string]any{"AttributeName": table.TTLAttribute, "Enabled": true},
			"GlobalSecondaryIndexes": []any{map[string]any{
				"IndexName": table.GSI1,
				"KeySchema": []any{
					map[string]any{"AttributeName": table.GSI1PK, "KeyType": "HASH"},
					map[string]any{"AttributeName": table.GSI1SK, "KeyType": "RANGE"},
				},
				"Projection": map[string]any{"ProjectionType": "ALL"},
			}},
		}
		for k, v := range want {
			if canon(p[k]) != canon(v) {
				t.Errorf("%s: table %s = %s, want %s", stage, k, canon(p[k]), canon(v))
			}
		}
		var defs []string
		for _, d := range list(p["AttributeDefinitions"]) {
			m := d.(map[string]any)
			defs = append(defs, m["AttributeName"].(string)+":"+m["AttributeType"].(string))
		}
		if !reflect.DeepEqual(sorted(defs), sorted([]string{table.PK + ":S", table.SK + ":S", table.GSI1PK + ":S", table.GSI1SK + ":S"})) {
			t.Errorf("%s: attribute definitions %v", stage, defs)
		}
	}
}

// Prod keeps its data and watches itself; dev is disposable and quiet.
func TestProdAndDevDiffer(t *testing.T) {
	dev, prod := synth(t, "dev"), synth(t, "prod")
	for _, c := range []struct {
		s                   *synthesized
		policy, replace     string
		protect, pitr       bool
		poolProtection      string
		alarms, terminating bool
	}{
		{s: dev, policy: "Delete", replace: "Delete", protect: false, pitr: false, poolProtection: "INACTIVE", alarms: false, terminating: false},
		{s: prod, policy: "RetainExceptOnCreate", replace: "Retain", protect: true, pitr: true, poolProtection: "ACTIVE", alarms: true, terminating: true},
	} {
		name := c.s.stage.Name
		_, tbl := c.s.only(t, "AWS::DynamoDB::Table")
		if tbl["DeletionPolicy"] != c.policy || tbl["UpdateReplacePolicy"] != c.replace {
			t.Errorf("%s: table deletion policy %v / %v, want %s / %s", name, tbl["DeletionPolicy"], tbl["UpdateReplacePolicy"], c.policy, c.replace)
		}
		if got := props(tbl)["DeletionProtectionEnabled"]; got != c.protect {
			t.Errorf("%s: table deletion protection %v, want %v", name, got, c.protect)
		}
		pitr, _ := props(tbl)["PointInTimeRecoverySpecification"].(map[string]any)
		if got := pitr["PointInTimeRecoveryEnabled"]; got != c.pitr {
			t.Errorf("%s: table PITR %v, want %v", name, got, c.pitr)
		}
		for _, typ := range []string{"AWS::SecretsManager::Secret", "AWS::Cognito::UserPool", "AWS::Logs::LogGroup"} {
			for id, r := range c.s.resources(typ) {
				if r["DeletionPolicy"] != c.policy {
					t.Errorf("%s: %s %s deletion policy %v, want %s", name, typ, id, r["DeletionPolicy"], c.policy)
				}
			}
		}
		_, pool := c.s.only(t, "AWS::Cognito::UserPool")
		if got := props(pool)["DeletionProtection"]; got != c.poolProtection {
			t.Errorf("%s: user pool deletion protection %v, want %s", name, got, c.poolProtection)
		}
		// An email change waits for verification; tokens keep the original address meanwhile.
		if got := canon(props(pool)["UserAttributeUpdateSettings"]); got != `{"AttributesRequireVerificationBeforeUpdate":["email"]}` {
			t.Errorf("%s: user pool attribute update settings %s, want email kept until verified", name, got)
		}
		if got := c.s.stack.TerminationProtection(); got == nil || *got != c.terminating {
			t.Errorf("%s: termination protection %v, want %v", name, got, c.terminating)
		}

		alarms := c.s.resources("AWS::CloudWatch::Alarm")
		topics := c.s.resources("AWS::SNS::Topic")
		if !c.alarms {
			if len(alarms) != 0 || len(topics) != 0 {
				t.Errorf("%s: %d alarms and %d topics, want none", name, len(alarms), len(topics))
			}
			continue
		}
		if len(topics) != 1 {
			t.Fatalf("%s: %d SNS topics, want the alarm topic", name, len(topics))
		}
		checkAlarms(t, c.s)
		subs := c.s.resources("AWS::SNS::Subscription")
		if c.s.stage.AlarmEmail != "" && (len(subs) != 1 || !strings.Contains(canon(subs), c.s.stage.AlarmEmail)) {
			t.Errorf("%s: alarm email %s is not subscribed: %s", name, c.s.stage.AlarmEmail, canon(subs))
		}
	}
}

// The email function's stream event source: batch size, bisection, bounded retries, maximum
// record age, partial batch failures, the dead-letter queue, and a filter that lets only
// inserted or modified invitation records through.
func TestEmailEventSource(t *testing.T) {
	s := synth(t, "dev")
	tableID, _ := s.only(t, "AWS::DynamoDB::Table")
	queueID, queue := s.byPrefix(t, "AWS::SQS::Queue", "EmailDeadLetterQueue")
	fnID, _ := s.function(t, stack.EmailFunction)
	_, esm := s.only(t, "AWS::Lambda::EventSourceMapping")
	p := props(esm)
	want := map[string]any{
		// the live alias (function name:live), so canaries cover the stream too
		"FunctionName": map[string]any{"Fn::Join": []any{"", []any{
			map[string]any{"Fn::Select": []any{6, map[string]any{"Fn::Split": []any{":", ref(s.alias(t, fnID))}}}}, ":" + stack.LiveAlias}}},
		"EventSourceArn":             getAtt(tableID, "StreamArn"),
		"BatchSize":                  stack.EmailBatchSize,
		"BisectBatchOnFunctionError": true,
		"MaximumRetryAttempts":       stack.EmailRetryAttempts,
		"MaximumRecordAgeInSeconds":  int(stack.EmailMaxRecordAge.Seconds()),
		"FunctionResponseTypes":      []string{"ReportBatchItemFailures"},
		"StartingPosition":           "TRIM_HORIZON",
		"DestinationConfig":          map[string]any{"OnFailure": map[string]any{"Destination": getAtt(queueID, "Arn")}},
	}
	for k, v := range want {
		if canon(p[k]) != canon(v) {
			t.Errorf("event source %s = %s, want %s", k, canon(p[k]), canon(v))
		}
	}
	filters := list(p["FilterCriteria"].(map[string]any)["Filters"])
	if len(filters) != 1 {
		t.Fatalf("%d filters, want 1", len(filters))
	}
	var pattern any
	if err := json.Unmarshal([]byte(filters[0].(map[string]any)["Pattern"].(string)), &pattern); err != nil {
		t.Fatal(err)
	}
	wantPattern := map[string]any{
		"eventName": []any{"INSERT", "MODIFY"},
		"dynamodb":  map[string]any{"Keys": map[string]any{table.SK: map[string]any{"S": []any{map[string]any{"prefix": table.InvitationPrefix}}}}},
	}
	if canon(pattern) != canon(wantPattern) {
		t.Errorf("filter %s, want %s", canon(pattern), canon(wantPattern))
	}
	qp := props(queue)
	if qp["SqsManagedSseEnabled"] != true || qp["MessageRetentionPeriod"] != float64(stack.DLQRetention.Seconds()) {
		t.Errorf("dead-letter queue %s", canon(qp))
	}
}

// cdk-nag's AwsSolutions checks find nothing in any stage (nor with an external issuer), and
// every suppression says why.
func TestNoCdkNagFindings(t *testing.T) {
	for _, name := range []string{"dev", "staging", "prod", external} {
		s := synth(t, name)
		a := assertions.Annotations_FromStack(s.stack.Stack)
		nag := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-"))
		for _, m := range append(*a.FindError(jsii.String("*"), nag), *a.FindWarning(jsii.String("*"), nag)...) {
			t.Errorf("%s: cdk-nag: %s: %v", name, *m.Id, m.Entry.Data)
		}
		suppressions := 0
		for id, r := range s.tmpl["Resources"].(map[string]any) {
			meta, _ := r.(map[string]any)["Metadata"].(map[string]any)
			nagMeta, _ := meta["cdk_nag"].(map[string]any)
			for _, rule := range list(nagMeta["rules_to_suppress"]) {
				suppressions++
				m := rule.(map[string]any)
				if reason, _ := m["reason"].(string); len(reason) < 40 {
					t.Errorf("%s: suppression of %v on %s has no real reason: %q", name, m["id"], id, reason)
				}
			}
		}
		t.Logf("%s: 0 cdk-nag findings, %d suppressions with reasons", name, suppressions)
	}
}

// Synthesis refuses to go on, and says to run make build, when a bootstrap is missing.
func TestMissingBootstrapFailsWithHint(t *testing.T) {
	empty := t.TempDir()
	if err := os.MkdirAll(filepath.Join(empty, routes.All[0].Function), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := stack.New(awscdk.NewApp(nil), stages["dev"], stack.Props{AssetDir: empty})
	if err == nil || !strings.Contains(err.Error(), "make build") || !strings.Contains(err.Error(), "bootstrap") {
		t.Fatalf("error %v, want one telling to run make build", err)
	}
}

// Stage configurations are checked before anything is built: a typo or an inconsistent value
// is an error naming the stage and the field.
func TestStageValidation(t *testing.T) {
	base := stages["dev"]
	for name, c := range map[string]struct {
		edit func(*stack.Stage)
		want string
	}{
		"welcome permission outside the catalog": {func(s *stack.Stage) { s.WelcomePermissions = []string{"billing:write"} }, "catalog"},
		"extra permission repeated":              {func(s *stack.Stage) { s.ExtraPermissions = []string{"contacts:read"} }, "catalog"},
		"sender outside its domain":              {func(s *stack.Stage) { s.SenderEmail = "a@elsewhere.example.org" }, "senderEmail"},
		"http portal":                            {func(s *stack.Stage) { s.PortalURL = "http://portal.example.com" }, "portalUrl"},
		"odd log retention":                      {func(s *stack.Stage) { s.LogRetentionDays = 10 }, "logRetentionDays"},
		"no throttling":                          {func(s *stack.Stage) { s.Throttling.BurstLimit = 0 }, "throttling"},
		"alarm email without alarms":             {func(s *stack.Stage) { s.Alarms, s.AlarmEmail = false, "ops@example.com" }, "alarmEmail"},
		"issuer without audience":                {func(s *stack.Stage) { s.Auth = stack.Auth{Issuer: "https://id.example.com"} }, "auth"},
		"user pool and issuer":                   {func(s *stack.Stage) { s.Auth.Issuer = "https://id.example.com" }, "auth"},
		"bad MFA":                                {func(s *stack.Stage) { s.Auth.MFA = "sometimes" }, "auth"},
		"bad account":                            {func(s *stack.Stage) { s.Account = "12345" }, "account"},
		"account not pinned":                     {func(s *stack.Stage) { s.Account = "" }, "account"},
		"region not pinned":                      {func(s *stack.Stage) { s.Region = "" }, "region"},
		"sensitive routes not tighter":           {func(s *stack.Stage) { s.SensitiveThrottling = s.Throttling }, "sensitiveThrottling"},
		"unknown log level":                      {func(s *stack.Stage) { s.LogLevel = "TRACE" }, "logLevel"},
		"alarms without a latency threshold":     {func(s *stack.Stage) { s.Alarms, s.LatencyP99Ms = true, 0 }, "latencyP99Ms"},
		"canary without alarms":                  {func(s *stack.Stage) { s.Alarms, s.CanaryDeployments = false, true }, "canaryDeployments"},
	} {
		t.Run(name, func(t *testing.T) {
			s := base
			s.WelcomePermissions = append([]string(nil), base.WelcomePermissions...)
			s.ExtraPermissions = append([]string(nil), base.ExtraPermissions...)
			c.edit(&s)
			err := s.Validate()
			if err == nil || !strings.Contains(err.Error(), "stage dev: "+c.want) {
				t.Fatalf("Validate() = %v, want an error about %s", err, c.want)
			}
		})
	}
	if _, err := stack.ParseStages(`{"dev": {"portalAddress": "https://x.example.com"}}`); err == nil || !strings.Contains(err.Error(), "unknown field") {
		t.Errorf("a misspelt field is not refused: %v", err)
	}
}
