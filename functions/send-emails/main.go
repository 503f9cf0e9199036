// Command send-emails is the stream function: it reads the table's stream and sends the
// invitation emails through SES v2 (DESIGN §4). Clients and the signing key are set up once, at
// cold start; see package email for what it does with each batch.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"rollcall/shared/email"
)

func main() {
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stdout, nil)).With("function", "send-emails"))
	fn, err := email.FromEnv(context.Background())
	if err != nil {
		slog.Error("cold start failed", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(fn.Handle)
}
