package browsertest

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"rollcall/infra/local"
	"rollcall/infra/local/localtest"
)

// TestDocsTryIt opens the API documents at /docs/ (Swagger UI over docs/openapi.json, as make dev
// serves them) in headless Chromium and tries GET /catalog from the page: 401 without a token,
// 200 once a bearer token is given under "Authorize". It saves screenshots as api-docs.png and
// api-docs-try-it.png (to docs/screens with make screens).
func TestDocsTryIt(t *testing.T) {
	exec := chromiumPath(t)
	root, err := local.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	st := localtest.Start(t)
	docs := local.NewDocs(st.Handler, root, nil)
	if !docs.Installed() {
		t.Fatal("Swagger UI is not installed: run npm ci in infra/ (it installs swagger-ui-dist)")
	}
	srv := &http.Server{Handler: docs, ReadHeaderTimeout: 10 * time.Second}
	ln := listen(t)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	origin := "http://" + ln.Addr().String()

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exec), chromedp.UserDataDir(t.TempDir()), chromedp.Headless, chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	tab, cancelTab := chromedp.NewContext(actx, chromedp.WithErrorf(func(string, ...any) {}))
	t.Cleanup(cancelTab)
	if err := chromedp.Do(tab); err != nil { // starts the browser with the tab's own context
		t.Fatalf("start chromium %s: %v", exec, err)
	}
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		ctx, cancel := context.WithTimeout(tab, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		ctx, cancel := context.WithTimeout(tab, 5*time.Second)
		defer cancel()
		s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector(`+jsString(sel)+`) || {}).innerText || ''`))
		return strings.TrimSpace(s)
	}
	const op = `#operations-catalog-get-catalog`
	status := op + ` .live-responses-table tbody .response-col_status`
	waitStatus := func(want string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for text(status) != want {
			if time.Now().After(deadline) {
				t.Fatalf("GET /catalog from the docs page: status %q, want %s; answer: %s", text(status), want, text(op+` .live-responses-table`))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	run("open /docs", chromedp.Navigate(origin+"/docs"), chromedp.WaitVisible(`.swagger-ui .info .title`))
	if got := text(`.swagger-ui .info .title`); !strings.Contains(got, "rollcall") {
		t.Errorf("the docs page's title is %q", got)
	}
	if got := text(`.servers select option`); !strings.Contains(got, origin) {
		t.Errorf("the first server offered is %q, want this stack %s", got, origin)
	}
	screens := os.Getenv(EnvScreens)
	if screens == "" {
		screens = t.TempDir()
	} else if !filepath.IsAbs(screens) {
		screens = filepath.Join(root, screens)
	}
	shot := func(name, sel string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(tab, 30*time.Second)
		defer cancel()
		var b []byte
		var err error
		if sel == "" {
			b, err = chromedp.Run(ctx, chromedp.CaptureScreenshot())
		} else {
			b, err = chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS(sel)))
		}
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.MkdirAll(screens, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(screens, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	shot("api-docs.png", "")

	// Without a token the API answers 401.
	run("expand GET /catalog", chromedp.Click(chromedp.CSS(op+` .opblock-summary-control`)), chromedp.WaitVisible(chromedp.CSS(op+` .try-out__btn`)))
	run("try it out", chromedp.Click(chromedp.CSS(op+` .try-out__btn`)), chromedp.WaitVisible(chromedp.CSS(op+` .execute`)))
	run("execute", chromedp.Click(chromedp.CSS(op+` .execute`)))
	waitStatus("401")

	// With a bearer token given under Authorize: 200.
	token := st.Token(t, "docs-reader", "docs-reader@example.com")
	run("authorize", chromedp.Click(chromedp.CSS(`.auth-wrapper .authorize`)), chromedp.WaitVisible(chromedp.CSS(`.auth-container input`)),
		chromedp.SendKeys(chromedp.CSS(`.auth-container input`), token),
		chromedp.Click(chromedp.CSS(`.auth-btn-wrapper .authorize`)), chromedp.WaitVisible(chromedp.CSS(`.auth-btn-wrapper .btn-done`)),
		chromedp.Click(chromedp.CSS(`.auth-btn-wrapper .btn-done`)), chromedp.WaitNotPresent(chromedp.CSS(`.auth-container`)))
	run("execute again", chromedp.Click(chromedp.CSS(op+` .execute`)))
	waitStatus("200")
	if body := text(op + ` .live-responses-table tbody .response-col_description`); !strings.Contains(body, "roles") {
		t.Errorf("the 200 answer shown lacks the catalog's roles: %.300s", body)
	}
	if curl := text(op + ` .curl-command`); !strings.Contains(curl, "Authorization: Bearer "+token[:20]) {
		t.Errorf("the request shown does not carry the token: %.300s", curl)
	}
	run("scroll to the answer", chromedp.ScrollIntoView(chromedp.CSS(op)))
	shot("api-docs-try-it.png", op)
}

// jsString quotes s for JavaScript.
func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// listen takes a free port on 127.0.0.1.
func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}
