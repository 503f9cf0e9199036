// Command invoke runs a function's real bootstrap once, the way Lambda's provided.al2023 runtime
// does, and prints its answer: it serves the Lambda Runtime API (the official emulator cannot be
// installed here), starts the bootstrap with AWS_LAMBDA_RUNTIME_API pointing at it, hands it one
// event from a file, and reports the init duration (process start to its first
// /runtime/invocation/next), the invocation's duration and the memory used. `make invoke
// FN=<function> EVENT=<file>` builds the bootstrap for this machine and runs this.
//
// The function's answer goes to stdout, alone, so that it can be piped (to jq, say); the
// function's own logs and the REPORT line go to stderr. The exit status is 0 when the function
// answered, 1 for a function error, an init error, a crash or a time-out, 2 for bad usage.
//
// The function gets this process's environment plus what Lambda sets (AWS_LAMBDA_RUNTIME_API,
// AWS_LAMBDA_FUNCTION_NAME, memory size, version, log group and stream, _HANDLER,
// LAMBDA_TASK_ROOT, AWS_REGION) and, where unset, the local stack's configuration: table
// rollcall-local in DynamoDB Local on 127.0.0.1:8000, the SES v2 emulator on 127.0.0.1:8005, the
// invitation signing key in .local/invitation-signing-key, region us-east-1 and credentials
// local/local.
//
// With -seed, the new images of a stream event's INSERT and MODIFY records are first written to
// the table, so that the email function finds the invitations the sample event names (a stream
// poller running at the same time sees those writes too, and may send first: the function then
// shows the redelivery path, recorded and not sent again).
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"rollcall/shared/config"
	"rollcall/shared/email"
)

const apiPrefix = "/2018-06-01/runtime/"

func main() {
	fn := flag.String("fn", "", "function name (the folder under functions/)")
	eventFile := flag.String("event", "", "file holding the event (JSON)")
	bootstrap := flag.String("bootstrap", "", "the built bootstrap; default .local/invoke/<fn>/bootstrap")
	timeout := flag.Duration("timeout", 60*time.Second, "the function's timeout")
	memory := flag.Int("memory", 256, "the memory size reported to the function, in MB")
	seed := flag.Bool("seed", false, "write the new images of the event's stream records to the table first")
	flag.Parse()
	if *fn == "" || *eventFile == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: invoke -fn <function> -event <file> [-bootstrap path] [-timeout 60s] [-memory 256] [-seed]")
		os.Exit(2)
	}
	if *bootstrap == "" {
		*bootstrap = filepath.Join(".local", "invoke", *fn, "bootstrap")
	}
	payload, err := os.ReadFile(*eventFile)
	if err == nil && !json.Valid(payload) {
		err = fmt.Errorf("%s is not JSON", *eventFile)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "invoke:", err)
		os.Exit(2)
	}
	setLocalDefaults()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *seed {
		if err := seedTable(ctx, payload); err != nil {
			fmt.Fprintln(os.Stderr, "invoke: seed:", err)
			os.Exit(1)
		}
	}
	res, err := Run(ctx, Options{Function: *fn, Bootstrap: *bootstrap, Event: payload, Timeout: *timeout, MemoryMB: *memory,
		Stdout: os.Stderr, Stderr: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, "invoke:", err)
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, res.Report())
	if res.Body != nil {
		os.Stdout.Write(pretty(res.Body))
		fmt.Println()
	}
	if res.Outcome != OutcomeResponse {
		os.Exit(1)
	}
}

// localDefaults is the local stack's configuration, used where the environment sets nothing.
func localDefaults(root string) map[string]string {
	return map[string]string{
		config.EnvTableName:        "rollcall-local",
		config.EnvDynamoDBEndpoint: "http://127.0.0.1:8000",
		config.EnvSESEndpoint:      "http://127.0.0.1:8005",
		config.EnvSigningKeyFile:   filepath.Join(root, ".local", "invitation-signing-key"),
		config.EnvPortalURL:        "http://127.0.0.1:3000",
		"AWS_REGION":               "us-east-1",
		"AWS_DEFAULT_REGION":       "us-east-1",
		"AWS_ACCESS_KEY_ID":        "local",
		"AWS_SECRET_ACCESS_KEY":    "local",
	}
}

func setLocalDefaults() {
	root, _ := os.Getwd()
	for dir := root; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			root = dir
			break
		}
		if filepath.Dir(dir) == dir {
			break
		}
	}
	for k, v := range localDefaults(root) {
		if os.Getenv(k) == "" {
			os.Setenv(k, v)
		}
	}
}

// Outcome is how an invocation ended.
type Outcome string

// The outcomes of an invocation.
const (
	OutcomeResponse  Outcome = "response"       // the function answered
	OutcomeError     Outcome = "function error" // it reported an error (/error)
	OutcomeInitError Outcome = "init error"     // it failed to start (/init/error)
	OutcomeExit      Outcome = "exited"         // the process ended without answering
	OutcomeTimeout   Outcome = "timed out"      // no answer within the timeout
)

// Options say what to invoke.
type Options struct {
	Function  string
	Bootstrap string
	Event     []byte
	Timeout   time.Duration
	MemoryMB  int
	Env       []string  // extra environment (after this process's and Lambda's)
	Stdout    io.Writer // the function's stdout (its logs); nil discards
	Stderr    io.Writer // the function's stderr; nil discards
}

// Result is what one invocation gave.
type Result struct {
	RequestID     string
	Outcome       Outcome
	Body          []byte        // the response, or the error document
	ErrorType     string        // Lambda-Runtime-Function-Error-Type, for errors
	InitDuration  time.Duration // process start to the first /next
	Duration      time.Duration // event handed over to the answer
	MaxRSSKB      int64         // the process's peak resident memory
	BootstrapSize int64
	ExitStatus    string
}

// Report is the line Lambda logs after an invocation, plus the outcome and the binary's size.
func (r Result) Report() string {
	s := fmt.Sprintf("REPORT RequestId: %s\tInit Duration: %.2f ms\tDuration: %.2f ms\tMax Memory Used: %d MB\tBootstrap: %.2f MiB\tOutcome: %s",
		r.RequestID, ms(r.InitDuration), ms(r.Duration), (r.MaxRSSKB+1023)/1024, float64(r.BootstrapSize)/(1<<20), r.Outcome)
	if r.ErrorType != "" {
		s += "\tError Type: " + r.ErrorType
	}
	if r.ExitStatus != "" {
		s += "\tProcess: " + r.ExitStatus
	}
	return s
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// runtimeAPI is the Runtime API server for one invocation.
type runtimeAPI struct {
	requestID, fnArn string
	event            []byte
	timeout          time.Duration
	started          time.Time

	mu       sync.Mutex
	handed   bool          // the event was handed out
	initDone time.Time     // first /next
	handedAt time.Time     // when the event was handed out
	result   chan apiEvent // the function's answer or init error
	closing  chan struct{} // closed at shutdown: releases a blocked /next
}

type apiEvent struct {
	outcome   Outcome
	body      []byte
	errorType string
	at        time.Time
}

func (a *runtimeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path, ok := strings.CutPrefix(r.URL.Path, apiPrefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	switch {
	case r.Method == http.MethodGet && path == "invocation/next":
		a.next(w, r)
	case r.Method == http.MethodPost && path == "init/error":
		a.post(w, r, OutcomeInitError)
	case r.Method == http.MethodPost && strings.HasPrefix(path, "invocation/"):
		id, kind, _ := strings.Cut(strings.TrimPrefix(path, "invocation/"), "/")
		if id != a.requestID {
			writeAPIError(w, http.StatusBadRequest, "InvalidRequestID", "unknown request id "+id)
			return
		}
		switch kind {
		case "response":
			a.post(w, r, OutcomeResponse)
		case "error":
			a.post(w, r, OutcomeError)
		default:
			http.NotFound(w, r)
		}
	default:
		http.NotFound(w, r)
	}
}

// next hands out the one event; a later call (the runtime waiting for more work) blocks until
// shutdown, as Lambda freezes the process there.
func (a *runtimeAPI) next(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	now := time.Now()
	if a.initDone.IsZero() {
		a.initDone = now
	}
	handed := a.handed
	a.handed = true
	if !handed {
		a.handedAt = now
	}
	a.mu.Unlock()
	if handed {
		select {
		case <-a.closing:
		case <-r.Context().Done():
		}
		writeAPIError(w, http.StatusGone, "Shutdown", "the invocation is over")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Lambda-Runtime-Aws-Request-Id", a.requestID)
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(now.Add(a.timeout).UnixMilli(), 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", a.fnArn)
	h.Set("Lambda-Runtime-Trace-Id", "Root=1-"+strconv.FormatInt(now.Unix(), 16)+"-"+randomHex(12)+";Sampled=0")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(a.event)
}

func (a *runtimeAPI) post(w http.ResponseWriter, r *http.Request, outcome Outcome) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 6<<20+1)) // Lambda's synchronous payload limit
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
		return
	}
	if len(body) > 6<<20 {
		writeAPIError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "the response is over 6 MB")
		return
	}
	ev := apiEvent{outcome: outcome, body: body, at: time.Now(), errorType: r.Header.Get("Lambda-Runtime-Function-Error-Type")}
	if ev.errorType == "" {
		ev.errorType = r.Trailer.Get("Lambda-Runtime-Function-Error-Type")
	}
	if outcome != OutcomeResponse && ev.errorType == "" {
		var doc struct {
			ErrorType string `json:"errorType"`
		}
		_ = json.Unmarshal(body, &doc)
		ev.errorType = doc.ErrorType
	}
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write([]byte(`{"status":"OK"}`))
	select {
	case a.result <- ev:
	default: // only the first answer counts
	}
}

func writeAPIError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"errorType": typ, "errorMessage": msg})
}

// Run starts the bootstrap under a Runtime API of its own, hands it the event, and returns what
// it answered. It returns an error when the bootstrap cannot be started or the server cannot
// listen; a function that fails, crashes or times out is an Outcome, not an error.
func Run(ctx context.Context, o Options) (Result, error) {
	info, err := os.Stat(o.Bootstrap)
	if err != nil {
		return Result{}, fmt.Errorf("bootstrap: %w (build it with make invoke, or go build -tags lambda.norpc -o %s ./functions/%s)", err, o.Bootstrap, o.Function)
	}
	if o.Timeout <= 0 {
		o.Timeout = 60 * time.Second
	}
	if o.MemoryMB <= 0 {
		o.MemoryMB = 256
	}
	region := os.Getenv("AWS_REGION")
	if region == "" {
		region = "us-east-1"
	}
	api := &runtimeAPI{
		requestID: newUUID(),
		fnArn:     "arn:aws:lambda:" + region + ":000000000000:function:" + o.Function,
		event:     o.Event,
		timeout:   o.Timeout,
		result:    make(chan apiEvent, 1),
		closing:   make(chan struct{}),
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return Result{}, err
	}
	srv := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		close(api.closing)
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()

	abs, _ := filepath.Abs(o.Bootstrap)
	cmd := exec.Command(abs)
	cmd.Dir = filepath.Dir(abs)
	cmd.Stdout, cmd.Stderr = orDiscard(o.Stdout), orDiscard(o.Stderr)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Env = append(os.Environ(),
		"AWS_LAMBDA_RUNTIME_API="+ln.Addr().String(),
		"AWS_LAMBDA_FUNCTION_NAME="+o.Function,
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE="+strconv.Itoa(o.MemoryMB),
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/"+o.Function,
		"AWS_LAMBDA_LOG_STREAM_NAME="+time.Now().UTC().Format("2006/01/02")+"/[$LATEST]"+randomHex(16),
		"AWS_EXECUTION_ENV=AWS_Lambda_provided.al2023",
		"AWS_REGION="+region,
		"_HANDLER=bootstrap",
		"LAMBDA_TASK_ROOT="+cmd.Dir,
		"TZ=:UTC",
	)
	cmd.Env = append(cmd.Env, o.Env...)
	api.started = time.Now()
	if err := cmd.Start(); err != nil {
		return Result{}, fmt.Errorf("start %s: %w", o.Bootstrap, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	res := Result{RequestID: api.requestID, BootstrapSize: info.Size()}
	ev, exitErr, processDone := api.wait(ctx, exited, o.Timeout)
	if !processDone { // Lambda would freeze it; this process ends it
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case exitErr = <-exited:
		case <-time.After(2 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			exitErr = <-exited
		}
	}
	api.mu.Lock()
	if !api.initDone.IsZero() {
		res.InitDuration = api.initDone.Sub(api.started)
	}
	if !api.handedAt.IsZero() {
		res.Duration = ev.at.Sub(api.handedAt)
	}
	api.mu.Unlock()
	res.Outcome, res.Body, res.ErrorType = ev.outcome, ev.body, ev.errorType
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			res.MaxRSSKB = ru.Maxrss
		}
		if ev.outcome == OutcomeExit {
			res.ExitStatus = cmd.ProcessState.String()
		}
	} else if exitErr != nil {
		res.ExitStatus = exitErr.Error()
	}
	return res, nil
}

// initTimeout is how long the bootstrap may take to ask for its first event, as in Lambda.
const initTimeout = 10 * time.Second

// wait waits for the function's answer, its exit, the init time-out (until the first /next),
// the invocation time-out (from when the event was handed out) or ctx's end, whichever comes
// first. processDone reports that the process has exited (exitErr is then its status).
func (a *runtimeAPI) wait(ctx context.Context, exited <-chan error, timeout time.Duration) (ev apiEvent, exitErr error, processDone bool) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case ev = <-a.result:
			return ev, nil, false
		case exitErr = <-exited:
			select { // an answer posted just before exiting still counts
			case ev = <-a.result:
			default:
				ev = apiEvent{outcome: OutcomeExit, at: time.Now()}
			}
			return ev, exitErr, true
		case <-ctx.Done():
			return apiEvent{outcome: OutcomeExit, at: time.Now(), body: []byte(`{"errorMessage":"interrupted"}`)}, nil, false
		case now := <-tick.C:
			a.mu.Lock()
			initDone, handedAt := a.initDone, a.handedAt
			a.mu.Unlock()
			switch {
			case initDone.IsZero() && now.Sub(a.started) > initTimeout:
				return apiEvent{outcome: OutcomeTimeout, at: now, body: []byte(fmt.Sprintf(
					`{"errorType":"Runtime.InitTimeout","errorMessage":"no request for an event within %v of the start"}`, initTimeout))}, nil, false
			case !handedAt.IsZero() && now.Sub(handedAt) > timeout:
				return apiEvent{outcome: OutcomeTimeout, at: now, body: []byte(fmt.Sprintf(
					`{"errorType":"Runtime.Timeout","errorMessage":"Task timed out after %.2f seconds"}`, timeout.Seconds()))}, nil, false
			}
		}
	}
}

// seedTable writes the new images of the INSERT and MODIFY records of a stream event to the
// configured table. It returns an error when payload is not a stream event or a write fails.
func seedTable(ctx context.Context, payload []byte) error {
	var ev events.DynamoDBEvent
	if err := json.Unmarshal(payload, &ev); err != nil || len(ev.Records) == 0 {
		return errors.New("-seed needs a DynamoDB stream event ({\"Records\": [...]})")
	}
	cfg, err := config.FromEnv()
	if err != nil {
		return err
	}
	db := dynamodb.New(dynamodb.Options{Region: os.Getenv("AWS_REGION"), BaseEndpoint: aws.String(cfg.DynamoDBEndpoint),
		Credentials: credentials.NewStaticCredentialsProvider(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), "")})
	n := 0
	for _, r := range ev.Records {
		if r.EventName == "REMOVE" || r.Change.NewImage == nil {
			continue
		}
		item, err := email.FromStreamImage(r.Change.NewImage)
		if err != nil {
			return err
		}
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(cfg.TableName), Item: item}); err != nil {
			return fmt.Errorf("put into %s at %s: %w", cfg.TableName, cfg.DynamoDBEndpoint, err)
		}
		n++
	}
	fmt.Fprintf(os.Stderr, "seeded %d items into %s\n", n, cfg.TableName)
	return nil
}

func pretty(b []byte) []byte {
	var out bytes.Buffer
	if json.Indent(&out, b, "", "  ") == nil {
		return out.Bytes()
	}
	return b
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

func randomHex(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

func newUUID() string {
	h := randomHex(32)
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-" + h[16:20] + "-" + h[20:]
}
