package local

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"rollcall/shared/apperr"
	"rollcall/shared/httpapi"
	"rollcall/shared/routes"
)

// MaxRequestBytes is the largest request body API Gateway HTTP APIs accept; a larger one is
// answered 413.
const MaxRequestBytes = 10 << 20

// codePayloadTooLarge is the problem code of the gateway's 413.
const codePayloadTooLarge = "payload_too_large"

// Verifier checks a bearer token and returns its claims as API Gateway hands them to a function;
// *Signer is one.
type Verifier interface {
	Verify(token string) (map[string]string, error)
}

// Gateway is the local stand-in for API Gateway: an http.Handler serving every route of
// routes.All by invoking the route's function handler the way Lambda does, with the request
// API Gateway (HTTP API, payload format 2.0, JWT authorizer) would send.
type Gateway struct {
	verifier Verifier
	log      *slog.Logger
	funcs    map[string]*function
	// Timeout bounds each invocation's context, as a function's timeout does in Lambda.
	Timeout time.Duration
	// Now is the clock of requestContext.time; nil means time.Now.
	Now func() time.Time
}

// function is one Lambda function. Lambda runs each execution environment one invocation at a
// time, and lambda.Handler relies on that: the bytes Invoke returns alias a buffer that goes back
// to the handler's pool. So each concurrent request gets its own instance from a pool, as
// concurrent invocations get their own environment.
type function struct {
	name string
	envs sync.Pool // of lambda.Handler
}

// NewGateway returns a gateway over handlers (function name → handler, keyed by the route table's
// Function) that checks bearer tokens with v and logs one line per request to log (nil means
// slog.Default()). It returns an error naming the routes that have no handler.
func NewGateway(handlers map[string]httpapi.Handler, v Verifier, log *slog.Logger) (*Gateway, error) {
	if log == nil {
		log = slog.Default()
	}
	g := &Gateway{verifier: v, log: log, funcs: map[string]*function{}, Timeout: 30 * time.Second}
	var missing []string
	for _, r := range routes.All {
		h, ok := handlers[r.Function]
		if !ok {
			missing = append(missing, r.Key()+" ("+r.Function+")")
			continue
		}
		f := &function{name: r.Function}
		f.envs.New = func() any { return lambda.NewHandler(h) }
		g.funcs[r.Function] = f
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("local: no handler for %s", strings.Join(missing, ", "))
	}
	return g, nil
}

func (g *Gateway) now() time.Time {
	if g.Now != nil {
		return g.Now()
	}
	return time.Now()
}

// ServeHTTP answers one request: 413 for a body over MaxRequestBytes, 404 for an unknown path,
// 405 for a known path with another method, 401 without a valid bearer token (all as
// problem+json), else the function's answer.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	requestID := newAPIGatewayRequestID()
	resp, fn, invoked := g.serve(r, requestID)
	resp.Headers = withHeader(resp.Headers, "apigw-requestid", requestID)
	status := writeResponse(w, resp)
	// A function that ran wrote its own request line (shared/reqlog) with everything this one
	// says: the gateway's access line is then DEBUG, so that make dev shows one line a request.
	level := slog.LevelInfo
	if invoked {
		level = slog.LevelDebug
	}
	g.log.Log(r.Context(), level, "request", "method", r.Method, "path", r.URL.Path, "status", status,
		"duration", time.Since(start).Round(10*time.Microsecond), "function", fn, "requestId", requestID)
}

// serve answers r: the gateway's own problem (fn names the route's function once the route is
// known) or the function's answer, with invoked true.
func (g *Gateway) serve(r *http.Request, requestID string) (resp events.APIGatewayV2HTTPResponse, fn string, invoked bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxRequestBytes+1))
	if err != nil {
		return g.problem(apperr.New(http.StatusBadRequest, apperr.CodeValidation, "the request body could not be read")), "", false
	}
	if len(body) > MaxRequestBytes {
		return g.problem(apperr.New(http.StatusRequestEntityTooLarge, codePayloadTooLarge, "the request body is larger than 10 MB")), "", false
	}
	route, params, ok, pathKnown := routes.Match(r.Method, r.URL.EscapedPath())
	if !ok && pathKnown {
		resp := g.problem(apperr.New(http.StatusMethodNotAllowed, apperr.CodeMethodNotAllowed, "%s is not allowed on %s", r.Method, r.URL.Path))
		resp.Headers["Allow"] = strings.Join(allowed(r.URL.EscapedPath()), ", ")
		return resp, "", false
	}
	if !ok {
		return g.problem(apperr.NotFound("route " + r.URL.Path)), "", false
	}
	for k, v := range params {
		if params[k], err = url.PathUnescape(v); err != nil {
			return g.problem(apperr.NotFound("route " + r.URL.Path)), "", false
		}
	}
	claims, err := g.authorize(r.Header.Get("Authorization"))
	if err != nil {
		resp := g.problem(apperr.Unauthorized(err.Error()))
		resp.Headers["WWW-Authenticate"] = `Bearer error="invalid_token"`
		return resp, route.Function, false
	}
	req := BuildRequest(r, route, params, claims, body, requestID, g.now())
	return g.invoke(r.Context(), g.funcs[route.Function], req), route.Function, true
}

// authorize returns the claims of the bearer token in header. Like API Gateway it takes the
// token with or without the "Bearer " prefix.
func (g *Gateway) authorize(header string) (map[string]string, error) {
	token := strings.TrimSpace(header)
	if len(token) > 7 && strings.EqualFold(token[:7], "bearer ") {
		token = strings.TrimSpace(token[7:])
	}
	if token == "" {
		return nil, errors.New("a bearer token is required; `make token` prints one for the local stack")
	}
	claims, err := g.verifier.Verify(token)
	if err != nil {
		return nil, fmt.Errorf("the bearer token is not valid: %v", err)
	}
	return claims, nil
}

// allowed lists the methods routes.All serves on path.
func allowed(path string) []string {
	var methods []string
	for _, r := range routes.All {
		if _, _, ok, _ := routes.Match(r.Method, path); ok && !slices.Contains(methods, r.Method) {
			methods = append(methods, r.Method)
		}
	}
	sort.Strings(methods)
	return methods
}

// invoke runs f with req as Lambda would: the event as JSON, a Lambda context, the answer
// decoded from JSON. A handler error or panic is a 500, as API Gateway answers for a failed
// invocation.
func (g *Gateway) invoke(ctx context.Context, f *function, req events.APIGatewayV2HTTPRequest) (resp events.APIGatewayV2HTTPResponse) {
	payload, err := json.Marshal(req)
	if err != nil {
		return g.internal(f.name, err)
	}
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{
		AwsRequestID:       newUUID(),
		InvokedFunctionArn: "arn:aws:lambda:" + Region + ":000000000000:function:rollcall-local-" + f.name,
	})
	ctx, cancel := context.WithTimeout(ctx, g.Timeout)
	defer cancel()

	h := f.envs.Get().(lambda.Handler)
	defer func() {
		if p := recover(); p != nil {
			resp = g.internal(f.name, fmt.Errorf("panic: %v", p)) // the environment is not reused
		}
	}()
	out, err := h.Invoke(ctx, payload)
	if err != nil {
		f.envs.Put(h)
		return g.internal(f.name, err)
	}
	// out aliases h's pooled buffer: decode it (the decoded strings are copies) before h is reused.
	resp = decodeResponse(out)
	f.envs.Put(h)
	return resp
}

// decodeResponse reads a function's answer as API Gateway does for payload format 2.0: an object
// with statusCode is the response; any other JSON is a 200 application/json body. The answer is
// decoded once (a list's body is most of it, and decoding it twice cost the gateway a third of
// its time, issue 12): statusCode is read into a pointer beside the response's other fields,
// to tell an absent one from 0. Its strings never alias out.
func decodeResponse(out []byte) events.APIGatewayV2HTTPResponse {
	var probe struct {
		StatusCode *int `json:"statusCode"` // shadows the embedded response's statusCode
		events.APIGatewayV2HTTPResponse
	}
	if json.Unmarshal(out, &probe) == nil && probe.StatusCode != nil {
		resp := probe.APIGatewayV2HTTPResponse
		resp.StatusCode = *probe.StatusCode
		return resp
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: http.StatusOK,
		Headers:    map[string]string{"Content-Type": "application/json"},
		Body:       strings.TrimSpace(string(out)),
	}
}

func (g *Gateway) internal(fn string, err error) events.APIGatewayV2HTTPResponse {
	g.log.Error("invocation failed", "function", fn, "error", err.Error())
	return g.problem(apperr.New(http.StatusInternalServerError, apperr.CodeInternal, "the function failed; see the local stack's log"))
}

func (g *Gateway) problem(err *apperr.Error) events.APIGatewayV2HTTPResponse {
	return httpapi.Problem(g.log, err)
}

// BuildRequest returns the event API Gateway (HTTP API, payload format 2.0, JWT authorizer) sends
// to route's function for r: header names lower-cased and repeated headers comma-joined, cookies
// in Cookies, query parameters with repeated values comma-joined, the path parameters (decoded),
// the authorizer's claims, and the body, base64-encoded unless it is text.
func BuildRequest(r *http.Request, route routes.Route, params, claims map[string]string, body []byte, requestID string, now time.Time) events.APIGatewayV2HTTPRequest {
	sourceIP, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		sourceIP = r.RemoteAddr
	}
	headers := map[string]string{}
	var cookies []string
	for k, vs := range r.Header {
		k = strings.ToLower(k)
		if k == "cookie" {
			for _, v := range vs {
				cookies = append(cookies, strings.Split(v, "; ")...)
			}
			continue
		}
		headers[k] = strings.Join(vs, ",")
	}
	headers["host"] = r.Host
	headers["x-forwarded-for"] = strings.TrimPrefix(headers["x-forwarded-for"]+","+sourceIP, ",")
	headers["x-forwarded-proto"] = "http"
	headers["x-forwarded-port"] = "80"
	if _, port, err := net.SplitHostPort(r.Host); err == nil {
		headers["x-forwarded-port"] = port
	}
	var query map[string]string
	if values, _ := url.ParseQuery(r.URL.RawQuery); len(values) > 0 {
		query = make(map[string]string, len(values))
		for k, vs := range values {
			query[k] = strings.Join(vs, ",")
		}
	}
	if len(params) == 0 {
		params = nil
	}
	req := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              route.Key(),
		RawPath:               r.URL.EscapedPath(),
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: query,
		PathParameters:        params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     route.Key(),
			AccountID:    "000000000000",
			Stage:        "$default",
			RequestID:    requestID,
			APIID:        "local",
			DomainName:   r.Host,
			DomainPrefix: strings.Split(r.Host, ".")[0],
			Time:         now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.URL.EscapedPath(),
				Protocol:  r.Proto,
				SourceIP:  sourceIP,
				UserAgent: r.UserAgent(),
			},
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
				JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
			},
		},
	}
	if len(body) > 0 {
		if isText(r.Header.Get("Content-Type"), body) {
			req.Body = string(body)
		} else {
			req.Body = base64.StdEncoding.EncodeToString(body)
			req.IsBase64Encoded = true
		}
	}
	return req
}

// isText reports whether a body of contentType is passed as text rather than base64: text/*,
// JSON, XML, JavaScript and form types, or no type at all, when the body is valid UTF-8.
func isText(contentType string, body []byte) bool {
	if !utf8.Valid(body) {
		return false
	}
	if contentType == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		mt == "application/json", strings.HasSuffix(mt, "+json"),
		mt == "application/xml", strings.HasSuffix(mt, "+xml"),
		mt == "application/javascript", mt == "application/x-www-form-urlencoded":
		return true
	}
	return false
}

// writeResponse writes a function's answer as API Gateway does and returns the status written:
// headers, cookies as Set-Cookie, the body base64-decoded when flagged. An answer API Gateway
// would reject (bad status, bad base64) is a 500.
func writeResponse(w http.ResponseWriter, resp events.APIGatewayV2HTTPResponse) int {
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			resp = malformed("the function's body is not valid base64", resp.Headers)
			b = []byte(resp.Body)
		}
		body = b
	}
	if resp.StatusCode < 100 || resp.StatusCode > 599 {
		resp = malformed("the function answered status "+strconv.Itoa(resp.StatusCode), resp.Headers)
		body = []byte(resp.Body)
	}
	h := w.Header()
	h["Content-Type"] = nil // no sniffing: API Gateway sends only what the function set
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	for _, c := range resp.Cookies {
		h.Add("Set-Cookie", c)
	}
	if len(body) > 0 {
		// As API Gateway does; without it a body over 2 KiB would go out chunked.
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
	return resp.StatusCode
}

func malformed(detail string, headers map[string]string) events.APIGatewayV2HTTPResponse {
	resp := httpapi.Problem(slog.Default(), apperr.New(http.StatusInternalServerError, apperr.CodeInternal, "%s", detail))
	resp.Headers["apigw-requestid"] = headers["apigw-requestid"]
	return resp
}

func withHeader(h map[string]string, k, v string) map[string]string {
	if h == nil {
		h = map[string]string{}
	}
	h[k] = v
	return h
}

// newAPIGatewayRequestID returns an id shaped like API Gateway's request ids.
func newAPIGatewayRequestID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// newUUID returns a random (version 4) UUID, as Lambda's request ids are.
func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
