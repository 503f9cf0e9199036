package sesevents

import (
	"encoding/json"
	"strings"
	"time"
)

// Addresses of the SES mailbox simulator (docs: "Using the mailbox simulator"), which the local
// stack emulates.
const (
	SimulatorDomain      = "simulator.amazonses.com"
	SimulatorBounce      = "bounce@" + SimulatorDomain
	SimulatorComplaint   = "complaint@" + SimulatorDomain
	SimulatorSuppression = "suppressionlist@" + SimulatorDomain
	SimulatorOOTO        = "ooto@" + SimulatorDomain
)

// Sent describes an email SES accepted, for building its events.
type Sent struct {
	MessageID string
	From      string
	To        string
	Tags      map[string]string
	At        time.Time
}

// SimulatorEvents returns the SES events (the JSON SES publishes, in the order SES would) that
// the mailbox simulator produces for email s, by its recipient (plus-labels and case ignored):
// bounce@ a Send and a permanent General bounce; suppressionlist@ a Send and a permanent
// OnAccountSuppressionList bounce; complaint@ a Send, a Delivery and an abuse complaint; ooto@
// and every other address a Send and a Delivery (an out-of-office reply is delivered mail).
// Each event is a few milliseconds after the one before it.
func SimulatorEvents(s Sent) [][]byte {
	local, domain, _ := strings.Cut(strings.ToLower(strings.TrimSpace(s.To)), "@")
	local, _, _ = strings.Cut(local, "+")
	to := local + "@" + domain
	step := func(i int) time.Time { return s.At.Add(time.Duration(i) * 5 * time.Millisecond) }
	out := [][]byte{Build(s, "Send", step(0), nil)}
	switch to {
	case SimulatorBounce:
		out = append(out, Build(s, "Bounce", step(1), map[string]any{"bounce": map[string]any{
			"bounceType": "Permanent", "bounceSubType": "General", "timestamp": step(1),
			"bouncedRecipients": []any{map[string]any{"emailAddress": s.To, "action": "failed", "status": "5.1.1",
				"diagnosticCode": "smtp; 550 5.1.1 user unknown"}},
			"feedbackId": s.MessageID + "-bounce", "reportingMTA": "dsn; " + SimulatorDomain}}))
	case SimulatorSuppression:
		out = append(out, Build(s, "Bounce", step(1), map[string]any{"bounce": map[string]any{
			"bounceType": "Permanent", "bounceSubType": "OnAccountSuppressionList", "timestamp": step(1),
			"bouncedRecipients": []any{map[string]any{"emailAddress": s.To, "action": "failed", "status": "5.1.1",
				"diagnosticCode": "Amazon SES did not send the message to this address because it is on the suppression list for your account."}},
			"feedbackId": s.MessageID + "-suppressed", "reportingMTA": "dns; amazonses.com"}}))
	case SimulatorComplaint:
		out = append(out, Build(s, "Delivery", step(1), map[string]any{"delivery": delivery(s, step(1))}),
			Build(s, "Complaint", step(2), map[string]any{"complaint": map[string]any{
				"complainedRecipients": []any{map[string]any{"emailAddress": s.To}}, "timestamp": step(2),
				"complaintFeedbackType": "abuse", "feedbackId": s.MessageID + "-complaint", "userAgent": "Amazon SES Mailbox Simulator"}}))
	default: // ooto@, success@ and any real address
		out = append(out, Build(s, "Delivery", step(1), map[string]any{"delivery": delivery(s, step(1))}))
	}
	return out
}

func delivery(s Sent, at time.Time) map[string]any {
	return map[string]any{"timestamp": at, "processingTimeMillis": 5, "recipients": []string{s.To},
		"smtpResponse": "250 2.6.0 Message received", "reportingMTA": "a8-1.smtp-out.amazonses.com"}
}

// Build returns the JSON SES publishes for an event of type eventType of email s at time at,
// with the event's own object (bounce, complaint, delivery…) from extra.
func Build(s Sent, eventType string, at time.Time, extra map[string]any) []byte {
	tags := map[string][]string{
		"ses:operation":         {"SendEmail"},
		"ses:source-ip":         {"127.0.0.1"},
		"ses:from-domain":       {domainOf(s.From)},
		"ses:caller-identity":   {"rollcall-local"},
		"ses:configuration-set": {"rollcall-local"},
	}
	for k, v := range s.Tags {
		tags[k] = []string{v}
	}
	ev := map[string]any{
		"eventType": eventType,
		"mail": map[string]any{
			"timestamp": s.At, "source": s.From, "sendingAccountId": "000000000000", "messageId": s.MessageID,
			"destination": []string{s.To}, "headersTruncated": false, "tags": tags,
		},
	}
	if eventType == "Send" {
		ev["send"] = map[string]any{}
	}
	for k, v := range extra {
		ev[k] = v
	}
	_ = at
	b, err := json.Marshal(ev)
	if err != nil {
		panic(err) // maps of strings, times and slices
	}
	return b
}

func domainOf(addr string) string {
	_, d, _ := strings.Cut(addr, "@")
	return d
}

// EventBridgeEnvelope wraps an SES event as EventBridge delivers it to a Lambda target.
func EventBridgeEnvelope(id string, detail []byte, at time.Time) []byte {
	var e struct {
		EventType string `json:"eventType"`
	}
	_ = json.Unmarshal(detail, &e)
	b, _ := json.Marshal(map[string]any{
		"version": "0", "id": id, "detail-type": DetailTypes[e.EventType], "source": Source,
		"account": "000000000000", "time": at.UTC().Format(time.RFC3339), "region": "us-east-1",
		"resources": []string{}, "detail": json.RawMessage(detail),
	})
	return b
}
