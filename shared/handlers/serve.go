package handlers

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"rollcall/shared/reqlog"
	"rollcall/shared/routes"
)

// Serve runs the API function name in Lambda: JSON logs at LOG_LEVEL (reqlog.Setup), clients built once at cold start, then
// the handler for every invocation. A function's main calls only this.
func Serve(name string) {
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
	lambda.Start(api.Handler(name))
}
