package stacktest

import (
	"reflect"
	"strings"
	"testing"

	"rollcall/infra/stack"
)

// emailAlarmNames are the alarms infra/stack/email_events.go adds (each fires on its first
// breaching data point).
var emailAlarmNames = []string{"email-configuration-faults", "email-bounce-rate", "email-complaint-rate", "ses-events-dead-letters"}

// byPrefix returns the one resource of type typ whose logical id starts with prefix.
func (s *synthesized) byPrefix(t *testing.T, typ, prefix string) (string, map[string]any) {
	t.Helper()
	var id string
	var res map[string]any
	for k, r := range s.resources(typ) {
		if strings.HasPrefix(k, prefix) {
			if id != "" {
				t.Fatalf("%s: two %s resources named %s*", s.stage.Name, typ, prefix)
			}
			id, res = k, r
		}
	}
	if id == "" {
		t.Fatalf("%s: no %s resource named %s*", s.stage.Name, typ, prefix)
	}
	return id, res
}

// TestSESEventsPipeline: the configuration set publishes send, delivery, bounce, complaint,
// reject and delivery-delay events to EventBridge's default bus; a rule matching this stage's
// configuration set sends them to the ses-events function's live alias, with retries and a
// dead-letter queue (also the function's asynchronous on-failure destination); the function
// may only GetItem and UpdateItem on the table (and write its logs, traces and dead letters).
func TestSESEventsPipeline(t *testing.T) {
	s := synth(t, "dev")
	_, dest := s.only(t, "AWS::SES::ConfigurationSetEventDestination")
	d := props(dest)["EventDestination"].(map[string]any)
	if d["Enabled"] != true || d["EventBridgeDestination"] == nil {
		t.Fatalf("event destination %s", canon(d))
	}
	if got, want := sorted(strs(list(d["MatchingEventTypes"]))), sorted([]string{"send", "delivery", "bounce", "complaint", "reject", "deliveryDelay"}); !reflect.DeepEqual(got, want) {
		t.Errorf("event types %v, want %v", got, want)
	}
	if !strings.Contains(canon(d["EventBridgeDestination"]), "event-bus/default") {
		t.Errorf("events go to %s, want the default bus", canon(d["EventBridgeDestination"]))
	}

	fnID, fn := s.function(t, stack.SESEventsFunction)
	aliasID := s.alias(t, fnID)
	queueID, _ := s.byPrefix(t, "AWS::SQS::Queue", "SESEventsDeadLetterQueue")
	_, rule := s.only(t, "AWS::Events::Rule")
	rp := props(rule)
	pattern := canon(rp["EventPattern"])
	for _, want := range []string{`"source":["aws.ses"]`, `"Email Bounced"`, `"Email Complaint Received"`, `"Email Delivered"`, `"ses:configuration-set"`} {
		if !strings.Contains(pattern, want) {
			t.Errorf("rule pattern %s lacks %s", pattern, want)
		}
	}
	targets := list(rp["Targets"])
	if len(targets) != 1 {
		t.Fatalf("targets %s", canon(targets))
	}
	tg := targets[0].(map[string]any)
	if canon(tg["Arn"]) != canon(ref(aliasID)) || canon(tg["DeadLetterConfig"]) != canon(map[string]any{"Arn": getAtt(queueID, "Arn")}) ||
		canon(tg["RetryPolicy"]) != canon(map[string]any{"MaximumEventAgeInSeconds": 21600, "MaximumRetryAttempts": stack.SESEventsRetryAttempts}) {
		t.Errorf("rule target %s", canon(tg))
	}
	_, eic := s.only(t, "AWS::Lambda::EventInvokeConfig")
	if ep := props(eic); ep["MaximumRetryAttempts"] != float64(stack.SESEventsRetryAttempts) ||
		!strings.Contains(canon(ep["DestinationConfig"]), queueID) {
		t.Errorf("asynchronous invocation config %s", canon(ep))
	}

	tableID, _ := s.only(t, "AWS::DynamoDB::Table")
	roleID := props(fn)["Role"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
	got := actionsByResource(s.grants(t, roleID))
	if g := got[canon(getAtt(tableID, "Arn"))]; !reflect.DeepEqual(g, sorted(stack.SESEventsActions)) {
		t.Errorf("ses-events may do %v on the table, want %v", g, sorted(stack.SESEventsActions))
	}
	for res, actions := range got {
		for _, a := range actions {
			if strings.HasPrefix(a, "dynamodb:") && res != canon(getAtt(tableID, "Arn")) {
				t.Errorf("ses-events may %s on %s", a, res)
			}
			if strings.HasPrefix(a, "ses:") || strings.HasPrefix(a, "secretsmanager:") {
				t.Errorf("ses-events may %s", a)
			}
		}
	}
}

// TestCognitoSendsThroughTheStackIdentity: the user pool sends its own emails through the
// stack's SES identity and configuration set, not Cognito's built-in sender.
func TestCognitoSendsThroughTheStackIdentity(t *testing.T) {
	s := synth(t, "dev")
	_, pool := s.only(t, "AWS::Cognito::UserPool")
	identityID, _ := s.only(t, "AWS::SES::EmailIdentity")
	ec, _ := props(pool)["EmailConfiguration"].(map[string]any)
	if ec == nil || ec["EmailSendingAccount"] != "DEVELOPER" || ec["From"] != s.stage.SenderEmail ||
		!strings.Contains(canon(ec["SourceArn"]), identityID) || ec["ConfigurationSet"] == nil {
		t.Fatalf("user pool email configuration %s", canon(ec))
	}
}

// TestEmailAlarms: a configuration-class failure alarms at once; the bounce and complaint rates
// alarm over SES's review thresholds, computed from the stage's EMF metrics over an hour.
func TestEmailAlarms(t *testing.T) {
	s := synth(t, "prod")
	byName := map[string]map[string]any{}
	for _, a := range s.resources("AWS::CloudWatch::Alarm") {
		p := props(a)
		byName[strings.TrimPrefix(p["AlarmName"].(string), "rollcall-prod-")] = p
	}
	cfg := byName["email-configuration-faults"]
	if cfg == nil || !strings.Contains(canon(cfg), `"MetricName":"EmailsFailed"`) || !strings.Contains(canon(cfg), `"Value":"configuration"`) ||
		cfg["Threshold"] != 0.0 || cfg["DatapointsToAlarm"] != 1.0 {
		t.Errorf("configuration alarm %s", canon(cfg))
	}
	for name, want := range map[string]float64{"email-bounce-rate": stack.BounceRatePercent, "email-complaint-rate": stack.ComplaintRatePercent} {
		a := byName[name]
		if a == nil || a["Threshold"] != want || !strings.Contains(canon(a), "EmailsAccepted") || !strings.Contains(canon(a), `"Period":3600`) {
			t.Errorf("%s: %s", name, canon(a))
		}
	}
}

func strs(v []any) []string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i], _ = x.(string)
	}
	return out
}
