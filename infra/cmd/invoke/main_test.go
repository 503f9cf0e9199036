package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testFn is testdata/fn built as make invoke builds functions: a function whose behaviour
// INVOKE_TEST_MODE chooses.
var testFn string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "invoke-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testFn = filepath.Join(dir, "bootstrap")
	if out, err := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", testFn, "./testdata/fn").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build the test function: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func testBootstrap(*testing.T) string { return testFn }

func run(t *testing.T, mode string, timeout time.Duration, event string) Result {
	t.Helper()
	res, err := Run(context.Background(), Options{Function: "test-fn", Bootstrap: testBootstrap(t), Event: []byte(event),
		Timeout: timeout, Env: []string{"INVOKE_TEST_MODE=" + mode}})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestInvokeReturnsTheResponse(t *testing.T) {
	res := run(t, "echo", 10*time.Second, `{"hello":"world"}`)
	if res.Outcome != OutcomeResponse || string(res.Body) != `{"hello":"world"}` {
		t.Fatalf("result %+v, body %s", res, res.Body)
	}
	if res.InitDuration <= 0 || res.InitDuration > 5*time.Second || res.Duration <= 0 || res.MaxRSSKB <= 0 || res.BootstrapSize <= 0 {
		t.Fatalf("figures %+v", res)
	}
	if r := res.Report(); !strings.HasPrefix(r, "REPORT RequestId: "+res.RequestID) || !strings.Contains(r, "Init Duration: ") {
		t.Fatalf("report %q", r)
	}
}

func TestInvokeGivesTheLambdaContext(t *testing.T) {
	res := run(t, "context", 30*time.Second, `{}`)
	var got struct {
		RequestID, FunctionArn, FunctionName, Region string
		SecondsLeft                                  float64
		Memory                                       int
	}
	if err := json.Unmarshal(res.Body, &got); err != nil {
		t.Fatalf("%s: %v", res.Body, err)
	}
	if got.RequestID != res.RequestID || got.FunctionName != "test-fn" || !strings.HasSuffix(got.FunctionArn, ":function:test-fn") ||
		got.Memory != 256 || got.Region == "" || got.SecondsLeft < 25 || got.SecondsLeft > 30 {
		t.Fatalf("context %+v", got)
	}
}

func TestInvokeReportsFailures(t *testing.T) {
	for _, tc := range []struct {
		mode    string
		timeout time.Duration
		want    Outcome
		body    string
	}{
		{"error", 10 * time.Second, OutcomeError, "it failed"},
		{"panic", 10 * time.Second, OutcomeError, "it panicked"},
		{"init-fail", 10 * time.Second, OutcomeExit, ""},
		{"sleep", 500 * time.Millisecond, OutcomeTimeout, "Task timed out after 0.50 seconds"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			start := time.Now()
			res := run(t, tc.mode, tc.timeout, `{}`)
			if res.Outcome != tc.want || !strings.Contains(string(res.Body), tc.body) {
				t.Fatalf("outcome %q body %s, want %q with %q", res.Outcome, res.Body, tc.want, tc.body)
			}
			if tc.mode == "init-fail" && !strings.Contains(res.ExitStatus, "exit status 3") {
				t.Fatalf("exit status %q", res.ExitStatus)
			}
			if tc.mode == "error" && res.ErrorType != "errorString" {
				t.Fatalf("error type %q", res.ErrorType)
			}
			if time.Since(start) > 4*time.Second {
				t.Fatalf("took %v: the process was not ended promptly", time.Since(start))
			}
		})
	}
}

func TestInvokeNeedsABootstrap(t *testing.T) {
	_, err := Run(context.Background(), Options{Function: "nope", Bootstrap: filepath.Join(t.TempDir(), "bootstrap"), Event: []byte(`{}`)})
	if err == nil || !strings.Contains(err.Error(), "make invoke") {
		t.Fatalf("err = %v", err)
	}
}
