// Package sesevents records what SES reports about an email after accepting it (DESIGN §4):
// the events of the configuration set's event destination (send, delivery, bounce, complaint,
// reject, delivery delay) on the invitation the email belongs to, and hard bounces and
// complaints as an undeliverable address on the contact, the owner and the pending invitation
// that use it. functions/ses-events wires it to EventBridge; the local stack feeds it the events
// of its mailbox simulator (infra/local).
//
// The invitation is found through the message tags the email function puts on every email
// (TagAccountID, TagInvitationID, TagSendCount): a GetItem, never a scan. Events come at least
// once and in any order: each is applied only when it is newer than what the invitation holds
// (its time, then its rank), and applying one twice changes nothing.
package sesevents

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"rollcall/shared/domain"
)

// Message tags the email function sets on each email (SES v2 EmailTags) so that its events
// name the invitation and the send they belong to.
const (
	TagKind         = "kind"
	TagAccountID    = "accountId"
	TagInvitationID = "invitationId"
	TagSendCount    = "sendCount"
)

// Reasons an address is undeliverable (domain.EmailStatus.Reason).
const (
	ReasonHardBounce = "hard_bounce"
	ReasonSuppressed = "suppressed" // on SES's account-level or global suppression list
	ReasonComplaint  = "complaint"
)

// EventBridge detail types of SES events, and the source.
const (
	Source = "aws.ses"
)

// DetailTypes are the EventBridge detail types of the SES events this package records, by SES
// event type.
var DetailTypes = map[string]string{
	"Send":          "Email Sent",
	"Delivery":      "Email Delivered",
	"Bounce":        "Email Bounced",
	"Complaint":     "Email Complaint Received",
	"Reject":        "Email Rejected",
	"DeliveryDelay": "Email Delivery Delayed",
}

// Event is one SES event, reduced to what is recorded.
type Event struct {
	Type         string    // SES event type: Send, Delivery, Bounce, Complaint, Reject, DeliveryDelay
	MessageID    string    // SES message id
	At           time.Time // when it happened (the event's own timestamp, else the send's)
	AccountID    string    // from the message tags
	InvitationID string
	SendCount    int
	Recipients   []string // the addresses concerned (bounced or complaining ones, else the destination)
	Status       string   // the delivery status it sets (domain.Delivery*)
	Reason       string   // why, for bounces, complaints, rejections and delays
	// Undeliverable is the reason the recipients can no longer receive email (a hard bounce,
	// a suppressed address, a complaint), or "".
	Undeliverable string
}

// sesEvent is the JSON SES publishes for an event (the detail of an EventBridge event, the
// message of an SNS notification).
type sesEvent struct {
	EventType        string `json:"eventType"`
	NotificationType string `json:"notificationType"` // older feedback notifications
	Mail             struct {
		Timestamp   time.Time           `json:"timestamp"`
		MessageID   string              `json:"messageId"`
		Destination []string            `json:"destination"`
		Tags        map[string][]string `json:"tags"`
	} `json:"mail"`
	Bounce *struct {
		BounceType        string                          `json:"bounceType"`
		BounceSubType     string                          `json:"bounceSubType"`
		BouncedRecipients []struct{ EmailAddress string } `json:"bouncedRecipients"`
		Timestamp         time.Time                       `json:"timestamp"`
	} `json:"bounce"`
	Complaint *struct {
		ComplainedRecipients  []struct{ EmailAddress string } `json:"complainedRecipients"`
		ComplaintFeedbackType string                          `json:"complaintFeedbackType"`
		Timestamp             time.Time                       `json:"timestamp"`
	} `json:"complaint"`
	Delivery *struct {
		Timestamp time.Time `json:"timestamp"`
	} `json:"delivery"`
	Reject *struct {
		Reason string `json:"reason"`
	} `json:"reject"`
	DeliveryDelay *struct {
		DelayType string    `json:"delayType"`
		Timestamp time.Time `json:"timestamp"`
	} `json:"deliveryDelay"`
}

// ErrNotRecorded is returned by Parse for events this package does not record (opens, clicks,
// subscriptions, rendering failures of templates it does not use).
var ErrNotRecorded = errors.New("sesevents: event type not recorded")

// Parse reads one SES event (the JSON SES publishes). It returns ErrNotRecorded for an event
// type that is not recorded, and an error for JSON that is not an SES event or lacks the
// message tags naming an invitation.
func Parse(b []byte) (Event, error) {
	var e sesEvent
	if err := json.Unmarshal(b, &e); err != nil {
		return Event{}, fmt.Errorf("sesevents: not an SES event: %w", err)
	}
	typ := e.EventType
	if typ == "" {
		typ = e.NotificationType
	}
	ev := Event{Type: typ, MessageID: e.Mail.MessageID, At: e.Mail.Timestamp, Recipients: e.Mail.Destination}
	switch typ {
	case "Send":
		ev.Status = domain.DeliverySent
	case "Delivery":
		ev.Status = domain.DeliveryDelivered
		if e.Delivery != nil && !e.Delivery.Timestamp.IsZero() {
			ev.At = e.Delivery.Timestamp
		}
	case "Bounce":
		if e.Bounce == nil {
			return Event{}, errors.New("sesevents: bounce event without bounce")
		}
		ev.Status = domain.DeliveryBounced
		if !e.Bounce.Timestamp.IsZero() {
			ev.At = e.Bounce.Timestamp
		}
		if rs := addresses(e.Bounce.BouncedRecipients); len(rs) > 0 {
			ev.Recipients = rs
		}
		if e.Bounce.BounceType == "Permanent" {
			ev.Reason = "hard_bounce:" + e.Bounce.BounceSubType
			ev.Undeliverable = ReasonHardBounce
			if e.Bounce.BounceSubType == "Suppressed" || e.Bounce.BounceSubType == "OnAccountSuppressionList" {
				ev.Undeliverable = ReasonSuppressed
			}
		} else {
			ev.Reason = "soft_bounce:" + e.Bounce.BounceSubType
		}
	case "Complaint":
		ev.Status = domain.DeliveryComplained
		ev.Undeliverable = ReasonComplaint
		ev.Reason = "complaint"
		if e.Complaint != nil {
			if !e.Complaint.Timestamp.IsZero() {
				ev.At = e.Complaint.Timestamp
			}
			if rs := addresses(e.Complaint.ComplainedRecipients); len(rs) > 0 {
				ev.Recipients = rs
			}
			if e.Complaint.ComplaintFeedbackType != "" {
				ev.Reason = "complaint:" + e.Complaint.ComplaintFeedbackType
			}
		}
	case "Reject":
		ev.Status = domain.DeliveryRejected
		if e.Reject != nil {
			ev.Reason = "rejected:" + e.Reject.Reason
		}
	case "DeliveryDelay":
		ev.Status = domain.DeliveryDelayed
		if e.DeliveryDelay != nil {
			ev.Reason = "delayed:" + e.DeliveryDelay.DelayType
			if !e.DeliveryDelay.Timestamp.IsZero() {
				ev.At = e.DeliveryDelay.Timestamp
			}
		}
	default:
		return Event{Type: typ, MessageID: ev.MessageID}, ErrNotRecorded
	}
	tag := func(k string) string {
		if v := e.Mail.Tags[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	ev.AccountID, ev.InvitationID = tag(TagAccountID), tag(TagInvitationID)
	n, err := strconv.Atoi(tag(TagSendCount))
	if ev.MessageID == "" || ev.AccountID == "" || ev.InvitationID == "" || err != nil || n < 1 {
		return ev, fmt.Errorf("sesevents: %s event of message %q does not name an invitation in its tags", typ, ev.MessageID)
	}
	ev.SendCount = n
	if ev.At.IsZero() {
		return ev, fmt.Errorf("sesevents: %s event of message %s has no time", typ, ev.MessageID)
	}
	ev.At = ev.At.UTC().Truncate(time.Millisecond)
	return ev, nil
}

func addresses(rs []struct{ EmailAddress string }) []string {
	var out []string
	for _, r := range rs {
		if a := strings.TrimSpace(r.EmailAddress); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// rank orders statuses of events that happened at the same time: a later stage wins.
func rank(status string) int {
	switch status {
	case domain.DeliverySent:
		return 0
	case domain.DeliveryDelayed:
		return 1
	case domain.DeliveryDelivered:
		return 2
	}
	return 3 // bounced, complained, rejected, failed
}

// MaxHistory is how many events an invitation's delivery keeps (the newest).
const MaxHistory = 10

// merge returns delivery cur with event ev applied, and whether anything changed: ev joins the
// history (once: the same status at the same time is the same event), the history stays in
// time order (then rank) and keeps the newest MaxHistory events, and the status is the newest
// event's. An older event therefore never replaces a newer status.
func merge(cur *domain.Delivery, ev Event) (domain.Delivery, bool) {
	var d domain.Delivery
	if cur != nil {
		d = *cur
		d.History = append([]domain.DeliveryEvent(nil), cur.History...)
	}
	if len(d.History) == 0 && d.Status != "" {
		d.History = []domain.DeliveryEvent{{Status: d.Status, At: d.At, Reason: d.Reason}}
	}
	for _, h := range d.History {
		if h.Status == ev.Status && h.At.Equal(ev.At) {
			return d, false
		}
		// The email function's own "sent" and SES's Send event are one event.
		if ev.Status == domain.DeliverySent && h.Status == domain.DeliverySent {
			return d, false
		}
	}
	d.History = append(d.History, domain.DeliveryEvent{Status: ev.Status, At: ev.At, Reason: ev.Reason})
	sortHistory(d.History)
	if len(d.History) > MaxHistory {
		d.History = d.History[len(d.History)-MaxHistory:]
	}
	last := d.History[len(d.History)-1]
	d.Status, d.At, d.Reason = last.Status, last.At, last.Reason
	if d.MessageID == "" {
		d.MessageID = ev.MessageID
	}
	return d, true
}

func sortHistory(h []domain.DeliveryEvent) {
	// insertion sort: a handful of items, almost always in order already
	for i := 1; i < len(h); i++ {
		for j := i; j > 0 && less(h[j], h[j-1]); j-- {
			h[j], h[j-1] = h[j-1], h[j]
		}
	}
}

func less(a, b domain.DeliveryEvent) bool {
	if !a.At.Equal(b.At) {
		return a.At.Before(b.At)
	}
	return rank(a.Status) < rank(b.Status)
}
