package handlers

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"rollcall/shared/reqlog"
	"rollcall/shared/routes"
)

// Serve runs endpoint e in Lambda: JSON logs at LOG_LEVEL (reqlog.Setup), clients built once at
// cold start, then the handler for every invocation. A function's main calls only this, with its
// own Endpoint.
func Serve(e Endpoint) {
	name := e.Function
	reqlog.Setup(name)
	route, ok := routes.ByFunction(name)
	if !ok {
		slog.Error("no route for function", "function", name)
		os.Exit(1)
	}
	api, err := FromEnv(context.Background(), route.Secret)
	if err != nil {
		slog.Error("cold start failed", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(api.Handler(e))
}
