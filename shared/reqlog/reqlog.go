// Package reqlog is the API's request log and request metrics, written in one place that every
// API function goes through, in Lambda and in the local gateway alike (both run the handlers
// that handlers.API builds, and those are wrapped by Wrap).
//
// Each request writes exactly one JSON line ("msg":"request") with: the API Gateway request id
// and Lambda's request id, the route key, the function, the account id (path parameter
// accountId, when the route has one), the caller's subject, the status, the problem code of a
// 4xx or 5xx answer, the latency in milliseconds, and the DynamoDB calls the request made (count
// per operation) with the capacity they consumed. It never carries a token, a header, a query
// string or a body. The same line is an embedded-metric-format document (shared/metrics) with
// the route's Requests, Errors4xx, Errors5xx and Latency, by Stage+Route and by Stage.
//
// Every other log line goes through the logger that Logger returns: JSON, the level from
// LOG_LEVEL, and any e-mail address in a string value masked (a***@example.com).
package reqlog

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"rollcall/shared/httpapi"
	"rollcall/shared/metrics"
)

// EnvLogLevel names the variable holding the minimum level of diagnostic lines: DEBUG, INFO
// (the default), WARN or ERROR. The stack sets it from the stage's logLevel. Request lines are
// written whatever the level: they are the access log and carry the metrics.
const EnvLogLevel = "LOG_LEVEL"

// ParseLevel reads a LOG_LEVEL value (case-insensitive); it returns INFO and false for anything
// else.
func ParseLevel(s string) (slog.Level, bool) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "DEBUG":
		return slog.LevelDebug, true
	case "INFO", "":
		return slog.LevelInfo, true
	case "WARN", "WARNING":
		return slog.LevelWarn, true
	case "ERROR":
		return slog.LevelError, true
	}
	return slog.LevelInfo, false
}

// emailPattern matches e-mail addresses inside any string.
var emailPattern = regexp.MustCompile(`([A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]*@([A-Za-z0-9.\-]+\.[A-Za-z]{2,})`)

// MaskEmails replaces every e-mail address in s by its first letter, three stars and its domain
// ("ada@acme.example" → "a***@acme.example").
func MaskEmails(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	return emailPattern.ReplaceAllString(s, "${1}***@${2}")
}

// Logger returns a JSON logger writing to w at level: the time under "timestamp" (RFC 3339, the
// key Lambda's JSON log format reads), "level" and "msg", and e-mail addresses masked in every
// string value, also inside groups.
func Logger(w io.Writer, level slog.Leveler) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: replace}))
}

func replace(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		a.Key = "timestamp"
		return a
	}
	switch a.Value.Kind() {
	case slog.KindString:
		if s := a.Value.String(); strings.Contains(s, "@") {
			return slog.String(a.Key, MaskEmails(s))
		}
	case slog.KindAny:
		if err, ok := a.Value.Any().(error); ok {
			return slog.String(a.Key, MaskEmails(err.Error()))
		}
	}
	return a
}

// Setup makes the default logger the one every function uses: Logger on stdout at LOG_LEVEL,
// with the function's name on every line. An unknown LOG_LEVEL is reported and INFO used.
func Setup(function string) {
	level, ok := ParseLevel(os.Getenv(EnvLogLevel))
	log := Logger(os.Stdout, level).With("function", function)
	slog.SetDefault(log)
	setupFunction.Store(&function)
	if !ok {
		log.Warn("unknown LOG_LEVEL, using INFO", "value", os.Getenv(EnvLogLevel))
	}
}

// setupFunction is the function name Setup put on the default logger (Wrap does not repeat it).
var setupFunction atomic.Pointer[string]

// Stats is what one request did in DynamoDB: calls per operation and the capacity consumed (as
// DynamoDB reports it, which the store asks for on every call). Safe for concurrent use (an
// operation may make calls in parallel).
type Stats struct {
	mu         sync.Mutex
	ops        map[string]int
	readUnits  float64
	writeUnits float64
}

type statsKey struct{}

// WithStats returns ctx carrying a new Stats, and the Stats.
func WithStats(ctx context.Context) (context.Context, *Stats) {
	s := &Stats{ops: map[string]int{}}
	return context.WithValue(ctx, statsKey{}, s), s
}

// StatsFrom returns the Stats ctx carries, or nil.
func StatsFrom(ctx context.Context) *Stats {
	s, _ := ctx.Value(statsKey{}).(*Stats)
	return s
}

// Record adds one call of op with its consumed capacity to the Stats ctx carries (nothing
// without one).
func Record(ctx context.Context, op string, consumed ...types.ConsumedCapacity) {
	s := StatsFrom(ctx)
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ops[op]++
	for _, c := range consumed {
		if c.ReadCapacityUnits != nil || c.WriteCapacityUnits != nil {
			s.readUnits += deref(c.ReadCapacityUnits)
			s.writeUnits += deref(c.WriteCapacityUnits)
			continue
		}
		// Without the read/write split (on-demand tables report only the total), count the
		// total as writes for write operations and as reads otherwise.
		if strings.Contains(op, "Write") || strings.HasPrefix(op, "Put") || strings.HasPrefix(op, "Update") || strings.HasPrefix(op, "Delete") {
			s.writeUnits += deref(c.CapacityUnits)
		} else {
			s.readUnits += deref(c.CapacityUnits)
		}
	}
}

func deref(f *float64) float64 {
	if f == nil {
		return 0
	}
	return *f
}

// Calls returns the number of calls recorded.
func (s *Stats) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.ops {
		n += c
	}
	return n
}

func (s *Stats) attr() slog.Attr {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	ops := make([]any, 0, 2*len(s.ops))
	for op, c := range s.ops {
		n += c
		ops = append(ops, slog.Int(op, c))
	}
	return slog.Group("dynamodb",
		slog.Int("calls", n),
		slog.Group("ops", ops...),
		slog.Float64("readUnits", round(s.readUnits)),
		slog.Float64("writeUnits", round(s.writeUnits)))
}

func round(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }

// Wrap returns h with the request log and metrics around it: function is the route table's
// Function, stage the stage's name (the metrics' Stage dimension). log is where the lines go
// (nil: slog.Default() at the time of each request).
func Wrap(function, stage string, log *slog.Logger, h httpapi.Handler) httpapi.Handler {
	return func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		start := time.Now()
		ctx, stats := WithStats(ctx)
		resp, err := h(ctx, req)
		latency := time.Since(start)
		status := resp.StatusCode
		if err != nil {
			status = 500 // API Gateway answers 500 for a failed invocation
		}
		l := log
		attrs := []slog.Attr{
			slog.String("requestId", req.RequestContext.RequestID),
			slog.String("route", req.RouteKey),
		}
		if l == nil {
			l = slog.Default()
		}
		if f := setupFunction.Load(); log != nil || f == nil || *f != function {
			attrs = append(attrs, slog.String("function", function))
		}
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			attrs = append(attrs, slog.String("awsRequestId", lc.AwsRequestID))
		}
		if id := req.PathParameters["accountId"]; id != "" {
			attrs = append(attrs, slog.String("accountId", id))
		}
		if jwt := req.RequestContext.Authorizer; jwt != nil && jwt.JWT != nil && jwt.JWT.Claims["sub"] != "" {
			attrs = append(attrs, slog.String("sub", jwt.JWT.Claims["sub"]))
		}
		attrs = append(attrs, slog.Int("status", status))
		if status >= 400 {
			attrs = append(attrs, slog.String("code", problemCode(resp, err)))
		}
		if resp.Headers["Idempotent-Replayed"] == "true" {
			attrs = append(attrs, slog.Bool("replayed", true))
		}
		attrs = append(attrs, slog.Float64("latencyMs", float64(latency.Microseconds())/1000), stats.attr())

		m := metrics.New(metrics.Dim("Stage", stage), metrics.Dim("Route", req.RouteKey)).Rollup("Stage").
			Count("Requests", 1).
			Count("Errors4xx", b2i(status >= 400 && status < 500)).
			Count("Errors5xx", b2i(status >= 500)).
			Duration("Latency", latency)
		attrs = append(attrs, m.Attrs()...)
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		metrics.Write(ctx, l, level, "request", attrs...)
		return resp, err
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// problemCode reads the code member of a problem+json answer ("internal" for a failed
// invocation, "unknown" for an error answer without one).
func problemCode(resp events.APIGatewayV2HTTPResponse, err error) string {
	if err != nil {
		return "internal"
	}
	var p struct {
		Code string `json:"code"`
	}
	if json.Unmarshal([]byte(resp.Body), &p) == nil && p.Code != "" {
		return p.Code
	}
	return "unknown"
}
