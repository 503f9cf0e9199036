// Command ses-events records the SES events of the emails the stream function sent (delivery,
// bounce, complaint, reject, delay), delivered by an EventBridge rule on the configuration set's
// event destination (DESIGN §4); see package sesevents for what it records.
package main

import (
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"rollcall/shared/sesevents"
)

func main() {
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stdout, nil)).With("function", "ses-events"))
	r, err := sesevents.FromEnv()
	if err != nil {
		slog.Error("cold start failed", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(r.HandleEventBridge)
}
