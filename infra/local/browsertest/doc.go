// Package browsertest holds the console's browser tests: the local stack with the console served
// beside the API (as make dev runs it), driven in Debian's headless Chromium with chromedp, with
// axe-core checking every page and screenshots of every page (also 375 px wide). Run by make test
// after make web; `make screens` saves the screenshots to docs/screens.
package browsertest
