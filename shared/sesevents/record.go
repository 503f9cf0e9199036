package sesevents

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"rollcall/shared/domain"
	"rollcall/shared/metrics"
	"rollcall/shared/table"
)

// DB is the part of the DynamoDB client the recorder uses: GetItem to read an invitation, a
// contact email guard, a pending invitation guard or an account; UpdateItem to write a
// delivery or an email status. *dynamodb.Client satisfies it.
type DB interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// Actions are the DynamoDB actions the recorder needs on the table (least privilege).
var Actions = []string{"dynamodb:GetItem", "dynamodb:UpdateItem"}

// Recorder records SES events in the table.
type Recorder struct {
	DB     DB
	Table  string
	Stage  string       // the Stage dimension of its metrics
	Logger *slog.Logger // nil: slog.Default()
}

// Metric names of the recorder (namespace metrics.Namespace, dimension Stage): one count per
// event recorded, by the status it sets.
var metricOf = map[string]string{
	domain.DeliverySent:       "EmailsAccepted",
	domain.DeliveryDelivered:  "EmailsDelivered",
	domain.DeliveryBounced:    "EmailsBounced",
	domain.DeliveryComplained: "EmailsComplained",
	domain.DeliveryDelayed:    "EmailsDelayed",
	domain.DeliveryRejected:   "EmailsRejected",
}

// StatusAtAttribute is the attribute, beside emailStatus, that holds its time in epoch
// milliseconds, so that a condition can keep the newest status.
const StatusAtAttribute = "emailStatusAtMs"

// Metric names the stack's alarms read.
const (
	MetricBounced    = "EmailsBounced"
	MetricHardBounce = "EmailsHardBounced"
	MetricComplained = "EmailsComplained"
)

func (r *Recorder) log(ctx context.Context) *slog.Logger {
	l := r.Logger
	if l == nil {
		l = slog.Default()
	}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		l = l.With("requestId", lc.AwsRequestID)
	}
	return l
}

// HandleEventBridge is the Lambda handler of SES events delivered by an EventBridge rule. It
// returns an error only when the table could not be written, so that the event is retried and
// finally dead-lettered; events it cannot read or does not record are logged and dropped.
func (r *Recorder) HandleEventBridge(ctx context.Context, e events.CloudWatchEvent) error {
	return r.HandleJSON(ctx, e.Detail)
}

// HandleJSON records one SES event given as the JSON SES publishes.
func (r *Recorder) HandleJSON(ctx context.Context, detail json.RawMessage) error {
	log := r.log(ctx)
	ev, err := Parse(detail)
	switch {
	case errors.Is(err, ErrNotRecorded):
		log.Debug("SES event not recorded", "eventType", ev.Type, "sesMessageId", ev.MessageID)
		return nil
	case err != nil:
		log.Error("SES event cannot be read: dropped", "error", err.Error())
		return nil
	}
	return r.Record(ctx, ev)
}

// Record applies ev: the delivery of its invitation, and for a hard bounce or complaint the
// undeliverable address on the contact, the owner and the pending invitation that use it. It
// returns the first DynamoDB error.
func (r *Recorder) Record(ctx context.Context, ev Event) error {
	log := r.log(ctx).With("accountId", ev.AccountID, "invitationId", ev.InvitationID, "sendCount", ev.SendCount,
		"sesMessageId", ev.MessageID, "eventType", ev.Type)
	inv, changed, err := r.recordDelivery(ctx, ev)
	if err != nil {
		log.Warn("cannot record the SES event: leaving it to the retry", "error", err.Error())
		return err
	}
	marked := 0
	if ev.Undeliverable != "" && inv != nil {
		st := domain.EmailStatus{Status: domain.EmailUndeliverable, At: ev.At, Reason: ev.Undeliverable}
		if marked, err = r.markUndeliverable(ctx, ev.AccountID, ev.InvitationID, inv.Email, st); err != nil {
			log.Warn("cannot mark the address undeliverable: leaving it to the retry", "error", err.Error())
			return err
		}
	}
	set := metrics.New(metrics.Dim("Stage", r.Stage))
	if changed {
		if m := metricOf[ev.Status]; m != "" {
			set.Count(m, 1)
		}
		if ev.Undeliverable == ReasonHardBounce || ev.Undeliverable == ReasonSuppressed {
			set.Count(MetricHardBounce, 1)
		}
	}
	attrs := []slog.Attr{slog.String("status", ev.Status), slog.Bool("changed", changed), slog.Int("marked", marked)}
	if ev.Reason != "" {
		attrs = append(attrs, slog.String("reason", ev.Reason))
	}
	if inv == nil {
		log.Info("SES event of an invitation that no longer exists")
		return nil
	}
	if set.Attrs() == nil {
		log.LogAttrs(ctx, slog.LevelInfo, "SES event recorded", attrs...)
	} else {
		set.Emit(ctx, log, "SES event recorded", attrs...)
	}
	return nil
}

// invitationItem is what the recorder reads of an invitation.
type invitationItem struct {
	Email     string           `dynamodbav:"email"`
	SendCount int              `dynamodbav:"sendCount"`
	Status    string           `dynamodbav:"status"`
	Delivery  *domain.Delivery `dynamodbav:"delivery"`
}

const maxAttempts = 8 // optimistic writes racing other events of the same email

// recordDelivery merges ev into the delivery of its invitation when ev belongs to the
// invitation's current send; for an undeliverable address it sets the invitation's emailStatus
// too (older sends included). It returns the invitation as read (nil when it is gone) and
// whether the delivery changed.
func (r *Recorder) recordDelivery(ctx context.Context, ev Event) (*invitationItem, bool, error) {
	key := keyAV(table.Invitation(ev.AccountID, ev.InvitationID))
	for attempt := 1; ; attempt++ {
		out, err := r.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(r.Table), Key: key, ConsistentRead: aws.Bool(true),
			ProjectionExpression: aws.String("email, sendCount, #s, delivery"), ExpressionAttributeNames: map[string]string{"#s": "status"}})
		if err != nil {
			return nil, false, fmt.Errorf("read invitation: %w", err)
		}
		if len(out.Item) == 0 {
			return nil, false, nil
		}
		var inv invitationItem
		if err := attributevalue.UnmarshalMap(out.Item, &inv); err != nil {
			return nil, false, fmt.Errorf("decode invitation: %w", err)
		}
		if ev.SendCount != inv.SendCount {
			// An event of an older send: the invitation shows its current send's delivery.
			return &inv, false, nil
		}
		d, changed := merge(inv.Delivery, ev)
		if !changed {
			return &inv, false, nil
		}
		d.Rev++
		var cond expression.ConditionBuilder
		switch {
		case inv.Delivery == nil:
			cond = expression.AttributeNotExists(expression.Name("delivery"))
		case inv.Delivery.Rev == 0:
			cond = expression.AttributeNotExists(expression.Name("delivery.rev")).
				And(expression.Name("delivery.status").Equal(expression.Value(inv.Delivery.Status)))
		default:
			cond = expression.Name("delivery.rev").Equal(expression.Value(inv.Delivery.Rev))
		}
		cond = cond.And(expression.Name("sendCount").Equal(expression.Value(ev.SendCount)))
		upd := expression.Set(expression.Name("delivery"), expression.Value(d))
		e, err := expression.NewBuilder().WithUpdate(upd).WithCondition(cond).Build()
		if err != nil {
			return nil, false, err
		}
		_, err = r.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(r.Table), Key: key,
			UpdateExpression: e.Update(), ConditionExpression: e.Condition(),
			ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values()})
		var ccf *types.ConditionalCheckFailedException
		switch {
		case err == nil:
			return &inv, true, nil
		case errors.As(err, &ccf) && attempt < maxAttempts:
			continue // another event or a resend came first: read again
		default:
			return nil, false, fmt.Errorf("write delivery: %w", err)
		}
	}
}

// markUndeliverable sets status st on everything of account accountID that uses address email:
// the contact with that email (found through its email guard), the owner when the account's
// owner has it, and the pending invitation to it (through its pending guard), together with the
// invitation st came from (invitationID). A status is never replaced by an older one (the
// items carry its time in epoch milliseconds, StatusAtAttribute, for the condition), so a
// repeated event changes nothing. It returns how many items it changed.
func (r *Recorder) markUndeliverable(ctx context.Context, accountID, invitationID, email string, st domain.EmailStatus) (int, error) {
	norm := domain.NormaliseEmail(email)
	stAV, err := attributevalue.Marshal(st)
	if err != nil {
		return 0, err
	}
	ms := st.At.UnixMilli()
	newer := expression.AttributeNotExists(expression.Name(StatusAtAttribute)).
		Or(expression.Name(StatusAtAttribute).LessThan(expression.Value(ms)))
	marked := 0
	update := func(k table.Key, upd expression.UpdateBuilder, cond expression.ConditionBuilder) error {
		e, err := expression.NewBuilder().WithUpdate(upd).WithCondition(cond.And(newer)).Build()
		if err != nil {
			return err
		}
		_, err = r.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(r.Table), Key: keyAV(k),
			UpdateExpression: e.Update(), ConditionExpression: e.Condition(),
			ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values()})
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			return nil // gone, changed address, or a status as new already
		}
		if err == nil {
			marked++
		}
		return err
	}
	// A new builder each time: an UpdateBuilder's copies share their operations.
	set := func() expression.UpdateBuilder {
		return expression.Set(expression.Name("emailStatus"), expression.Value(stAV)).
			Set(expression.Name(StatusAtAttribute), expression.Value(ms))
	}
	exists := expression.AttributeExists(expression.Name(table.PK))

	// The contact with this address.
	guard, err := r.get(ctx, table.ContactEmail(accountID, norm), "contactId")
	if err != nil {
		return marked, err
	}
	if id, _ := guard["contactId"].(string); id != "" {
		pk, sk := table.UndeliverableContactGSI1(accountID, id)
		upd := set().Set(expression.Name(table.GSI1PK), expression.Value(pk)).Set(expression.Name(table.GSI1SK), expression.Value(sk))
		if err := update(table.Contact(accountID, id), upd, exists); err != nil {
			return marked, fmt.Errorf("mark contact: %w", err)
		}
		if err := r.markContactIndex(ctx, accountID, id, set(), newer); err != nil {
			return marked, fmt.Errorf("mark contact index: %w", err)
		}
	}
	// The owner, when the account's owner has this address.
	acc, err := r.get(ctx, table.Account(accountID), "#o.email")
	if err != nil {
		return marked, err
	}
	if o, ok := acc["owner"].(map[string]any); ok {
		if oe, _ := o["email"].(string); oe != "" && domain.NormaliseEmail(oe) == norm {
			cond := exists.And(expression.Name("owner.email").Equal(expression.Value(oe)))
			if err := update(table.Account(accountID), set(), cond); err != nil {
				return marked, fmt.Errorf("mark owner: %w", err)
			}
		}
	}
	// The pending invitation to this address.
	pending, err := r.get(ctx, table.InvitationEmail(accountID, norm), "invitationId")
	if err != nil {
		return marked, err
	}
	if id, _ := pending["invitationId"].(string); id != "" && id != invitationID {
		cond := exists.And(expression.Name("status").Equal(expression.Value(domain.StatusPending)))
		if err := update(table.Invitation(accountID, id), set(), cond); err != nil {
			return marked, fmt.Errorf("mark pending invitation: %w", err)
		}
	}
	// The invitation the event is about, whatever its status (a resend of it is then refused).
	if err := update(table.Invitation(accountID, invitationID), set(), exists); err != nil {
		return marked, fmt.Errorf("mark invitation: %w", err)
	}
	return marked, nil
}

// markContactIndex applies upd (the status) to the index entries of contact id (its copies in
// filtered lists: table.ContactIndex), under cond and the condition that each entry shows the
// contact's version as read now. An entry that fails the condition was rewritten by a contact
// write meanwhile, which copied the contact as it then was: the contact is read again and its
// entries marked again (a few times at most). A write that read the contact just before its mark
// and commits just after these updates leaves its copies without the status until the contact's
// next write (GET and the unfiltered list show it at once).
func (r *Recorder) markContactIndex(ctx context.Context, accountID, id string, upd expression.UpdateBuilder, cond expression.ConditionBuilder) error {
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		out, err := r.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(r.Table), Key: keyAV(table.Contact(accountID, id)), ConsistentRead: aws.Bool(true)})
		if err != nil || len(out.Item) == 0 {
			return err // gone: so are its entries
		}
		var c domain.Contact
		if err := attributevalue.UnmarshalMap(out.Item, &c); err != nil {
			return err
		}
		e, err := expression.NewBuilder().WithUpdate(upd).
			WithCondition(cond.And(expression.Name("version").Equal(expression.Value(c.Version)))).Build()
		if err != nil {
			return err
		}
		again := false
		for _, k := range table.ContactIndex(accountID, id, domain.SearchTerms(c), c.EmailTypes) {
			_, err := r.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(r.Table), Key: keyAV(k),
				UpdateExpression: e.Update(), ConditionExpression: e.Condition(),
				ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
				ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld})
			var ccf *types.ConditionalCheckFailedException
			switch {
			case errors.As(err, &ccf):
				// Missing (a contact written before the index existed) or a status as new: done.
				// Another version: rewritten meanwhile.
				var old struct {
					Version int `dynamodbav:"version"`
				}
				if len(ccf.Item) > 0 && attributevalue.UnmarshalMap(ccf.Item, &old) == nil && old.Version != c.Version {
					again = true
				}
			case err != nil:
				return err
			}
		}
		if !again {
			return nil
		}
	}
	return nil
}

// get reads the named attributes of item k ("#o" stands for owner), consistently, as plain Go
// values; nil when it does not exist.
func (r *Recorder) get(ctx context.Context, k table.Key, projection string) (map[string]any, error) {
	in := &dynamodb.GetItemInput{TableName: aws.String(r.Table), Key: keyAV(k), ConsistentRead: aws.Bool(true),
		ProjectionExpression: aws.String(projection)}
	if projection == "#o.email" {
		in.ExpressionAttributeNames = map[string]string{"#o": "owner"}
	}
	out, err := r.DB.GetItem(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", k.SK, err)
	}
	var m map[string]any
	if err := attributevalue.UnmarshalMap(out.Item, &m); err != nil {
		return nil, err
	}
	return m, nil
}

func keyAV(k table.Key) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		table.PK: &types.AttributeValueMemberS{Value: k.PK},
		table.SK: &types.AttributeValueMemberS{Value: k.SK},
	}
}
