package email

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"rollcall/shared/domain"
	"rollcall/shared/table"
)

// DB is the part of the DynamoDB client the function uses: GetItem to read an invitation and its
// send record, PutItem to record a send, UpdateItem to write the delivery status back.
// *dynamodb.Client satisfies it.
type DB interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// EntitySend is the "entity" attribute of a send record.
const EntitySend = "emailSend"

// DefaultSendRecordTTL is how long send records are kept: far longer than the stream's 24 hours
// of retention plus the event source's retries, so that any redelivery finds them.
const DefaultSendRecordTTL = 30 * 24 * time.Hour

// SendRecord records that SES accepted the email of one send of an invitation (DESIGN §4,
// table.EmailSend). It is written after SES accepts and before the delivery status, and a
// record that exists is never sent again.
type SendRecord struct {
	table.Key
	Entity       string    `dynamodbav:"entity"`
	AccountID    string    `dynamodbav:"accountId"`
	InvitationID string    `dynamodbav:"invitationId"`
	SendCount    int       `dynamodbav:"sendCount"`
	Kind         string    `dynamodbav:"kind"`
	MessageID    string    `dynamodbav:"messageId"`
	SentAt       time.Time `dynamodbav:"sentAt"`
}

// sendState is what the table says about one send of an invitation before it is emailed.
type sendState struct {
	recorded  bool   // a send record exists: the email went out already
	messageID string // the recorded SES message id
	exists    bool   // the invitation exists
	sendCount int    // its current send count
	status    string // its stored status
	delivery  *domain.Delivery
	// accountName is the account's current name ("" when the account is gone); user
	// invitations do not carry it, and owner invitations may carry an old one.
	accountName string
}

// ledger reads and writes the function's items: send records and invitations' delivery.
type ledger struct {
	db    DB
	table string
	ttl   time.Duration
}

// state reads the invitation and the send record of send n, both strongly consistent, and the
// account's current name (the email names the account as it is now), all in parallel. It returns the first DynamoDB error.
func (l ledger) state(ctx context.Context, accountID, invitationID string, n int) (sendState, error) {
	type result struct {
		item map[string]types.AttributeValue
		err  error
	}
	recCh := make(chan result, 1)
	go func() {
		out, err := l.db.GetItem(ctx, &dynamodb.GetItemInput{
			TableName:                aws.String(l.table),
			Key:                      keyAV(table.EmailSend(accountID, invitationID, n)),
			ConsistentRead:           aws.Bool(true),
			ProjectionExpression:     aws.String("#m"),
			ExpressionAttributeNames: map[string]string{"#m": "messageId"},
		})
		if err != nil {
			recCh <- result{err: fmt.Errorf("read send record: %w", err)}
			return
		}
		recCh <- result{item: out.Item}
	}()
	accCh := make(chan result, 1)
	go func() {
		out, err := l.db.GetItem(ctx, &dynamodb.GetItemInput{
			TableName:                aws.String(l.table),
			Key:                      keyAV(table.Account(accountID)),
			ProjectionExpression:     aws.String("#n"),
			ExpressionAttributeNames: map[string]string{"#n": "name"},
		})
		if err != nil {
			accCh <- result{err: fmt.Errorf("read account: %w", err)}
			return
		}
		accCh <- result{item: out.Item}
	}()
	inv, invErr := l.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:                aws.String(l.table),
		Key:                      keyAV(table.Invitation(accountID, invitationID)),
		ConsistentRead:           aws.Bool(true),
		ProjectionExpression:     aws.String("#n, #s, #d"),
		ExpressionAttributeNames: map[string]string{"#n": "sendCount", "#s": "status", "#d": "delivery"},
	})
	rec, acc := <-recCh, <-accCh
	if invErr != nil {
		return sendState{}, fmt.Errorf("read invitation: %w", invErr)
	}
	if rec.err != nil {
		return sendState{}, rec.err
	}
	if acc.err != nil {
		return sendState{}, acc.err
	}
	var st sendState
	if acc.item != nil {
		var a struct {
			Name string `dynamodbav:"name"`
		}
		if err := attributevalue.UnmarshalMap(acc.item, &a); err != nil {
			return sendState{}, fmt.Errorf("decode account: %w", err)
		}
		st.accountName = a.Name
	}
	if rec.item != nil {
		var r struct {
			MessageID string `dynamodbav:"messageId"`
		}
		if err := attributevalue.UnmarshalMap(rec.item, &r); err != nil {
			return sendState{}, fmt.Errorf("decode send record: %w", err)
		}
		st.recorded, st.messageID = true, r.MessageID
	}
	if inv.Item != nil {
		var cur struct {
			SendCount int              `dynamodbav:"sendCount"`
			Status    string           `dynamodbav:"status"`
			Delivery  *domain.Delivery `dynamodbav:"delivery"`
		}
		if err := attributevalue.UnmarshalMap(inv.Item, &cur); err != nil {
			return sendState{}, fmt.Errorf("decode invitation: %w", err)
		}
		st.exists, st.sendCount, st.status, st.delivery = true, cur.SendCount, cur.Status, cur.Delivery
	}
	return st, nil
}

// recordSend writes the send record r, with its TTL, unless one exists already (a concurrent
// duplicate recorded first: the email is sent either way). It returns DynamoDB's error.
func (l ledger) recordSend(ctx context.Context, r SendRecord) error {
	item, err := attributevalue.MarshalMap(r)
	if err != nil {
		return fmt.Errorf("encode send record: %w", err)
	}
	item[table.TTLAttribute] = &types.AttributeValueMemberN{Value: strconv.FormatInt(r.SentAt.Add(l.ttl).Unix(), 10)}
	_, err = l.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                aws.String(l.table),
		Item:                     item,
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": table.PK},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("write send record: %w", err)
	}
	return nil
}

// writeDelivery sets the delivery status of send n onto the invitation, leaving its send count
// (and everything else) as it is, so the stream function ignores its own write. It does nothing
// and reports false when the invitation is gone or has been sent again since (its send count is
// no longer n): that newer send writes its own status; nor when the delivery already holds the
// SES events of message d.MessageID. It returns DynamoDB's error.
func (l ledger) writeDelivery(ctx context.Context, accountID, invitationID string, n int, d domain.Delivery) (bool, error) {
	dav, err := attributevalue.Marshal(d)
	if err != nil {
		return false, fmt.Errorf("encode delivery: %w", err)
	}
	_, err = l.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        aws.String(l.table),
		Key:              keyAV(table.Invitation(accountID, invitationID)),
		UpdateExpression: aws.String("SET #d = :d"),
		// Not over the events of this very message: SES's events may be recorded before the
		// email function writes "sent" back (shared/sesevents keeps them in order).
		ConditionExpression:       aws.String("#n = :n AND (attribute_not_exists(#d.#m) OR #d.#m <> :m)"),
		ExpressionAttributeNames:  map[string]string{"#d": "delivery", "#n": "sendCount", "#m": "messageId"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":d": dav, ":n": &types.AttributeValueMemberN{Value: strconv.Itoa(n)}, ":m": &types.AttributeValueMemberS{Value: d.MessageID}},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("write delivery: %w", err)
	}
	return true, nil
}

func keyAV(k table.Key) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		table.PK: &types.AttributeValueMemberS{Value: k.PK},
		table.SK: &types.AttributeValueMemberS{Value: k.SK},
	}
}
