package email

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"rollcall/shared/domain"
	"rollcall/shared/table"
)

// send is a stream record that asks for an email: send number sendCount of an invitation.
type send struct {
	accountID    string
	invitationID string
	sendCount    int
}

// selectSend reports whether rec asks for an email: an invitation item inserted, or modified
// with a higher send count than before (a resend, R14). It reads only the keys and the send
// counts, so the rest of the stream (other items, removals, the function's own delivery
// write-backs) costs next to nothing.
func selectSend(rec events.DynamoDBEventRecord) (send, bool) {
	if rec.EventName != string(events.DynamoDBOperationTypeInsert) && rec.EventName != string(events.DynamoDBOperationTypeModify) {
		return send{}, false
	}
	sk, ok := stringAttr(rec.Change.Keys, table.SK)
	if !ok || !strings.HasPrefix(sk, table.InvitationPrefix) {
		return send{}, false
	}
	pk, _ := stringAttr(rec.Change.Keys, table.PK)
	accountID, ok := table.AccountIDFromPK(pk)
	invitationID := strings.TrimPrefix(sk, table.InvitationPrefix)
	if !ok || invitationID == "" || rec.Change.NewImage == nil {
		return send{}, false
	}
	n, _ := numberAttr(rec.Change.NewImage, "sendCount")
	if rec.EventName == string(events.DynamoDBOperationTypeModify) {
		old, _ := numberAttr(rec.Change.OldImage, "sendCount")
		if n <= old {
			return send{}, false
		}
	}
	return send{accountID: accountID, invitationID: invitationID, sendCount: n}, true
}

func stringAttr(m map[string]events.DynamoDBAttributeValue, name string) (string, bool) {
	av, ok := m[name]
	if !ok || av.DataType() != events.DataTypeString {
		return "", false
	}
	return av.String(), true
}

func numberAttr(m map[string]events.DynamoDBAttributeValue, name string) (int, bool) {
	av, ok := m[name]
	if !ok || av.DataType() != events.DataTypeNumber {
		return 0, false
	}
	n, err := strconv.Atoi(av.Number())
	return n, err == nil
}

// decodeInvitation decodes a stream image into an invitation, through the SDK's attributevalue
// decoder so that it reads exactly what the store wrote. It returns an error when the image
// holds values of the wrong types.
func decodeInvitation(image map[string]events.DynamoDBAttributeValue) (domain.Invitation, error) {
	var inv domain.Invitation
	item, err := FromStreamImage(image)
	if err != nil {
		return inv, err
	}
	if err := attributevalue.UnmarshalMap(item, &inv); err != nil {
		return inv, fmt.Errorf("decode invitation: %w", err)
	}
	return inv, nil
}

// FromStreamImage converts a stream image as Lambda delivers it (aws-lambda-go's
// events.DynamoDBAttributeValue) into the SDK's attribute values, which attributevalue decodes
// and PutItem writes. It returns an error for a value of an unknown type.
func FromStreamImage(image map[string]events.DynamoDBAttributeValue) (map[string]types.AttributeValue, error) {
	out := make(map[string]types.AttributeValue, len(image))
	for k, v := range image {
		av, err := fromStreamValue(v)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", k, err)
		}
		out[k] = av
	}
	return out, nil
}

// fromStreamValue converts one events.DynamoDBAttributeValue into the SDK's attribute value.
// It returns an error for a value of an unknown type (or a zero value built in Go, which has
// none).
func fromStreamValue(v events.DynamoDBAttributeValue) (av types.AttributeValue, err error) {
	defer func() { // the accessors panic on a value whose type and content disagree
		if r := recover(); r != nil {
			av, err = nil, fmt.Errorf("malformed attribute value: %v", r)
		}
	}()
	switch v.DataType() {
	case events.DataTypeString:
		return &types.AttributeValueMemberS{Value: v.String()}, nil
	case events.DataTypeNumber:
		return &types.AttributeValueMemberN{Value: v.Number()}, nil
	case events.DataTypeBoolean:
		return &types.AttributeValueMemberBOOL{Value: v.Boolean()}, nil
	case events.DataTypeNull:
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case events.DataTypeBinary:
		return &types.AttributeValueMemberB{Value: v.Binary()}, nil
	case events.DataTypeStringSet:
		return &types.AttributeValueMemberSS{Value: v.StringSet()}, nil
	case events.DataTypeNumberSet:
		return &types.AttributeValueMemberNS{Value: v.NumberSet()}, nil
	case events.DataTypeBinarySet:
		return &types.AttributeValueMemberBS{Value: v.BinarySet()}, nil
	case events.DataTypeList:
		list := v.List()
		l := make([]types.AttributeValue, len(list))
		for i, e := range list {
			if l[i], err = fromStreamValue(e); err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
		}
		return &types.AttributeValueMemberL{Value: l}, nil
	case events.DataTypeMap:
		m, err := FromStreamImage(v.Map())
		if err != nil {
			return nil, err
		}
		return &types.AttributeValueMemberM{Value: m}, nil
	}
	return nil, errors.New("attribute value of unknown type")
}
