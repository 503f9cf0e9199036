// Command fn is a test function for the invoke command: it behaves as INVOKE_TEST_MODE says.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

func main() {
	mode := os.Getenv("INVOKE_TEST_MODE")
	if mode == "init-fail" {
		fmt.Fprintln(os.Stderr, "cannot start")
		os.Exit(3)
	}
	lambda.Start(func(ctx context.Context, ev json.RawMessage) (any, error) {
		switch mode {
		case "error":
			return nil, errors.New("it failed")
		case "panic":
			panic("it panicked")
		case "sleep":
			time.Sleep(5 * time.Second)
		case "context":
			lc, _ := lambdacontext.FromContext(ctx)
			deadline, _ := ctx.Deadline()
			return map[string]any{
				"requestId": lc.AwsRequestID, "functionArn": lc.InvokedFunctionArn,
				"secondsLeft": time.Until(deadline).Seconds(), "functionName": lambdacontext.FunctionName,
				"memory": lambdacontext.MemoryLimitInMB, "region": os.Getenv("AWS_REGION"),
			}, nil
		}
		return ev, nil
	})
}
