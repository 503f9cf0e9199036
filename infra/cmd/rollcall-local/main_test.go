package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"rollcall/shared/config"
	"rollcall/shared/testenv"
)

func TestTestEnvVariable(t *testing.T) {
	if envTestDynamoDB != testenv.EnvEndpoint {
		t.Fatalf("envTestDynamoDB = %s, testenv reads %s", envTestDynamoDB, testenv.EnvEndpoint)
	}
}

// TestDevStack runs every service of `dev` against the tests' DynamoDB Local (which `dev` finds
// already running and leaves alone), on a table of its own and an API on any free port.
func TestDevStack(t *testing.T) {
	testenv.DB(t) // fails with instructions when DynamoDB Local is not running
	u, err := url.Parse(testenv.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatalf("%s has no port: %v", testenv.Endpoint(), err)
	}
	tableName := "dev_" + strings.ReplaceAll(strings.ToLower(t.Name()), "/", "_") + strconv.FormatInt(time.Now().UnixNano(), 36)
	env := map[string]string{config.EnvTableName: tableName}
	sesPort := freePort(t) // not the default 8005, which a running `make dev` may use
	s, err := newStack(t.TempDir(), "127.0.0.1:0", port, sesPort, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	stop, err := s.start(t.Context())
	t.Cleanup(func() {
		stop()
		_, _ = s.db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(tableName)})
	})
	if err != nil {
		t.Fatal(err)
	}
	banner := strings.Join(s.endpoint, "\n")
	for _, want := range []string{"already running", tableName + " (created)", "http://" + s.addr, "http://127.0.0.1:" + strconv.Itoa(sesPort)} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lines %q lack %q", banner, want)
		}
	}

	// A second start finds the table.
	if _, err := createTable(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	if last := s.endpoint[len(s.endpoint)-1]; !strings.Contains(last, "(exists)") {
		t.Errorf("second createTable announced %q, want (exists)", last)
	}

	tok, err := s.signer.Mint("op", "op@example.com", true, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", "http://"+s.addr+"/catalog", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"roles"`) {
		t.Fatalf("GET /catalog through dev: %d %s", resp.StatusCode, body)
	}
	resp, err = http.Post("http://"+s.addr+"/accounts", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("POST /accounts without a token through dev: %d, want 401", resp.StatusCode)
	}
}

// freePort returns a port nothing listens on now, picked by the kernel.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
