package main

import (
	"testing"

	"rollcall/infra/local"
)

func TestFindInviteLink(t *testing.T) {
	mail := func(to, text, html string, at int64) local.SESEmail {
		var e local.SESEmail
		e.Destination.To = []string{to}
		e.Body.Text, e.Body.HTML, e.At = text, html, at
		return e
	}
	emails := []local.SESEmail{
		mail("ada@acme.example", "Accept: http://127.0.0.1:3000/invitations/accept?token=a.b.old\nThanks", "", 10),
		mail("bob@acme.example", "http://127.0.0.1:3000/invitations/accept?token=a.b.bob", "", 11),
		mail("Ada@Acme.example", "no link in the text", `<a href="http://127.0.0.1:3000/invitations/accept?token=a.b.new">Accept</a>`, 12),
		mail("ada@acme.example", "a notice without a link", "", 13),
	}
	if got, want := findInviteLink(emails, " ADA@acme.example"), "http://127.0.0.1:3000/invitations/accept?token=a.b.new"; got != want {
		t.Errorf("findInviteLink = %q, want the latest link %q", got, want)
	}
	if got := findInviteLink(emails, "carol@acme.example"); got != "" {
		t.Errorf("findInviteLink for an address with no email = %q", got)
	}
}
