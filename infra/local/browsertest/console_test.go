package browsertest

import (
	"context"
	"fmt"
	"log/slog"
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
	"rollcall/shared/config"
)

// EnvChromium overrides the browser's path (default /usr/bin/chromium, Debian's package).
const EnvChromium = "ROLLCALL_CHROMIUM"

// EnvScreens is the folder the screenshots go to; `make screens` sets it to docs/screens. Without
// it they go to a temporary folder (still taken, so that the code path runs in every test).
const EnvScreens = "ROLLCALL_SCREENS"

// console is one run of the console against a local stack, with a browser on it.
type console struct {
	t       testing.TB
	url     string // the console's origin, which is also the emails' portal URL
	stack   *localtest.Stack
	mail    *localtest.Mail
	ctx     context.Context // the browser tab
	axe     string          // axe-core's source
	screens string          // where screenshots go
	checked map[string]bool // pages axe has checked, by name
}

func chromiumPath(t testing.TB) string {
	t.Helper()
	path := os.Getenv(EnvChromium)
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the console's browser tests need Debian's chromium at %s (%v): install it with "+
			"`sudo apt-get update && sudo apt-get install -y chromium` (bash .ci/run does), or set %s to a Chromium binary", path, err, EnvChromium)
	}
	return path
}

// start builds the whole stack the way make dev runs it (gateway + console on one origin, the
// SES emulator and the stream poller), and a headless Chromium with an empty profile.
func start(t testing.TB) *console {
	t.Helper()
	exec := chromiumPath(t)
	root, err := local.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dist := filepath.Join(root, "web", "dist")
	if _, err := os.Stat(filepath.Join(dist, "index.html")); err != nil {
		t.Fatalf("the console is not built (%v): run `make web` (make test does it first)", err)
	}
	axe, err := os.ReadFile(filepath.Join(root, "web", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		t.Fatalf("axe-core is missing (%v): run `npm ci` in web/ (make web does)", err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	origin := "http://" + ln.Addr().String()
	st := localtest.StartWithEnv(t, map[string]string{config.EnvPortalURL: origin})
	mail := st.StartMail(t)
	srv := &http.Server{Handler: local.NewConsole(st.Handler, dist, st.Signer, slog.New(slog.NewTextHandler(t.Output(), nil))), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exec),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless, // also hides scrollbars, as phones do: 375 px of layout
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelTab := chromedp.NewContext(actx, chromedp.WithErrorf(func(string, ...any) {}))
	t.Cleanup(cancelTab)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium %s: %v", exec, err)
	}
	screens := os.Getenv(EnvScreens)
	if screens == "" {
		screens = t.TempDir()
	} else if !filepath.IsAbs(screens) {
		screens = filepath.Join(root, screens)
	}
	if err := os.MkdirAll(screens, 0o755); err != nil {
		t.Fatal(err)
	}
	return &console{t: t, url: origin, stack: st, mail: mail, ctx: ctx, axe: string(axe), screens: screens, checked: map[string]bool{}}
}

// run runs browser actions with a deadline, failing the test with what was being done.
func (c *console) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		c.t.Fatalf("%s: %v\npage text:\n%s", what, err, c.text())
	}
}

// text is the page's visible text (for failure messages).
func (c *console) text() string {
	ctx, cancel := context.WithTimeout(c.ctx, 3*time.Second)
	defer cancel()
	s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ''`))
	return s
}

// waitText waits until the page shows text, failing the test after 30 s.
func (c *console) waitText(text string) {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if strings.Contains(c.text(), text) {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("the page never showed %q; it shows:\n%s", text, c.text())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// open navigates to path on the console and waits for its heading.
func (c *console) open(path, heading string) {
	c.t.Helper()
	c.run("open "+path, chromedp.Navigate(c.url+path))
	c.waitText(heading)
}

// fill types into the input or textarea sel (replacing its value).
func (c *console) fill(sel, value string) {
	c.t.Helper()
	clear := fmt.Sprintf(`(() => { const el = document.querySelector(%q); el.value = ''; el.dispatchEvent(new Event('input', {bubbles: true})); })()`, sel)
	c.run("fill "+sel, chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Evaluate[chromedp.Void](clear), chromedp.SendKeys(chromedp.CSS(sel), value))
}

// setValue sets a field's value at once (text with tabs, as pasted from a spreadsheet) and
// tells the page, as a paste does.
func (c *console) setValue(sel, value string) {
	c.t.Helper()
	js := fmt.Sprintf(`(() => { const el = document.querySelector(%q); el.focus(); el.value = %q; el.dispatchEvent(new Event('input', {bubbles: true})); return true; })()`, sel, value)
	c.run("paste into "+sel, chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Evaluate[chromedp.Void](js))
}

// click clicks the button whose text is label, inside the element sel ("" for the page).
func (c *console) click(scope, label string) {
	c.t.Helper()
	x := fmt.Sprintf(`%s//button[normalize-space()=%q]`, scope, label)
	c.run("click "+label, chromedp.WaitVisible(chromedp.Search(x)), chromedp.Click(chromedp.Search(x)))
}

// check ticks the checkbox labelled label inside scope (an XPath).
func (c *console) check(scope, label string) {
	c.t.Helper()
	x := fmt.Sprintf(`%s//label[contains(normalize-space(), %q)]/input[@type='checkbox']`, scope, label)
	c.run("check "+label, chromedp.WaitVisible(chromedp.Search(x)), chromedp.Click(chromedp.Search(x)))
}

// axeViolation is one rule axe-core found broken.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any  `json:"target"`
		HTML   string `json:"html"`
	} `json:"nodes"`
}

// audit runs axe-core on the page and fails the test on any serious or critical violation; it
// then saves screenshots of the page as name.png and, at 375 px wide, name-375.png.
func (c *console) audit(name string) {
	c.t.Helper()
	run := `(async () => { if (!window.axe) { ` + c.axe + ` }
		const r = await axe.run(document, {resultTypes: ['violations']});
		return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(n => ({target: n.target, html: n.html}))})); })()`
	ctx, cancel := context.WithTimeout(c.ctx, 30*time.Second)
	defer cancel()
	violations, err := chromedp.Run(ctx, chromedp.Evaluate[[]axeViolation](run, chromedp.EvalAwaitPromise))
	if err != nil {
		c.t.Fatalf("axe on %s: %v", name, err)
	}
	var bad []string
	for _, v := range violations {
		if v.Impact == "serious" || v.Impact == "critical" {
			var where []string
			for _, n := range v.Nodes {
				where = append(where, n.HTML)
			}
			bad = append(bad, fmt.Sprintf("%s (%s): %s at %s", v.ID, v.Impact, v.Help, strings.Join(where, " | ")))
		}
	}
	if len(bad) > 0 {
		c.t.Errorf("axe-core on %s: %d serious or critical violations:\n  %s", name, len(bad), strings.Join(bad, "\n  "))
	}
	c.checked[name] = true
	c.screenshot(name)
}

func (c *console) screenshot(name string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, 30*time.Second)
	defer cancel()
	wide, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		c.t.Fatalf("screenshot %s: %v", name, err)
	}
	c.run("375 px wide", chromedp.EmulateViewport(375, 740), chromedp.Sleep(150*time.Millisecond))
	// Nothing may stick out sideways at 375 px.
	if wide := eval[[]string](c, `[...document.querySelectorAll('body *')].filter(e => !e.closest('thead, .visually-hidden') && e.getBoundingClientRect().right > innerWidth + 1).slice(0, 5).map(e => e.tagName + '.' + e.className)`); len(wide) > 0 {
		c.t.Errorf("%s at 375 px: wider than the screen: %v", name, wide)
	}
	narrow, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		c.t.Fatalf("screenshot %s at 375 px: %v", name, err)
	}
	c.run("back to 1280 px", chromedp.EmulateViewport(1280, 900))
	for file, b := range map[string][]byte{name + ".png": wide, name + "-375.png": narrow} {
		if err := os.WriteFile(filepath.Join(c.screens, file), b, 0o644); err != nil {
			c.t.Fatal(err)
		}
	}
}

// signIn signs out whoever is signed in and signs in with the local form, coming back to path.
func (c *console) signIn(sub, email string, operator bool, next string) {
	c.t.Helper()
	c.signOut()
	c.open("/signin?next="+next, "Sign in")
	c.fill(`input[name=sub]`, sub)
	c.fill(`input[name=email]`, email)
	if operator {
		c.run("tick operator", chromedp.Click(chromedp.CSS(`input[name=operator]`)))
	}
	// The keyboard alone: Enter in the form submits it.
	c.run("submit sign-in", chromedp.SendKeys(chromedp.CSS(`input[name=email]`), "\r"))
	c.run("signed in", chromedp.WaitNotPresent(chromedp.CSS(`input[name=sub]`)))
}

func (c *console) signOut() {
	c.t.Helper()
	c.run("sign out", chromedp.Navigate(c.url+"/signin"), chromedp.Evaluate[chromedp.Void](`sessionStorage.clear()`))
}

// link returns the accept link of the newest email to address, as the email has it.
func (c *console) link(to string, n int) string {
	c.t.Helper()
	emails := c.mail.Inbox(c.t, to, n)
	text := emails[len(emails)-1].Body.Text
	i := strings.Index(text, c.url+"/invitations/accept?token=")
	if i < 0 {
		c.t.Fatalf("the email to %s has no link to the console's accept page (%s/invitations/accept?token=…):\n%s", to, c.url, text)
	}
	return strings.Fields(text[i:])[0]
}

// eval runs JavaScript in the page and returns its result.
func eval[T any](c *console, js string) T {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		c.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// accountID reads the account id of the page's URL.
func (c *console) accountID() string {
	c.t.Helper()
	loc := eval[string](c, `location.pathname`)
	parts := strings.Split(loc, "/")
	if len(parts) < 3 || parts[1] != "accounts" || !strings.HasPrefix(parts[2], "acc_") {
		c.t.Fatalf("no account id in the URL %s", loc)
	}
	return parts[2]
}

// clickLink follows the link whose text is label.
func (c *console) clickLink(label string) {
	c.t.Helper()
	x := fmt.Sprintf(`//a[normalize-space()=%q]`, label)
	c.run("follow "+label, chromedp.WaitVisible(chromedp.Search(x)), chromedp.Click(chromedp.Search(x)))
}

// fieldError waits until the field sel is marked invalid and returns the message shown next to it.
func (c *console) fieldError(sel string) string {
	c.t.Helper()
	js := fmt.Sprintf(`(() => { const el = document.querySelector(%q); if (!el || el.getAttribute('aria-invalid') !== 'true') return '';
		return (el.getAttribute('aria-describedby') || '').split(' ').filter(id => id.endsWith('-err')).map(id => document.getElementById(id).textContent).join(' '); })()`, sel)
	deadline := time.Now().Add(10 * time.Second)
	for {
		msg := eval[string](c, js)
		if msg != "" {
			return msg
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("no error shown next to %s; page:\n%s", sel, c.text())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// confirm accepts the open confirmation dialog with its button label.
func (c *console) confirm(label string) {
	c.t.Helper()
	c.waitText(label)
	c.click(`//dialog[@open]`, label)
}

// confirmGone waits until no dialog is open.
func (c *console) confirmGone() {
	c.t.Helper()
	c.run("dialog closed", chromedp.WaitNotPresent(chromedp.CSS(`dialog[open]`)))
}

// waitJS waits until the JavaScript condition is true, failing the test after 30 s.
func (c *console) waitJS(cond, what string) {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !eval[bool](c, cond) {
		if time.Now().After(deadline) {
			c.t.Fatalf("waited 30 s for %s; page:\n%s", what, c.text())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
