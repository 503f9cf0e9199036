package e2e

import (
	"strings"
	"testing"
	"time"

	"rollcall/infra/local/localtest"
)

// eventually polls get until ok accepts its answer, for up to 15 s (the mailbox simulator's
// events come shortly after the emulator accepted the email).
func eventually(t *testing.T, what string, get func() obj, ok func(obj) bool) obj {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		v := get()
		if ok(v) {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still %v after 15 s", what, v)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func deliveryStatus(o obj) string {
	d, _ := o["delivery"].(obj)
	s, _ := d["status"].(string)
	return s
}

func undeliverable(o obj) bool {
	st, _ := o["emailStatus"].(obj)
	return st != nil && st["status"] == "undeliverable"
}

// TestMailboxSimulatorBounceAndComplaint: through the local stack (the API, the stream poller,
// the email function, the SES emulator and its mailbox simulator feeding the ses-events
// handler): an owner whose address complains and a contact whose address bounces are marked
// undeliverable; the invitations show delivery complained / bounced with their history; the
// account warns that required email types have no deliverable recipient; the ?emailStatus=
// filter lists the contact; a resend to the bounced address is 409 email_undeliverable unless
// forced; changing the contact's email clears its status; a good address reads delivered.
func TestMailboxSimulatorBounceAndComplaint(t *testing.T) {
	s := localtest.Start(t)
	mail := s.StartMail(t)
	op := s.OperatorToken(t, "ops-1")

	acc := must(t, s.Do(t, "POST", "/accounts", op, `{"name":"Simulated","owner":{"firstName":"Com","lastName":"Plaint","email":"complaint@simulator.amazonses.com"}}`), 201, "create account")
	id := acc["id"].(string)
	invitations := func() []any {
		return must(t, s.Do(t, "GET", "/accounts/"+id+"/invitations", op, nil), 200, "invitations")["items"].([]any)
	}
	ownerInv := invitations()[0].(obj)["id"].(string)
	getInv := func(inv string) func() obj {
		return func() obj {
			for _, it := range invitations() {
				if it.(obj)["id"] == inv {
					return it.(obj)
				}
			}
			return nil
		}
	}
	got := eventually(t, "owner invitation complained", getInv(ownerInv), func(o obj) bool { return deliveryStatus(o) == "complained" })
	var hist []string
	for _, h := range got["delivery"].(obj)["history"].([]any) {
		hist = append(hist, h.(obj)["status"].(string))
	}
	if strings.Join(hist, ",") != "sent,delivered,complained" {
		t.Errorf("owner invitation history %v", hist)
	}
	account := eventually(t, "owner undeliverable", func() obj { return must(t, s.Do(t, "GET", "/accounts/"+id, op, nil), 200, "account") }, undeliverable)
	warnings, _ := account["warnings"].([]any)
	if len(warnings) == 0 {
		t.Fatalf("no warnings with the only recipient undeliverable: %v", account)
	}
	warned := map[string]bool{}
	for _, w := range warnings {
		warned[w.(obj)["emailType"].(string)] = w.(obj)["code"] == "no_deliverable_recipient"
	}
	if !warned["billing"] || !warned["security"] {
		t.Errorf("warnings %v: want every required type named", warnings)
	}

	// A contact at the bounce address, related to the main site: its welcome email bounces.
	site := mainSite(t, s, op, id)
	c := must(t, s.Do(t, "POST", "/accounts/"+id+"/contacts", op, `{"email":"bounce@simulator.amazonses.com","firstName":"Bo","lastName":"Unce","emailTypes":["billing"]}`), 201, "contact")
	cid := c["id"].(string)
	good := must(t, s.Do(t, "POST", "/accounts/"+id+"/contacts", op, `{"email":"success@simulator.amazonses.com","firstName":"Su","lastName":"Ccess","emailTypes":["security"]}`), 201, "good contact")
	must(t, s.Do(t, "PUT", "/accounts/"+id+"/sites/"+site+"/contacts/"+cid, op, `{"roles":["Technical"]}`), 201, "relate")
	must(t, s.Do(t, "PUT", "/accounts/"+id+"/sites/"+site+"/contacts/"+good["id"].(string), op, `{"roles":["Billing"]}`), 201, "relate good")
	var welcome, goodWelcome string
	for _, it := range invitations() {
		switch it.(obj)["email"] {
		case "bounce@simulator.amazonses.com":
			welcome = it.(obj)["id"].(string)
		case "success@simulator.amazonses.com":
			goodWelcome = it.(obj)["id"].(string)
		}
	}
	b := eventually(t, "welcome bounced", getInv(welcome), func(o obj) bool { return deliveryStatus(o) == "bounced" })
	if r, _ := b["delivery"].(obj)["reason"].(string); !strings.HasPrefix(r, "hard_bounce") {
		t.Errorf("bounce reason %q", r)
	}
	eventually(t, "good welcome delivered", getInv(goodWelcome), func(o obj) bool { return deliveryStatus(o) == "delivered" })
	contact := eventually(t, "contact undeliverable", func() obj {
		return must(t, s.Do(t, "GET", "/accounts/"+id+"/contacts/"+cid, op, nil), 200, "contact")
	}, undeliverable)
	if contact["emailStatus"].(obj)["reason"] != "hard_bounce" {
		t.Errorf("contact emailStatus %v", contact["emailStatus"])
	}
	// billing: the owner (complained) and the bounced contact: none deliverable. security: the
	// good contact receives it now, so it is no longer warned about.
	account = must(t, s.Do(t, "GET", "/accounts/"+id, op, nil), 200, "account")
	warned = map[string]bool{}
	for _, w := range account["warnings"].([]any) {
		warned[w.(obj)["emailType"].(string)] = true
	}
	if !warned["billing"] || warned["security"] {
		t.Errorf("warnings %v: want billing, not security", account["warnings"])
	}
	list := eventually(t, "?emailStatus=undeliverable lists the contact", func() obj {
		return must(t, s.Do(t, "GET", "/accounts/"+id+"/contacts?emailStatus=undeliverable", op, nil), 200, "filtered list")
	}, func(o obj) bool { return len(o["items"].([]any)) == 1 })
	if list["items"].([]any)[0].(obj)["id"] != cid {
		t.Fatalf("filtered list %v", list)
	}
	must(t, s.Do(t, "GET", "/accounts/"+id+"/contacts?emailStatus=bounced", op, nil), 400, "unknown emailStatus")

	s.Advance(61 * time.Second)
	r := s.Do(t, "POST", "/accounts/"+id+"/invitations/"+welcome+"/resend", op, nil)
	if r.Status != 409 || !strings.Contains(string(r.Body), "email_undeliverable") {
		t.Fatalf("resend to a bounced address: %d %s", r.Status, r.Body)
	}
	must(t, s.Do(t, "POST", "/accounts/"+id+"/invitations/"+welcome+"/resend", op, `{"force":true}`), 200, "forced resend")
	mail.Inbox(t, "bounce@simulator.amazonses.com", 2)

	// A new address clears the status.
	upd := must(t, s.Do(t, "PATCH", "/accounts/"+id+"/contacts/"+cid, op, `{"email":"bo.unce@new.example"}`), 200, "change email")
	if upd["emailStatus"] != nil {
		t.Errorf("emailStatus after an email change: %v", upd["emailStatus"])
	}
	if c := must(t, s.Do(t, "GET", "/accounts/"+id+"/contacts/"+cid, op, nil), 200, "contact"); c["emailStatus"] != nil {
		t.Errorf("stored emailStatus after an email change: %v", c["emailStatus"])
	}
	eventually(t, "filter empty after the change", func() obj {
		return must(t, s.Do(t, "GET", "/accounts/"+id+"/contacts?emailStatus=undeliverable", op, nil), 200, "filtered list")
	}, func(o obj) bool { return len(o["items"].([]any)) == 0 })
	mail.Simulator.Wait()
	if _, failed := mail.Simulator.Stats(); failed != 0 {
		t.Errorf("%d SES events not recorded", failed)
	}
}
