package email

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"rollcall/shared/domain"
)

// sampleEvent reads a sample stream batch from events/stream/.
func sampleEvent(t testing.TB, name string) events.DynamoDBEvent {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "events", "stream", name))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.DynamoDBEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return ev
}

func TestSelectSendOnSamples(t *testing.T) {
	const acc = "acc_01KAQ7Z3W8X2N4M6P8R0T2V4Y6"
	for _, tc := range []struct {
		file string
		want []send
	}{
		{"invitation-insert.json", []send{{acc, "inv_01KAQ7Z3W9A1B3C5D7E9F1G3H5", 1}, {acc, "inv_01KAQ80000J2K4L6M8N0P2Q4R6", 1}}},
		{"invitation-resend.json", []send{{acc, "inv_01KAQ80000J2K4L6M8N0P2Q4R6", 2}}},
		{"unrelated.json", nil},
		{"removal.json", nil},
	} {
		t.Run(tc.file, func(t *testing.T) {
			ev := sampleEvent(t, tc.file)
			var got []send
			for _, rec := range ev.Records {
				if s, ok := selectSend(rec); ok {
					got = append(got, s)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("selected %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestSelectSendModifyNeedsHigherSendCount(t *testing.T) {
	rec := sampleEvent(t, "invitation-resend.json").Records[0]
	if _, ok := selectSend(rec); !ok {
		t.Fatal("resend not selected")
	}
	rec.Change.OldImage = copyImage(rec.Change.NewImage) // same send count: a write-back or a revoke
	if _, ok := selectSend(rec); ok {
		t.Fatal("modify without a higher send count selected")
	}
	rec.Change.OldImage["sendCount"] = events.NewNumberAttribute("3") // lower: never
	if _, ok := selectSend(rec); ok {
		t.Fatal("modify with a lower send count selected")
	}
	rec.Change.NewImage = nil
	if _, ok := selectSend(rec); ok {
		t.Fatal("record without a new image selected")
	}
}

func copyImage(m map[string]events.DynamoDBAttributeValue) map[string]events.DynamoDBAttributeValue {
	c := make(map[string]events.DynamoDBAttributeValue, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func TestDecodeInvitationFromSample(t *testing.T) {
	rec := sampleEvent(t, "invitation-resend.json").Records[0]
	inv, err := decodeInvitation(rec.Change.NewImage)
	if err != nil {
		t.Fatal(err)
	}
	want := domain.Invitation{
		ID: "inv_01KAQ80000J2K4L6M8N0P2Q4R6", AccountID: "acc_01KAQ7Z3W8X2N4M6P8R0T2V4Y6", AccountName: "Invoke Sample Co",
		Kind: domain.KindUser, Email: "grace@invoke-sample.example", Permissions: []string{"contacts:read", "contacts:write"},
		Status: domain.StatusPending, ExpiresAt: time.Date(2026, 11, 30, 19, 10, 0, 0, time.UTC), ExpiresInDays: 7, SendCount: 2,
		LastSentAt: time.Date(2026, 11, 23, 19, 10, 0, 0, time.UTC), InvitedBy: domain.Actor{Sub: "sub-ada", Email: "ada@invoke-sample.example"},
		CreatedAt: time.Date(2026, 11, 23, 19, 1, 0, 0, time.UTC), Nonce: "9f8e7d6c5b4a39281706f5e4d3c2b1a0",
	}
	if !reflect.DeepEqual(inv, want) {
		t.Fatalf("decoded\n%+v\nwant\n%+v", inv, want)
	}
}

// TestFromStreamValueEveryType: the conversion from Lambda's attribute values gives what the SDK
// itself decodes from DynamoDB JSON, for every type.
func TestFromStreamValueEveryType(t *testing.T) {
	const image = `{
		"s": {"S": "x"}, "n": {"N": "12.5"}, "b": {"B": "AQID"}, "t": {"BOOL": true}, "z": {"NULL": true},
		"ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2"]}, "bs": {"BS": ["AQ==", "Ag=="]},
		"l": {"L": [{"S": "y"}, {"N": "1"}, {"M": {"k": {"BOOL": false}}}]},
		"m": {"M": {"inner": {"L": [{"NULL": true}]}}}
	}`
	var in map[string]events.DynamoDBAttributeValue
	if err := json.Unmarshal([]byte(image), &in); err != nil {
		t.Fatal(err)
	}
	got, err := FromStreamImage(in)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]types.AttributeValue{
		"s":  &types.AttributeValueMemberS{Value: "x"},
		"n":  &types.AttributeValueMemberN{Value: "12.5"},
		"b":  &types.AttributeValueMemberB{Value: []byte{1, 2, 3}},
		"t":  &types.AttributeValueMemberBOOL{Value: true},
		"z":  &types.AttributeValueMemberNULL{Value: true},
		"ss": &types.AttributeValueMemberSS{Value: []string{"a", "b"}},
		"ns": &types.AttributeValueMemberNS{Value: []string{"1", "2"}},
		"bs": &types.AttributeValueMemberBS{Value: [][]byte{{1}, {2}}},
		"l": &types.AttributeValueMemberL{Value: []types.AttributeValue{
			&types.AttributeValueMemberS{Value: "y"}, &types.AttributeValueMemberN{Value: "1"},
			&types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"k": &types.AttributeValueMemberBOOL{Value: false}}},
		}},
		"m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"inner": &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberNULL{Value: true}}},
		}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("converted\n%#v\nwant\n%#v", got, want)
	}
	// And attributevalue decodes the result.
	var out struct {
		N  float64  `dynamodbav:"n"`
		SS []string `dynamodbav:"ss"`
		Z  *string  `dynamodbav:"z"`
	}
	if err := attributevalue.UnmarshalMap(got, &out); err != nil || out.N != 12.5 || len(out.SS) != 2 || out.Z != nil {
		t.Fatalf("decoded %+v, %v", out, err)
	}
}

func TestFromStreamValueZeroValueIsAnError(t *testing.T) {
	if _, err := fromStreamValue(events.DynamoDBAttributeValue{}); err == nil {
		t.Fatal("a zero attribute value converted without error")
	}
}

func TestDecodeInvitationWrongTypes(t *testing.T) {
	rec := sampleEvent(t, "invitation-resend.json").Records[0]
	img := copyImage(rec.Change.NewImage)
	img["sendCount"] = events.NewStringAttribute("two")
	if _, err := decodeInvitation(img); err == nil {
		t.Fatal("an image with a string send count decoded")
	}
}
