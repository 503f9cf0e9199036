package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"rollcall/infra/local/localtest"
)

// Against the real handlers behind the local gateway, every check passes, with and without a
// token.
func TestChecksPassAgainstTheLocalAPI(t *testing.T) {
	s := localtest.Start(t)
	var out bytes.Buffer
	if n := Run(&out, s.Client, s.URL, "", s.Token(t, "kim", "kim@example.com")); n != 0 {
		t.Fatalf("%d checks failed:\n%s", n, out.String())
	}
	if got := strings.Count(out.String(), "ok "); got != len(Checks("", "x")) {
		t.Fatalf("%d checks ran:\n%s", got, out.String())
	}
	t.Logf("\n%s", out.String())
}

// An API that lets everything through fails the checks.
func TestChecksFailAgainstAnOpenAPI(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	var out bytes.Buffer
	if n := Run(&out, srv.Client(), srv.URL, "https://portal.example.com", "tok"); n != len(Checks("https://portal.example.com", "tok")) {
		t.Fatalf("%d failures, want every check to fail:\n%s", n, out.String())
	}
}

// The checks only read.
func TestChecksAreReadOnly(t *testing.T) {
	for _, c := range Checks("https://portal.example.com", "tok") {
		if c.Method != http.MethodGet && c.Method != http.MethodOptions {
			t.Errorf("check %q uses %s", c.Name, c.Method)
		}
	}
}
