package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"rollcall/infra/local"
	"rollcall/shared/config"
	"rollcall/shared/testenv"
)

func TestTestEnvVariable(t *testing.T) {
	if envTestDynamoDB != testenv.EnvEndpoint {
		t.Fatalf("envTestDynamoDB = %s, testenv reads %s", envTestDynamoDB, testenv.EnvEndpoint)
	}
}

// TestDevStack runs every service of `dev` against the tests' DynamoDB Local (passed as
// -dynamodb would, so dev uses it and leaves it alone), on a table of its own, an SES v2 emulator
// and an API on free ports.
func TestDevStack(t *testing.T) {
	testenv.DB(t) // fails with instructions when DynamoDB Local is not running
	tableName := "dev_" + strings.ReplaceAll(strings.ToLower(t.Name()), "/", "_") + strconv.FormatInt(time.Now().UnixNano(), 36)
	env := map[string]string{config.EnvTableName: tableName}
	sesPort := freePort(t) // not the default 8005, which a running `make dev` may use
	o := devOptions{addr: "127.0.0.1:0", dynURL: testenv.Endpoint(), sesPort: sesPort}
	s, err := newStack(t.TempDir(), o, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
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
	for _, want := range []string{"yours, as asked", tableName + " (created)", "http://" + s.addr, "http://127.0.0.1:" + strconv.Itoa(sesPort)} {
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

	testCORS(t, s)
	resp, err = http.Get("http://" + s.addr + "/docs/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "swagger-ui-bundle.js") {
		t.Errorf("GET /docs/ through dev: %d %.200s", resp.StatusCode, body)
	}
	testSeed(t, s)
}

// testCORS: the stack answers a preflight from a stage's portal (cdk.json) before any token
// check, and marks answers to it, as API Gateway does for the deployed API.
func testCORS(t *testing.T, s *stack) {
	root, _ := local.RepoRoot()
	origins, err := local.CORSOrigins(root)
	if err != nil || len(origins) == 0 {
		t.Fatalf("CORS origins: %v, %v", origins, err)
	}
	req, _ := http.NewRequest("OPTIONS", "http://"+s.addr+"/accounts", nil)
	req.Header.Set("Origin", origins[0])
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != origins[0] {
		t.Errorf("preflight through dev: %d %v", resp.StatusCode, resp.Header)
	}
	req, _ = http.NewRequest("GET", "http://"+s.addr+"/catalog", nil)
	req.Header.Set("Origin", origins[0])
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || resp.Header.Get("Access-Control-Allow-Origin") != origins[0] {
		t.Errorf("GET /catalog without a token from the portal: %d %v, want 401 the page can read", resp.StatusCode, resp.Header)
	}
}

// testSeed runs make seed's code against a running stack, twice, and uses what it prints.
func testSeed(t *testing.T, s *stack) {
	var out bytes.Buffer
	if err := seed(t.Context(), &out, s.signer, "http://"+s.addr, s.cfg.SESEndpoint, time.Hour); err != nil {
		t.Fatalf("seed: %v\n%s", err, out.String())
	}
	vars := map[string]string{}
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if !ok || !strings.HasPrefix(line, "export ") {
			t.Fatalf("seed printed %q: neither a comment nor an export line", line)
		}
		vars[k] = strings.Fields(v)[0]
	}
	for _, k := range []string{"API", "OP", "OLIVIA", "UMA", "VICTOR", "PAULA", "GLOBEX", "INITECH"} {
		if vars[k] == "" {
			t.Fatalf("seed printed no %s:\n%s", k, out.String())
		}
	}
	list := func(token, path string, want int) {
		t.Helper()
		code, body := call(t, s, "GET", path, token, "")
		var page struct{ Items []json.RawMessage }
		if err := json.Unmarshal([]byte(body), &page); code != 200 || err != nil || len(page.Items) != want {
			t.Errorf("GET %s: %d, %d items, want 200 and %d: %s", path, code, len(page.Items), want, body)
		}
	}
	list(vars["UMA"], "/accounts/"+vars["GLOBEX"]+"/contacts", 5) // a user with contacts:read
	list(vars["OLIVIA"], "/accounts/"+vars["GLOBEX"]+"/users", 3) // the owner and two users who accepted
	list(vars["OP"], "/accounts/"+vars["GLOBEX"]+"/sites", 2)     // the main site and one more
	code, body := call(t, s, "GET", "/me/accounts", vars["PAULA"], "")
	if code != 200 || !strings.Contains(body, `"type":"partner"`) || !strings.Contains(body, `"role":"owner"`) {
		t.Errorf("the partner's owner: GET /me/accounts = %d %s", code, body)
	}
	if link, err := latestInviteLink(t.Context(), s.cfg.SESEndpoint, "TESS.TECH@globex.example", 10*time.Second); err != nil ||
		!strings.Contains(link, "/invitations/accept?token="+vars["GLOBEX"]) {
		t.Errorf("the welcome link of a related contact: %q, %v", link, err)
	}

	var again bytes.Buffer
	if err := seed(t.Context(), &again, s.signer, "http://"+s.addr, s.cfg.SESEndpoint, time.Hour); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(again.String(), "there already") || !strings.Contains(again.String(), "export GLOBEX="+vars["GLOBEX"]+"\n") {
		t.Errorf("a second seed printed:\n%s", again.String())
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

// TestDevKeepsDataAcrossRestarts runs `dev` three times on one data folder, as make dev, stop,
// make dev would: the data is still there, an email sent before a restart is not sent again, and
// a change made while no poller ran (as when dev stops right after a write) is emailed by the
// next one. While a stack runs, a second one on the same folder is refused, and so is a reset.
func TestDevKeepsDataAcrossRestarts(t *testing.T) {
	state := t.TempDir()
	o := devOptions{addr: "127.0.0.1:0", dynPort: freePort(t), sesPort: freePort(t), dataDir: filepath.Join(state, "dynamodb")}
	noEnv := func(string) (string, bool) { return "", false }
	run := func(list []service, f func(s *stack, op string)) {
		t.Helper()
		s, err := newStack(state, o, noEnv)
		if err != nil {
			t.Fatal(err)
		}
		stop, err := s.startServices(t.Context(), list)
		defer stop()
		if err != nil {
			t.Fatal(err)
		}
		op, err := s.signer.Mint("op", "op@example.com", true, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		f(s, op)
	}
	var accA, accB string
	createAccount := func(s *stack, op, name, owner string) string {
		t.Helper()
		code, body := call(t, s, "POST", "/accounts", op,
			`{"name":"`+name+`","owner":{"firstName":"O","lastName":"Wner","email":"`+owner+`"}}`)
		if code != 201 {
			t.Fatalf("create account %s: %d %s", name, code, body)
		}
		var acc struct{ ID string }
		if err := json.Unmarshal([]byte(body), &acc); err != nil || acc.ID == "" {
			t.Fatalf("create account: %s: %v", body, err)
		}
		return acc.ID
	}

	run(services, func(s *stack, op string) {
		accA = createAccount(s, op, "Restart A", "owner-a@restart.example")
		waitMail(t, s, "owner-a@restart.example")

		other := *s // a second stack on the same data folder
		other.opts.dynPort = freePort(t)
		if _, err := startDynamoDB(t.Context(), &other); !errors.Is(err, local.ErrDataDirInUse) {
			t.Errorf("a second stack on %s: %v, want ErrDataDirInUse", o.dataDir, err)
		}
		if err := runReset([]string{"-data", o.dataDir}); !errors.Is(err, local.ErrDataDirInUse) {
			t.Errorf("reset while dev runs: %v, want ErrDataDirInUse", err)
		}
	})
	withoutPoller := slices.DeleteFunc(slices.Clone(services), func(s service) bool { return s.name == "stream poller" })
	run(withoutPoller, func(s *stack, op string) {
		if code, body := call(t, s, "GET", "/accounts/"+accA, op, ""); code != 200 {
			t.Errorf("account A after a restart: %d %s", code, body)
		}
		accB = createAccount(s, op, "Restart B", "owner-b@restart.example")
	})
	run(services, func(s *stack, op string) {
		for _, id := range []string{accA, accB} {
			if code, body := call(t, s, "GET", "/accounts/"+id, op, ""); code != 200 {
				t.Errorf("account %s after two restarts: %d %s", id, code, body)
			}
		}
		waitMail(t, s, "owner-b@restart.example") // written while no poller ran: not lost
		// The stream is read in order, so A's records came before B's: an email to A now would
		// be a second one.
		emails, err := local.SESInbox(t.Context(), s.cfg.SESEndpoint)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range emails {
			if slices.Contains(e.Destination.To, "owner-a@restart.example") {
				t.Errorf("the owner invitation of A was sent again after a restart: %q", e.Subject)
			}
		}
	})
}

// call sends a request to the stack's API and returns the status and body.
func call(t *testing.T, s *stack, method, path, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+s.addr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitMail waits up to 20 s for an email to address in the stack's SES emulator.
func waitMail(t *testing.T, s *stack, to string) local.SESEmail {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		emails, err := local.SESInbox(t.Context(), s.cfg.SESEndpoint)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range emails {
			if slices.Contains(e.Destination.To, to) {
				return e
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no email to %s after 20 s (inbox: %d emails)", to, len(emails))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestReadmeWalkthrough runs the README's walk-through as written (its sh blocks, in order, with
// bash, stopping at the first failing command) against a running stack: the API address is the
// test's, and make invite-link/invite-token read the test's SES emulator (SES_URL).
func TestReadmeWalkthrough(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatal("the README's walk-through needs bash")
	}
	for _, tool := range []string{"make", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the README's walk-through needs %s (a prerequisite)", tool)
		}
	}
	root, err := local.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	script := walkthrough(t, string(readme))
	const apiLine = "API=http://127.0.0.1:3000\n"
	if !strings.HasPrefix(script, apiLine) {
		t.Fatalf("the walk-through does not start with %q", apiLine)
	}

	testenv.DB(t)
	tableName := "readme_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	env := map[string]string{config.EnvTableName: tableName}
	// The repository's own state folder: make token signs with its key, so the stack checks with it.
	s, err := newStack(root, devOptions{addr: "127.0.0.1:0", dynURL: testenv.Endpoint(), sesPort: freePort(t)},
		func(k string) (string, bool) { v, ok := env[k]; return v, ok })
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
	script = "API=http://" + s.addr + "\n" + strings.TrimPrefix(script, apiLine)
	cmd := exec.CommandContext(t.Context(), bash, "-e", "-o", "pipefail", "-c", script)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "SES_URL="+s.cfg.SESEndpoint)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the walk-through failed (%v):\n%s", err, out)
	}
	for _, want := range []string{"the API is up: 401", "ACC=acc_", `"role":"owner"`, "GRACE=con_",
		"contact_email_taken", `"roles":["Primary"]`, "/invitations/accept?token="} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the walk-through's output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(string(out), "/invitations/accept?token="); n < 2 {
		t.Errorf("the walk-through printed %d invitation links, want the welcome and the user invitation:\n%s", n, out)
	}
}

// walkthrough returns the sh blocks of the README's walk-through section, joined.
func walkthrough(t *testing.T, readme string) string {
	t.Helper()
	_, sec, ok := strings.Cut(readme, "\n## Walk-through")
	if !ok {
		t.Fatal("the README has no walk-through section")
	}
	if i := strings.Index(sec, "\n## "); i >= 0 {
		sec = sec[:i]
	}
	var b strings.Builder
	for {
		_, rest, ok := strings.Cut(sec, "```sh\n")
		if !ok {
			break
		}
		block, after, ok := strings.Cut(rest, "```")
		if !ok {
			t.Fatal("an unclosed code block in the walk-through")
		}
		b.WriteString(block)
		sec = after
	}
	if b.Len() == 0 {
		t.Fatal("the walk-through has no sh blocks")
	}
	return b.String()
}
