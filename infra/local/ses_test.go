package local

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
)

func TestStartSESSaysToRunNpmCi(t *testing.T) {
	_, err := StartSES(context.Background(), SESOptions{Root: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "npm ci") || !strings.Contains(err.Error(), "aws-ses-v2-local") {
		t.Fatalf("err = %v, want it to say to run npm ci", err)
	}
}

// TestSESEmulatorAcceptsWhatTheFunctionSends: the emulator takes a signed SendEmail with a
// configuration set, tags and reply-to, as the email function sends them, and stops cleanly.
func TestSESEmulatorAcceptsWhatTheFunctionSends(t *testing.T) {
	ses := startTestSES(t)
	resp, err := http.Get(ses.Endpoint + "/health-check")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("health check: %v %v", resp, err)
	}
	resp.Body.Close()
	out, err := SESClient(ses.Endpoint).SendEmail(context.Background(), &sesv2.SendEmailInput{
		FromEmailAddress:     aws.String("no-reply@rollcall.local"),
		Destination:          &sestypes.Destination{ToAddresses: []string{"grace@acme.example"}},
		ReplyToAddresses:     []string{"support@rollcall.local"},
		ConfigurationSetName: aws.String("rollcall-local"),
		EmailTags:            []sestypes.MessageTag{{Name: aws.String("kind"), Value: aws.String("user")}},
		Content: &sestypes.EmailContent{Simple: &sestypes.Message{
			Subject: &sestypes.Content{Data: aws.String("Hello"), Charset: aws.String("UTF-8")},
			Body:    &sestypes.Body{Text: &sestypes.Content{Data: aws.String("Hi")}, Html: &sestypes.Content{Data: aws.String("<p>Hi</p>")}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := SESInbox(context.Background(), ses.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	if len(inbox) != 1 || inbox[0].MessageID != aws.ToString(out.MessageId) || inbox[0].Subject != "Hello" ||
		inbox[0].Body.HTML != "<p>Hi</p>" || inbox[0].ReplyTo[0] != "support@rollcall.local" {
		t.Fatalf("inbox %+v", inbox)
	}
	if err := ses.Stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ses.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the emulator still runs after Stop")
	}
	if Answers(context.Background(), ses.Endpoint) {
		t.Fatal("the emulator still answers after Stop")
	}
}
