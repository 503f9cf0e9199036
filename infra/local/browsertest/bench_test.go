package browsertest

import (
	"context"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// interactiveJS resolves, in the page, with the milliseconds since the navigation started once the
// page is usable: its heading shown and its data loaded (no "Loading…" left).
const interactiveJS = `new Promise(resolve => {
	const ready = () => document.querySelector('main h1') && !document.body.innerText.includes('Loading') &&
		(document.querySelector('main table') || document.querySelector('main p.muted'));
	const tick = () => ready() ? resolve(performance.now()) : requestAnimationFrame(tick);
	tick();
})`

// signInReadyJS resolves once the sign-in form can be typed into.
const signInReadyJS = `new Promise(resolve => {
	const tick = () => document.querySelector('input[name=sub]') ? resolve(performance.now()) : requestAnimationFrame(tick);
	tick();
})`

// BenchmarkConsoleLoad measures the console's time to interactive against the stack make dev
// runs (started here, or the one at ROLLCALL_CONSOLE_URL), in ms from navigation start:
//
//   - cold-signin-ms: the first visit with an empty browser cache, until the sign-in form can be
//     typed into;
//
//   - warm-me-ms: signed in, "My accounts" until its list is shown (median of b.N visits; the
//     hashed assets are cached for good).
//
//     go test -run '^$' -bench ConsoleLoad -benchtime 20x ./infra/local/browsertest/
func BenchmarkConsoleLoad(b *testing.B) {
	c := start(b)
	if u := os.Getenv("ROLLCALL_CONSOLE_URL"); u != "" {
		c.url = u
	}
	c.run("open /signin", chromedp.Navigate(c.url+"/signin"))
	cold := await(c, signInReadyJS)
	c.signIn("bench", "bench@example.com", false, "/me")
	c.waitText("My accounts")

	var warm []float64
	b.ResetTimer()
	for range b.N {
		c.run("leave", chromedp.Navigate("about:blank"))
		c.run("open /me", chromedp.Navigate(c.url+"/me"))
		warm = append(warm, await(c, interactiveJS))
	}
	b.StopTimer()
	sort.Float64s(warm)
	b.ReportMetric(cold, "cold-signin-ms")
	b.ReportMetric(warm[len(warm)/2], "warm-me-ms")
}

// await evaluates a promise in the page and returns its number.
func await(c *console, js string) float64 {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[float64](js, chromedp.EvalAwaitPromise))
	if err != nil {
		c.t.Fatalf("evaluate: %v", err)
	}
	return v
}
