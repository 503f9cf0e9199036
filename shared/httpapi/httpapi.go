// Package httpapi adapts API Gateway HTTP API (payload 2.0) requests to rollcall's operations:
// it reads the caller, decodes bodies strictly, writes JSON answers, and maps every error to an
// RFC 9457 problem in one place.
package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"rollcall/shared/apperr"
	"rollcall/shared/auth"
	"rollcall/shared/idempotency"
)

// Handler is a Lambda handler for API Gateway HTTP API requests; every API function serves one.
type Handler func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// MaxBodyBytes is the largest request body accepted (DESIGN §3).
const MaxBodyBytes = 256 << 10

// Contract is what an operation's declaration (shared/contract) fixes and Adapt enforces: the
// Go type its body decodes into (nil: no body), the query parameters it may read, and the Go
// type of the body of each success status (nil: no body).
type Contract struct {
	Body    reflect.Type
	Query   []string
	Answers map[int]reflect.Type
}

// Request is one API request as an operation sees it.
type Request struct {
	Raw      events.APIGatewayV2HTTPRequest
	Caller   auth.Caller
	Body     []byte
	contract *Contract // nil: nothing enforced (unit tests of helpers)
}

// Param returns path parameter name.
func (r *Request) Param(name string) string { return r.Raw.PathParameters[name] }

// Query returns query parameter name. Reading a parameter the route does not declare is a
// programming error: it panics, which Adapt answers as a 500 (and every test of the route fails).
func (r *Request) Query(name string) string {
	if r.contract != nil && !slices.Contains(r.contract.Query, name) {
		panic(undeclared("query parameter " + strconv.Quote(name) + " is not declared by the route"))
	}
	return r.Raw.QueryStringParameters[name]
}

// undeclared is a handler's use of something its declaration lacks.
type undeclared string

func (u undeclared) Error() string { return "httpapi: " + string(u) }

// Header returns header name (HTTP API lower-cases header names).
func (r *Request) Header(name string) string {
	name = strings.ToLower(name)
	for k, v := range r.Raw.Headers {
		if strings.ToLower(k) == name {
			return v
		}
	}
	return ""
}

// Decode reads the JSON body into dst strictly: unknown fields, wrong types, trailing data and
// bodies over MaxBodyBytes are 400 with the field named.
//
// dst must point to the route's declared body type (else the answer is a 500).
func (r *Request) Decode(dst any) error {
	if r.contract != nil {
		if t := reflect.TypeOf(dst); t.Kind() != reflect.Pointer || t.Elem() != r.contract.Body {
			return undeclared(fmt.Sprintf("body decoded into %v, but the route declares %v", t, r.contract.Body))
		}
	}
	if len(r.Body) > MaxBodyBytes {
		return apperr.InvalidField("", "the body must be at most 256 KiB")
	}
	if len(strings.TrimSpace(string(r.Body))) == 0 {
		return apperr.InvalidField("", "a JSON body is required")
	}
	return DecodeStrict(r.Body, dst)
}

// Response is an operation's answer before it is written.
type Response struct {
	Status  int
	Body    any
	Headers map[string]string
}

// JSON is an answer with status and a JSON body.
func JSON(status int, body any) *Response { return &Response{Status: status, Body: body} }

// NoContent is a 204 answer.
func NoContent() *Response { return &Response{Status: http.StatusNoContent} }

// WithETag adds an ETag header carrying version.
func (r *Response) WithETag(version int) *Response {
	if r.Headers == nil {
		r.Headers = map[string]string{}
	}
	r.Headers["ETag"] = ETag(version)
	return r
}

// ETag is the entity tag of an item version.
func ETag(version int) string { return `"` + strconv.Itoa(version) + `"` }

// IfMatch returns the version named by the If-Match header, 0 when there is none or it is "*".
// It returns a 400 when the header is not an ETag rollcall gave out.
func (r *Request) IfMatch() (int, error) {
	h := strings.TrimSpace(r.Header("If-Match"))
	if h == "" || h == "*" {
		return 0, nil
	}
	h = strings.TrimPrefix(h, "W/")
	v, err := strconv.Atoi(strings.Trim(h, `"`))
	if err != nil || v < 1 {
		return 0, apperr.InvalidField("If-Match", "must be an ETag returned by a read")
	}
	return v, nil
}

// Operation is the body of a function: it gets the decoded request and returns an answer or an
// error (an *apperr.Error for anything the caller should see).
type Operation func(ctx context.Context, r *Request) (*Response, error)

// Adapt turns op into a Lambda handler: it reads the caller (401 without one), runs op, and
// writes the answer or the problem. operatorGroup is the stage's operator group; c is op's
// declaration: an answer with a status or Go type it does not declare is logged and becomes a
// 500, as is a read of an undeclared query parameter or a body decoded into another type.
func Adapt(operatorGroup string, c Contract, op Operation) Handler {
	return func(ctx context.Context, raw events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		log := slog.Default().With("requestId", raw.RequestContext.RequestID, "route", raw.RouteKey)
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			log = log.With("awsRequestId", lc.AwsRequestID)
		}
		caller, err := auth.FromRequest(raw, operatorGroup)
		if err != nil {
			return Problem(log, err), nil
		}
		body := []byte(raw.Body)
		if raw.IsBase64Encoded {
			if body, err = base64.StdEncoding.DecodeString(raw.Body); err != nil {
				return Problem(log, apperr.InvalidField("", "the body is not valid base64")), nil
			}
		}
		out, err := run(ctx, op, &Request{Raw: raw, Caller: caller, Body: body, contract: &c})
		var replay *idempotency.Replay
		if errors.As(err, &replay) {
			return events.APIGatewayV2HTTPResponse{StatusCode: replay.Status, Body: replay.Body,
				Headers: map[string]string{"Content-Type": "application/json", "Idempotent-Replayed": "true"}}, nil
		}
		if err != nil {
			return Problem(log.With("sub", caller.Sub), err), nil
		}
		if err := c.check(out); err != nil {
			return Problem(log, err), nil
		}
		return Write(out), nil
	}
}

// run calls op; a panic over an undeclared input becomes its error.
func run(ctx context.Context, op Operation, r *Request) (resp *Response, err error) {
	defer func() {
		if p := recover(); p != nil {
			u, ok := p.(undeclared)
			if !ok {
				panic(p)
			}
			resp, err = nil, u
		}
	}()
	return op(ctx, r)
}

// check returns an error when resp's status or body type is not one c declares.
func (c Contract) check(resp *Response) error {
	want, ok := c.Answers[resp.Status]
	if !ok {
		return undeclared(fmt.Sprintf("status %d is not declared by the route", resp.Status))
	}
	var got reflect.Type
	if resp.Body != nil {
		got = reflect.TypeOf(resp.Body)
		if got.Kind() == reflect.Pointer {
			got = got.Elem()
		}
	}
	if got != want {
		return undeclared(fmt.Sprintf("status %d answers %v, but the route declares %v", resp.Status, got, want))
	}
	return nil
}

// Write encodes resp as an API Gateway answer.
func Write(resp *Response) events.APIGatewayV2HTTPResponse {
	out := events.APIGatewayV2HTTPResponse{StatusCode: resp.Status, Headers: map[string]string{}}
	for k, v := range resp.Headers {
		out.Headers[k] = v
	}
	if resp.Body != nil {
		b, err := json.Marshal(resp.Body)
		if err != nil {
			return Problem(slog.Default(), err)
		}
		out.Body = string(b)
		if out.Headers["Content-Type"] == "" {
			out.Headers["Content-Type"] = "application/json"
		}
	}
	return out
}

// problem is the RFC 9457 body.
type problem struct {
	Type   string              `json:"type"`
	Title  string              `json:"title"`
	Status int                 `json:"status"`
	Detail string              `json:"detail,omitempty"`
	Code   string              `json:"code"`
	Errors []apperr.FieldError `json:"errors,omitempty"`
}

// ProblemTypeBase prefixes each problem's type URI; the code completes it.
const ProblemTypeBase = "https://rollcall.dev/problems/"

// Problem maps err to an application/problem+json answer: an *apperr.Error with its status and
// code, anything else a 500 that says nothing about the cause (which is logged).
func Problem(log *slog.Logger, err error) events.APIGatewayV2HTTPResponse {
	e, ok := apperr.As(err)
	if !ok {
		log.Error("internal error", "error", err.Error())
		e = apperr.New(http.StatusInternalServerError, apperr.CodeInternal, "an internal error occurred; try again later")
	} else if e.Status >= 500 {
		log.Error("service error", "code", e.Code, "error", err.Error())
	}
	p := problem{Type: ProblemTypeBase + e.Code, Title: e.Title, Status: e.Status, Detail: e.Detail, Code: e.Code, Errors: e.Fields}
	if p.Title == "" {
		p.Title = http.StatusText(e.Status)
	}
	body := map[string]any{}
	for k, v := range e.Extra {
		body[k] = v
	}
	b, _ := json.Marshal(p)
	_ = json.Unmarshal(b, &body)
	out, _ := json.Marshal(body)
	headers := map[string]string{"Content-Type": "application/problem+json"}
	if wait, ok := e.Extra["retryAfterSeconds"].(int); ok {
		headers["Retry-After"] = strconv.Itoa(wait)
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: e.Status, Headers: headers, Body: string(out)}
}

// ProblemBody returns the problem object for err, as batch results embed it.
func ProblemBody(err error) map[string]any {
	resp := Problem(slog.Default(), err)
	var m map[string]any
	_ = json.Unmarshal([]byte(resp.Body), &m)
	return m
}
