// Command redrive re-drives a deployed stage's email dead-letter queue (see package
// infra/redrive): `make redrive STAGE=…` passes the queue URL and the email function (its live
// alias) from the stack's outputs. Credentials and region come from the environment
// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION).
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"rollcall/infra/redrive"
	"rollcall/shared/awsenv"
)

type queue struct {
	c   *sqs.Client
	url string
}

func (q queue) Receive(ctx context.Context) ([]redrive.Message, error) {
	out, err := q.c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(q.url), MaxNumberOfMessages: 10,
		WaitTimeSeconds: 1, VisibilityTimeout: 300})
	if err != nil {
		return nil, err
	}
	var msgs []redrive.Message
	for _, m := range out.Messages {
		msgs = append(msgs, redrive.Message{Body: aws.ToString(m.Body), Receipt: aws.ToString(m.ReceiptHandle)})
	}
	return msgs, nil
}

func (q queue) Delete(ctx context.Context, receipt string) error {
	_, err := q.c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(q.url), ReceiptHandle: aws.String(receipt)})
	return err
}

type function struct {
	c    *lambda.Client
	name string
}

func (f function) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	out, err := f.c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(f.name), Payload: payload})
	if err != nil {
		return nil, err
	}
	if out.FunctionError != nil {
		return nil, fmt.Errorf("function error %s: %s", aws.ToString(out.FunctionError), out.Payload)
	}
	return out.Payload, nil
}

func main() {
	queueURL := flag.String("queue-url", "", "URL of the email function's dead-letter queue (stack output EmailDeadLetterQueueUrl)")
	fn := flag.String("function", "", "the email function to invoke, e.g. rollcall-prod-send-emails:live")
	flag.Parse()
	if *queueURL == "" || *fn == "" {
		fmt.Fprintln(os.Stderr, "redrive: -queue-url and -function are required (make redrive STAGE=… passes them)")
		os.Exit(2)
	}
	cfg, err := awsenv.Config()
	if err != nil {
		fmt.Fprintln(os.Stderr, "redrive:", err)
		os.Exit(1)
	}
	streams := dynamodbstreams.NewFromConfig(cfg, func(o *dynamodbstreams.Options) { o.HTTPClient = redrive.HTTPClient(http.DefaultClient) })
	res, err := redrive.Run(context.Background(), queue{sqs.NewFromConfig(cfg), *queueURL}, streams, function{lambda.NewFromConfig(cfg), *fn})
	fmt.Printf("%d dead-letter messages: %d re-driven and deleted, %d kept (%d whose records the stream no longer holds: resend those invitations with POST …/resend), %d records\n",
		res.Messages, res.Redriven, res.Kept, res.Expired, res.Records)
	if err != nil {
		fmt.Fprintln(os.Stderr, "redrive:", err)
		os.Exit(1)
	}
}
