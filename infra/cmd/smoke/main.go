// Command smoke runs read-only checks against a deployed rollcall API (`make smoke STAGE=…
// URL=…`), or the local one: it changes nothing, so it is safe against prod right after a deploy.
//
//	smoke -url https://abc.execute-api.eu-west-1.amazonaws.com [-origin https://portal.example.com] [-token $TOKEN]
//
// Without a token it checks that the API answers, that it refuses a request without a token
// (401), that an unknown path is 404, and (with -origin) that CORS preflights from the portal
// are allowed. With a token (an ID token of any login; ROLLCALL_SMOKE_TOKEN also works) it also
// reads GET /catalog and GET /me/accounts. It prints one line per check and exits 1 when one
// fails.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	fs := flag.NewFlagSet("smoke", flag.ExitOnError)
	url := fs.String("url", "", "base URL of the API (the stack's ApiUrl output)")
	origin := fs.String("origin", "", "the portal's origin, to check CORS preflights (optional)")
	token := fs.String("token", os.Getenv("ROLLCALL_SMOKE_TOKEN"), "an ID token, to check authenticated reads (optional)")
	_ = fs.Parse(os.Args[1:])
	if *url == "" {
		fmt.Fprintln(os.Stderr, "smoke: -url is required: the stack's ApiUrl output (make smoke STAGE=<stage> URL=<ApiUrl>)")
		os.Exit(2)
	}
	failed := Run(os.Stdout, &http.Client{Timeout: 15 * time.Second}, *url, *origin, *token)
	if failed > 0 {
		fmt.Fprintf(os.Stderr, "smoke: %d check(s) failed\n", failed)
		os.Exit(1)
	}
}

// Check is one read-only request and what its answer must be.
type Check struct {
	Name   string
	Method string
	Path   string
	Header map[string]string
	// Want checks the answer; it returns "" when it is right, else what is wrong.
	Want func(status int, h http.Header, body []byte) string
}

// Checks returns the checks for origin and token (either may be empty).
func Checks(origin, token string) []Check {
	status := func(want int) func(int, http.Header, []byte) string {
		return func(got int, _ http.Header, body []byte) string {
			if got != want {
				return fmt.Sprintf("status %d, want %d (%s)", got, want, snippet(body))
			}
			return ""
		}
	}
	checks := []Check{
		{Name: "a request without a token is refused", Method: "GET", Path: "/catalog", Want: status(http.StatusUnauthorized)},
		{Name: "a bad token is refused", Method: "GET", Path: "/me/accounts", Header: map[string]string{"Authorization": "Bearer not-a-token"}, Want: status(http.StatusUnauthorized)},
		{Name: "an unknown path is not found", Method: "GET", Path: "/smoke-test-no-such-route", Want: status(http.StatusNotFound)},
	}
	if origin != "" {
		checks = append(checks, Check{Name: "CORS preflight from the portal is allowed", Method: "OPTIONS", Path: "/me/accounts",
			Header: map[string]string{"Origin": origin, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"},
			Want: func(got int, h http.Header, body []byte) string {
				if got < 200 || got > 299 {
					return fmt.Sprintf("status %d (%s)", got, snippet(body))
				}
				if a := h.Get("Access-Control-Allow-Origin"); a != origin && a != "*" {
					return fmt.Sprintf("Access-Control-Allow-Origin %q, want %q", a, origin)
				}
				return ""
			}})
	}
	if token != "" {
		auth := map[string]string{"Authorization": "Bearer " + token}
		checks = append(checks,
			Check{Name: "the catalog is readable", Method: "GET", Path: "/catalog", Header: auth,
				Want: func(got int, _ http.Header, body []byte) string {
					var c struct{ Roles []any }
					if got != http.StatusOK || json.Unmarshal(body, &c) != nil || len(c.Roles) == 0 {
						return fmt.Sprintf("status %d, want 200 with roles (%s)", got, snippet(body))
					}
					return ""
				}},
			Check{Name: "the caller's accounts are readable", Method: "GET", Path: "/me/accounts", Header: auth,
				Want: func(got int, _ http.Header, body []byte) string {
					var p struct{ Items *[]any }
					if got != http.StatusOK || json.Unmarshal(body, &p) != nil || p.Items == nil {
						return fmt.Sprintf("status %d, want 200 with items (%s)", got, snippet(body))
					}
					return ""
				}})
	}
	return checks
}

// Run runs the checks against base with client, printing one line per check to out, and
// returns how many failed.
func Run(out io.Writer, client *http.Client, base, origin, token string) int {
	base = strings.TrimRight(base, "/")
	failed := 0
	for _, c := range Checks(origin, token) {
		req, err := http.NewRequest(c.Method, base+c.Path, nil)
		if err != nil {
			fmt.Fprintf(out, "FAIL  %s: %v\n", c.Name, err)
			failed++
			continue
		}
		for k, v := range c.Header {
			req.Header.Set(k, v)
		}
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			fmt.Fprintf(out, "FAIL  %s: %v\n", c.Name, err)
			failed++
			continue
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if msg := c.Want(resp.StatusCode, resp.Header, body); msg != "" {
			fmt.Fprintf(out, "FAIL  %s (%s %s): %s\n", c.Name, c.Method, c.Path, msg)
			failed++
			continue
		}
		fmt.Fprintf(out, "ok    %s (%s %s, %d, %s)\n", c.Name, c.Method, c.Path, resp.StatusCode, time.Since(start).Round(time.Millisecond))
	}
	return failed
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
