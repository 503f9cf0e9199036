package email

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"rollcall/shared/domain"
)

func newTestRenderer(t *testing.T) *Renderer {
	t.Helper()
	r, err := NewRenderer(testPortal + "/")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRenderEveryKind(t *testing.T) {
	r := newTestRenderer(t)
	token := "acc_1.inv_2.AbC-_x"
	for _, tc := range []struct {
		kind, subject, bodyLine string
	}{
		{domain.KindOwner, "Complete your owner login setup for Acme Corp", "You are the owner of the new Acme Corp account."},
		{domain.KindWelcome, "Complete your contact login setup for Acme Corp", "As a contact of Acme Corp, you now have access to its customer portal."},
		{domain.KindUser, "ada@acme.example invited you to Acme Corp", "ada@acme.example invited you to join Acme Corp."},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			inv := invitation("acc_1", "inv_2", tc.kind, "grace@acme.example")
			inv.ExpiresAt = time.Date(2026, 11, 30, 19, 5, 0, 0, time.UTC)
			msg, err := r.Render(inv, token)
			if err != nil {
				t.Fatal(err)
			}
			link := testPortal + "/invitations/accept?token=" + url.QueryEscape(token)
			if msg.To != "grace@acme.example" || msg.Subject != tc.subject {
				t.Fatalf("to %q subject %q", msg.To, msg.Subject)
			}
			for name, body := range map[string]string{"text": msg.Text, "html": msg.HTML} {
				if !strings.Contains(body, link) {
					t.Errorf("%s body lacks the link %s", name, link)
				}
				if !strings.Contains(body, "30 November 2026 at 19:05 UTC") {
					t.Errorf("%s body lacks the expiry", name)
				}
				if !strings.Contains(body, "grace@acme.example") {
					t.Errorf("%s body does not say whom it was sent to", name)
				}
			}
			if !strings.Contains(msg.Text, tc.bodyLine) {
				t.Errorf("text body lacks %q:\n%s", tc.bodyLine, msg.Text)
			}
			if !strings.Contains(msg.HTML, `href="`+link+`"`) {
				t.Errorf("html has no button to the link:\n%s", msg.HTML)
			}
			if tc.kind == domain.KindUser && !strings.Contains(msg.Text, "see the account's contacts and support sites") {
				t.Errorf("user email does not describe its permissions:\n%s", msg.Text)
			}
		})
	}
}

// TestKindsAreDistinctInAnInbox: owner setup, user invitation and welcome each have their own
// subject and their own first line (what an inbox shows as the preview), in both bodies.
func TestKindsAreDistinctInAnInbox(t *testing.T) {
	r := newTestRenderer(t)
	firstText := func(s string) string { return strings.SplitN(strings.TrimSpace(s), "\n", 2)[0] }
	firstHTML := func(s string) string {
		i := strings.Index(s, "<p ")
		j := strings.Index(s[i:], "</p>")
		return s[i : i+j]
	}
	subjects, texts, htmls := map[string]string{}, map[string]string{}, map[string]string{}
	for _, kind := range []string{domain.KindOwner, domain.KindWelcome, domain.KindUser} {
		msg, err := r.Render(invitation("acc_1", "inv_2", kind, "grace@acme.example"), "t")
		if err != nil {
			t.Fatal(err)
		}
		for m, v := range map[*map[string]string]string{&subjects: msg.Subject, &texts: firstText(msg.Text), &htmls: firstHTML(msg.HTML)} {
			if other, dup := (*m)[v]; dup {
				t.Errorf("%s and %s share %q", other, kind, v)
			}
			(*m)[v] = kind
		}
		if strings.HasPrefix(firstText(msg.Text), "Hello") {
			t.Errorf("%s starts with a greeting, not with what it is: %q", kind, firstText(msg.Text))
		}
		if !strings.Contains(firstText(msg.Text), "Acme Corp") {
			t.Errorf("%s's first line does not name the account: %q", kind, firstText(msg.Text))
		}
	}
}

func TestRenderUnknownKind(t *testing.T) {
	r := newTestRenderer(t)
	if _, err := r.Render(invitation("a", "i", "admin", "x@example.com"), "t"); err != ErrUnknownKind {
		t.Fatalf("err = %v, want ErrUnknownKind", err)
	}
}

func TestLinkEscapesToken(t *testing.T) {
	r := newTestRenderer(t)
	got := r.Link("a b&c=d/e+f?#")
	want := testPortal + "/invitations/accept?token=a+b%26c%3Dd%2Fe%2Bf%3F%23"
	if got != want {
		t.Fatalf("Link = %s, want %s", got, want)
	}
}

// TestRenderEscapesUserInput: names such as <script> and header-breaking input (CR/LF) reach
// neither the subject's header nor the markup, and cannot add lines to the plain text.
func TestRenderEscapesUserInput(t *testing.T) {
	r := newTestRenderer(t)
	evilName := "<script>alert('x')</script>\r\nBcc: victim@evil.example\r\n\r\n<img src=x onerror=alert(1)>"
	evilInviter := "mallory@evil.example\nSubject: you won\u2028Reply-To: x@evil.example"
	inv := invitation("acc_1", "inv_2", domain.KindUser, "grace@acme.example")
	inv.AccountName = evilName
	inv.InvitedBy.Email = evilInviter
	inv.Permissions = []string{"contacts:read", "<b>billing:read</b>\r\nX-Injected: 1"}
	msg, err := r.Render(inv, "acc_1.inv_2.mac")
	if err != nil {
		t.Fatal(err)
	}

	// Subject: one line, no CR/LF/U+2028 left, the values shown as typed (inert in a subject).
	if strings.ContainsAny(msg.Subject, "\r\n\u2028\u2029") {
		t.Fatalf("subject breaks the header: %q", msg.Subject)
	}
	wantSubject := "mallory@evil.example Subject: you won Reply-To: x@evil.example invited you to <script>alert('x')</script> Bcc: victim@evil.example <img src=x onerror=alert(1)>"
	if msg.Subject != wantSubject {
		t.Fatalf("subject %q\nwant    %q", msg.Subject, wantSubject)
	}

	// HTML: no markup from the user survives; it is shown escaped.
	for _, raw := range []string{"<script", "<img", "<b>billing", "onerror=alert(1)>"} {
		if strings.Contains(msg.HTML, raw) {
			t.Errorf("html carries raw %q", raw)
		}
	}
	for _, escaped := range []string{"&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;", "&lt;img src=x onerror=alert(1)&gt;", "&lt;b&gt;billing:read&lt;/b&gt;"} {
		if !strings.Contains(msg.HTML, escaped) {
			t.Errorf("html lacks the escaped value %q", escaped)
		}
	}

	// Plain text: the values stay on their line; none starts a line of its own.
	for _, line := range strings.Split(msg.Text, "\n") {
		for _, injected := range []string{"Bcc:", "Subject:", "Reply-To:", "X-Injected:", "<img"} {
			if strings.HasPrefix(strings.TrimSpace(line), injected) {
				t.Errorf("text has an injected line %q", line)
			}
		}
	}
	if strings.ContainsAny(msg.Text, "\r\u2028\u2029") {
		t.Error("text carries CR or Unicode line separators")
	}
	wantLine := "mallory@evil.example Subject: you won Reply-To: x@evil.example invited you to join <script>alert('x')</script> Bcc: victim@evil.example <img src=x onerror=alert(1)>."
	if !strings.Contains(msg.Text, wantLine+"\n") {
		t.Errorf("text lacks the one-line %q:\n%s", wantLine, msg.Text)
	}

	// The SES request carries the subject as rendered, with the recipient alone in To.
	in := Sending{From: "no-reply@rollcall.example"}.input(msg, inv.Kind, send{accountID: "acc_1", invitationID: "inv_2", sendCount: 1})
	if got := aws.ToString(in.Content.Simple.Subject.Data); got != wantSubject {
		t.Errorf("SES subject %q", got)
	}
	if len(in.Destination.ToAddresses) != 1 || in.Destination.ToAddresses[0] != "grace@acme.example" ||
		len(in.Destination.CcAddresses)+len(in.Destination.BccAddresses) != 0 {
		t.Errorf("SES destination %+v", in.Destination)
	}
	tags := map[string]string{}
	for _, tg := range in.EmailTags {
		tags[aws.ToString(tg.Name)] = aws.ToString(tg.Value)
	}
	if tags["accountId"] != "acc_1" || tags["invitationId"] != "inv_2" || tags["sendCount"] != "1" || tags["kind"] != inv.Kind {
		t.Errorf("message tags %v: the SES events could not find the invitation", tags)
	}
}

func TestCleanStripsDisguisesAndCaps(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"  Acme\t\tCorp  ", "Acme Corp"},
		{"Acme\u202eproC\u202c", "AcmeproC"}, // right-to-left override removed
		{"Ac\u200bme", "Acme"},               // zero-width space removed
		{"a\x00b\x1bc\x7fd", "a b c d"},      // control characters become spaces
		{"bad \xff utf8", "bad \uFFFD utf8"}, // invalid UTF-8 replaced
		{"line1\u2028line2\u2029line3", "line1 line2 line3"},
		{"", ""},
	} {
		if got := clean(tc.in, 100); got != tc.want {
			t.Errorf("clean(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	long := strings.Repeat("é", 150)
	got := clean(long, maxNameRunes)
	if want := strings.Repeat("é", maxNameRunes) + "…"; got != want {
		t.Errorf("clean(150×é) = %d runes, want %d + ellipsis", len([]rune(got)), maxNameRunes)
	}
}

func TestRenderOperatorInviterAndNoPermissions(t *testing.T) {
	r := newTestRenderer(t)
	inv := invitation("a", "i", domain.KindUser, "grace@acme.example")
	inv.InvitedBy = domain.Actor{Sub: "op", Email: "alice.smith@vendor.example", Operator: true}
	inv.Permissions = []string{}
	msg, err := r.Render(inv, "t")
	if err != nil {
		t.Fatal(err)
	}
	if msg.Subject != "The support team invited you to Acme Corp" {
		t.Fatalf("subject %q", msg.Subject)
	}
	if strings.Contains(msg.Text+msg.HTML, "alice.smith") {
		t.Fatal("an operator's own address is handed out")
	}
	if !strings.Contains(msg.Text, "Accept the invitation to sign in") {
		t.Fatalf("text without permissions:\n%s", msg.Text)
	}
}
