package local

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"rollcall/shared/httpapi"
	"rollcall/shared/routes"
)

// fakeAPI serves every route with one handler that records what it was sent and answers with
// the function's name, unless a test sets answer.
type fakeAPI struct {
	mu     sync.Mutex
	got    []events.APIGatewayV2HTTPRequest
	lc     []*lambdacontext.LambdaContext
	answer func(fn string, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)
}

func (f *fakeAPI) handlers() map[string]httpapi.Handler {
	hs := map[string]httpapi.Handler{}
	for _, r := range routes.All {
		fn := r.Function
		hs[fn] = func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
			lc, _ := lambdacontext.FromContext(ctx)
			f.mu.Lock()
			f.got = append(f.got, req)
			f.lc = append(f.lc, lc)
			answer := f.answer
			f.mu.Unlock()
			if answer != nil {
				return answer(fn, req)
			}
			return events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "application/json"},
				Body: `{"function":"` + fn + `"}`}, nil
		}
	}
	return hs
}

func (f *fakeAPI) last(t *testing.T) events.APIGatewayV2HTTPRequest {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.got) == 0 {
		t.Fatal("the function was not invoked")
	}
	return f.got[len(f.got)-1]
}

type gatewayTest struct {
	*testing.T
	api    *fakeAPI
	signer *Signer
	url    string
	logs   *bytes.Buffer
}

func startGateway(t *testing.T) *gatewayTest {
	t.Helper()
	api := &fakeAPI{}
	signer := testSigner(t)
	logs := &bytes.Buffer{}
	var mu sync.Mutex
	gw, err := NewGateway(api.handlers(), signer, slog.New(slog.NewTextHandler(lockedWriter{&mu, logs}, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	return &gatewayTest{T: t, api: api, signer: signer, url: srv.URL, logs: logs}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (g *gatewayTest) token(operator bool) string {
	tok, err := g.signer.Mint("alice", "alice@example.com", operator, time.Hour)
	if err != nil {
		g.Fatal(err)
	}
	return tok
}

// do sends a request and returns the answer with its body read.
func (g *gatewayTest) do(req *http.Request) (*http.Response, string) {
	g.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		g.Fatal(err)
	}
	return resp, string(b)
}

func (g *gatewayTest) request(method, path, token string, body io.Reader) *http.Request {
	req, err := http.NewRequest(method, g.url+path, body)
	if err != nil {
		g.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req
}

func TestGatewayBuildsAPIGatewayEvent(t *testing.T) {
	g := startGateway(t)
	req := g.request("POST", "/accounts/acc_1/contacts?tag=a&tag=b&q=x%20y&empty=", g.token(true), strings.NewReader(`{"email":"a@example.com"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "rollcall-test/1")
	req.Header.Add("X-Multi", "one")
	req.Header.Add("X-Multi", "two")
	req.Header.Set("Idempotency-Key", "k1")
	req.Header.Set("Cookie", "a=1; b=2")
	resp, body := g.do(req)
	if resp.StatusCode != 200 || body != `{"function":"create-contact"}` {
		t.Fatalf("answer %d %s", resp.StatusCode, body)
	}
	ev := g.api.last(t)

	check := func(name string, got, want any) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	check("version", ev.Version, "2.0")
	check("routeKey", ev.RouteKey, "POST /accounts/{accountId}/contacts")
	check("rawPath", ev.RawPath, "/accounts/acc_1/contacts")
	check("rawQueryString", ev.RawQueryString, "tag=a&tag=b&q=x%20y&empty=")
	check("queryStringParameters", ev.QueryStringParameters, map[string]string{"tag": "a,b", "q": "x y", "empty": ""})
	check("pathParameters", ev.PathParameters, map[string]string{"accountId": "acc_1"})
	check("cookies", ev.Cookies, []string{"a=1", "b=2"})
	check("body", ev.Body, `{"email":"a@example.com"}`)
	check("isBase64Encoded", ev.IsBase64Encoded, false)
	for k, want := range map[string]string{
		"content-type": "application/json", "user-agent": "rollcall-test/1", "x-multi": "one,two",
		"idempotency-key": "k1", "authorization": "Bearer " + req.Header.Get("Authorization")[7:],
		"host": strings.TrimPrefix(g.url, "http://"), "x-forwarded-for": "127.0.0.1", "x-forwarded-proto": "http",
	} {
		check("header "+k, ev.Headers[k], want)
	}
	for k := range ev.Headers {
		if k != strings.ToLower(k) || k == "cookie" {
			t.Errorf("header %q: API Gateway lower-cases names and moves cookies out", k)
		}
	}
	rc := ev.RequestContext
	check("requestContext.routeKey", rc.RouteKey, ev.RouteKey)
	check("requestContext.stage", rc.Stage, "$default")
	check("requestContext.http.method", rc.HTTP.Method, "POST")
	check("requestContext.http.path", rc.HTTP.Path, "/accounts/acc_1/contacts")
	check("requestContext.http.protocol", rc.HTTP.Protocol, "HTTP/1.1")
	check("requestContext.http.sourceIp", rc.HTTP.SourceIP, "127.0.0.1")
	check("requestContext.http.userAgent", rc.HTTP.UserAgent, "rollcall-test/1")
	if rc.RequestID == "" || resp.Header.Get("Apigw-Requestid") != rc.RequestID {
		t.Errorf("requestId %q, apigw-requestid header %q: want the same, set", rc.RequestID, resp.Header.Get("Apigw-Requestid"))
	}
	if d := time.Since(time.UnixMilli(rc.TimeEpoch)); d < 0 || d > time.Minute {
		t.Errorf("timeEpoch %d is not now", rc.TimeEpoch)
	}
	if _, err := time.Parse("02/Jan/2006:15:04:05 -0700", rc.Time); err != nil {
		t.Errorf("time %q is not in API Gateway's format: %v", rc.Time, err)
	}
	if rc.Authorizer == nil || rc.Authorizer.JWT == nil {
		t.Fatal("no authorizer.jwt in the request context")
	}
	claims := rc.Authorizer.JWT.Claims
	check("claim sub", claims["sub"], "alice")
	check("claim email", claims["email"], "alice@example.com")
	check("claim cognito:groups", claims["cognito:groups"], "[operators]")

	g.api.mu.Lock()
	lc := g.api.lc[len(g.api.lc)-1]
	g.api.mu.Unlock()
	if lc == nil || lc.AwsRequestID == "" || !strings.HasSuffix(lc.InvokedFunctionArn, ":function:rollcall-local-create-contact") {
		t.Errorf("lambda context = %+v, want a request id and the function's ARN", lc)
	}
	// The function ran and wrote its own request line, so the gateway's access line is DEBUG.
	if !strings.Contains(g.logs.String(), "level=DEBUG msg=request method=POST path=/accounts/acc_1/contacts status=200") {
		t.Errorf("no DEBUG access line: %s", g.logs.String())
	}
}

func TestGatewayEventOmitsWhatAPIGatewayOmits(t *testing.T) {
	g := startGateway(t)
	g.do(g.request("GET", "/catalog", g.token(false), nil))
	ev := g.api.last(t)
	if ev.QueryStringParameters != nil || ev.PathParameters != nil || ev.Body != "" || ev.Cookies != nil {
		t.Errorf("event = %+v, want no query, path parameters, body or cookies", ev)
	}
	raw, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"queryStringParameters"`, `"pathParameters"`, `"body"`} {
		if strings.Contains(string(raw), key) {
			t.Errorf("event JSON has %s: %s", key, raw)
		}
	}
}

func TestGatewayDecodesPathParameters(t *testing.T) {
	g := startGateway(t)
	resp, body := g.do(g.request("GET", "/accounts/acc%201/contacts/con_2", g.token(false), nil))
	if resp.StatusCode != 200 {
		t.Fatalf("answer %d %s", resp.StatusCode, body)
	}
	ev := g.api.last(t)
	if ev.PathParameters["accountId"] != "acc 1" || ev.PathParameters["contactId"] != "con_2" || ev.RawPath != "/accounts/acc%201/contacts/con_2" {
		t.Errorf("pathParameters %v, rawPath %q", ev.PathParameters, ev.RawPath)
	}
	if ev.RouteKey != "GET /accounts/{accountId}/contacts/{contactId}" {
		t.Errorf("routeKey %q", ev.RouteKey)
	}
}

func TestGatewayBase64EncodesBinaryBodies(t *testing.T) {
	g := startGateway(t)
	bin := []byte{0xff, 0x00, 0x01, 'a'}
	req := g.request("POST", "/accounts", g.token(true), bytes.NewReader(bin))
	req.Header.Set("Content-Type", "application/octet-stream")
	g.do(req)
	ev := g.api.last(t)
	if !ev.IsBase64Encoded || ev.Body != base64.StdEncoding.EncodeToString(bin) {
		t.Errorf("body %q (base64 %v), want base64 of the bytes", ev.Body, ev.IsBase64Encoded)
	}
}

// problem reads a problem+json answer and checks its status and code.
func checkProblem(t *testing.T, resp *http.Response, body string, status int, code string) {
	t.Helper()
	if resp.StatusCode != status || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("answer %d %s %s, want %d problem+json", resp.StatusCode, resp.Header.Get("Content-Type"), body, status)
	}
	var p struct {
		Status int    `json:"status"`
		Code   string `json:"code"`
	}
	if err := json.Unmarshal([]byte(body), &p); err != nil || p.Status != status || p.Code != code {
		t.Fatalf("problem %s, want status %d code %s", body, status, code)
	}
}

func TestGatewayRefusals(t *testing.T) {
	g := startGateway(t)
	expired := g.signer
	expiredTok, err := expired.Sign(map[string]any{"iss": expired.Issuer, "aud": expired.Audience, "sub": "a", "exp": time.Now().Add(-time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	other := testSigner(t)
	foreign, err := other.Mint("alice", "", true, time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("no token", func(t *testing.T) {
		resp, body := g.do(g.request("GET", "/catalog", "", nil))
		checkProblem(t, resp, body, 401, "unauthorized")
		if resp.Header.Get("WWW-Authenticate") == "" {
			t.Error("no WWW-Authenticate header")
		}
	})
	for name, tok := range map[string]string{"expired": expiredTok, "other key": foreign, "garbage": "abc"} {
		t.Run(name, func(t *testing.T) {
			resp, body := g.do(g.request("GET", "/catalog", tok, nil))
			checkProblem(t, resp, body, 401, "unauthorized")
		})
	}
	t.Run("token without Bearer prefix", func(t *testing.T) {
		req := g.request("GET", "/catalog", "", nil)
		req.Header.Set("Authorization", g.token(false))
		if resp, body := g.do(req); resp.StatusCode != 200 {
			t.Fatalf("answer %d %s; API Gateway takes a bare token too", resp.StatusCode, body)
		}
	})
	t.Run("unknown path", func(t *testing.T) {
		resp, body := g.do(g.request("GET", "/nope", g.token(false), nil))
		checkProblem(t, resp, body, 404, "not_found")
		// No function ran, so the gateway's own line is the request's only one: INFO.
		if !strings.Contains(g.logs.String(), "level=INFO msg=request method=GET path=/nope status=404") {
			t.Errorf("no INFO access line for the gateway's own answer: %s", g.logs.String())
		}
	})
	t.Run("unknown path before token", func(t *testing.T) {
		resp, body := g.do(g.request("GET", "/nope", "", nil))
		checkProblem(t, resp, body, 404, "not_found")
	})
	t.Run("wrong method", func(t *testing.T) {
		resp, body := g.do(g.request("DELETE", "/accounts", g.token(true), nil))
		checkProblem(t, resp, body, 405, "method_not_allowed")
		if got := resp.Header.Get("Allow"); got != "GET, POST" {
			t.Errorf("Allow = %q, want GET, POST", got)
		}
	})
	t.Run("body over 10 MB", func(t *testing.T) {
		big := bytes.Repeat([]byte("a"), MaxRequestBytes+1)
		resp, body := g.do(g.request("POST", "/accounts", g.token(true), bytes.NewReader(big)))
		checkProblem(t, resp, body, 413, "payload_too_large")
	})
	g.api.mu.Lock()
	defer g.api.mu.Unlock()
	if n := len(g.api.got); n != 1 {
		t.Errorf("the function was invoked %d times, want once (only the bare-token request)", n)
	}
}

func TestGatewayWritesFunctionAnswers(t *testing.T) {
	g := startGateway(t)
	cases := map[string]struct {
		answer     events.APIGatewayV2HTTPResponse
		err        error
		panics     bool
		status     int
		body       string
		header     string // "Name: value" expected
		noCookie   bool
		wantCookie []string
	}{
		"plain": {
			answer: events.APIGatewayV2HTTPResponse{StatusCode: 201, Headers: map[string]string{"ETag": `"1"`, "Content-Type": "application/json"}, Body: `{"id":"x"}`},
			status: 201, body: `{"id":"x"}`, header: `Etag: "1"`,
		},
		"base64": {
			answer: events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: base64.StdEncoding.EncodeToString([]byte{1, 2, 3}), IsBase64Encoded: true},
			status: 200, body: "\x01\x02\x03",
		},
		"cookies": {
			answer:     events.APIGatewayV2HTTPResponse{StatusCode: 204, Cookies: []string{"a=1", "b=2; Path=/"}},
			status:     204,
			wantCookie: []string{"a=1", "b=2; Path=/"},
		},
		"no content type is not sniffed": {
			answer: events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: "<html>"},
			status: 200, body: "<html>", header: "Content-Type: ",
		},
		"a large body with its length, not chunked": {
			answer: events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "application/json"}, Body: `"` + strings.Repeat("x", 4998) + `"`},
			status: 200, header: "Content-Length: 5000",
		},
		"handler error": {err: errors.New("boom"), status: 500, header: "Content-Type: application/problem+json"},
		"handler panic": {panics: true, status: 500, header: "Content-Type: application/problem+json"},
		"bad status":    {answer: events.APIGatewayV2HTTPResponse{StatusCode: 42}, status: 500},
		"bad base64":    {answer: events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: "!!", IsBase64Encoded: true}, status: 500},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			g.api.mu.Lock()
			g.api.answer = func(string, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
				if c.panics {
					panic("boom")
				}
				return c.answer, c.err
			}
			g.api.mu.Unlock()
			resp, body := g.do(g.request("GET", "/catalog", g.token(false), nil))
			if resp.StatusCode != c.status || (c.body != "" && body != c.body) {
				t.Fatalf("answer %d %q, want %d %q", resp.StatusCode, body, c.status, c.body)
			}
			if c.header != "" {
				k, v, _ := strings.Cut(c.header, ": ")
				if got := resp.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if c.wantCookie != nil && fmt.Sprint(resp.Header.Values("Set-Cookie")) != fmt.Sprint(c.wantCookie) {
				t.Errorf("Set-Cookie = %v, want %v", resp.Header.Values("Set-Cookie"), c.wantCookie)
			}
		})
	}
}

func TestDecodeResponseInfersJSON(t *testing.T) {
	// A function that returns any JSON without statusCode: API Gateway answers 200 with it.
	resp := decodeResponse([]byte(`{"hello":"world"}` + "\n"))
	if resp.StatusCode != 200 || resp.Body != `{"hello":"world"}` || resp.Headers["Content-Type"] != "application/json" {
		t.Errorf("decodeResponse = %+v", resp)
	}
}

// decodeResponse decodes an answer once: statusCode and the other fields come from the same
// pass, and nothing it returns aliases the bytes it was given (the gateway hands them back to the
// function's pool right after).
func TestDecodeResponseReadsEveryFieldWithoutAliasing(t *testing.T) {
	out := []byte(`{"statusCode":201,"headers":{"ETag":"\"2\""},"cookies":["a=1"],"body":"{\"id\":\"x\"}","isBase64Encoded":false}`)
	resp := decodeResponse(out)
	for i := range out {
		out[i] = 'X'
	}
	if resp.StatusCode != 201 || resp.Headers["ETag"] != `"2"` || len(resp.Cookies) != 1 || resp.Cookies[0] != "a=1" || resp.Body != `{"id":"x"}` {
		t.Errorf("decodeResponse = %+v", resp)
	}
	// statusCode 0 is present (API Gateway then answers 500, see writeResponse), not absent.
	if resp := decodeResponse([]byte(`{"statusCode":0,"body":"b"}`)); resp.StatusCode != 0 || resp.Body != "b" {
		t.Errorf("decodeResponse of statusCode 0 = %+v", resp)
	}
}

// Concurrent requests to one function each get their own answer: lambda.Handler reuses its output
// buffer, so the gateway must not share one handler instance between concurrent invocations.
// Sharing one shows up reliably under -race (make test TESTFLAGS=-race).
func TestGatewayConcurrentInvocations(t *testing.T) {
	g := startGateway(t)
	g.api.answer = func(_ string, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		time.Sleep(time.Millisecond)
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: strings.Repeat(req.QueryStringParameters["n"], 64)}, nil
	}
	tok := g.token(false)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			n := fmt.Sprint(i % 10)
			resp, body := g.do(g.request("GET", "/catalog?n="+n, tok, nil))
			if resp.StatusCode != 200 || body != strings.Repeat(n, 64) {
				t.Errorf("request %d got %d %q", i, resp.StatusCode, body)
			}
		})
	}
	wg.Wait()
}

func TestNewGatewayNeedsEveryRoute(t *testing.T) {
	hs := (&fakeAPI{}).handlers()
	delete(hs, "get-catalog")
	_, err := NewGateway(hs, testSigner(t), nil)
	if err == nil || !strings.Contains(err.Error(), "GET /catalog (get-catalog)") {
		t.Fatalf("NewGateway without get-catalog = %v, want an error naming the route", err)
	}
}
