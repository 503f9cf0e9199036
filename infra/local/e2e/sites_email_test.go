package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"rollcall/infra/local/localtest"
)

// mainSite returns the id of an account's main site.
func mainSite(t *testing.T, s *localtest.Stack, tok, accountID string) string {
	t.Helper()
	sites := must(t, s.Do(t, "GET", "/accounts/"+accountID+"/sites", tok, nil), 200, "sites")
	for _, it := range sites["items"].([]any) {
		if it.(obj)["main"] == true {
			return it.(obj)["id"].(string)
		}
	}
	t.Fatalf("no main site: %v", sites)
	return ""
}

// TestSeedsFlow: create a contact, relate it to the main site with Primary, see the welcome
// invitation, accept it, be refused an admin's work, get admin from an operator, and create a
// second contact as admin; losing the last Primary/Secondary role ends the admin rights.
func TestSeedsFlow(t *testing.T) {
	s := localtest.Start(t)
	op := s.OperatorToken(t, "ops-1")
	a := ownedAccount(t, s, op, "Umbrella", "albert")
	site := mainSite(t, s, a.ownerToken, a.id)
	c := must(t, s.Do(t, "POST", "/accounts/"+a.id+"/contacts", a.ownerToken, `{"email":"jill@umbrella.example","firstName":"Jill","lastName":"Valentine"}`), 201, "contact")
	cid := c["id"].(string)
	rel := "/accounts/" + a.id + "/sites/" + site + "/contacts/" + cid
	must(t, s.Do(t, "PUT", rel, a.ownerToken, `{"roles":["Primary"]}`), 201, "relate with Primary")
	must(t, s.Do(t, "PUT", rel, a.ownerToken, `{"roles":["Primary","Technical"]}`), 200, "change roles")
	must(t, s.Do(t, "PUT", rel, a.ownerToken, `{"roles":[]}`), 400, "no roles")

	invs := must(t, s.Do(t, "GET", "/accounts/"+a.id+"/invitations?status=pending", a.ownerToken, nil), 200, "pending invitations")
	var welcome obj
	for _, it := range invs["items"].([]any) {
		if it.(obj)["kind"] == "welcome" {
			welcome = it.(obj)
		}
	}
	if welcome == nil || welcome["email"] != "jill@umbrella.example" || fmt.Sprint(welcome["permissions"]) != "[contacts:read]" {
		t.Fatalf("welcome invitation: %v", invs)
	}
	jill := s.Token(t, "jill", "jill@stars.example")
	u := must(t, s.Do(t, "POST", "/invitations/accept", jill, obj{"token": s.InviteToken(t, a.id, welcome["id"].(string))}), 201, "accept welcome")
	if u["contactId"] != cid {
		t.Fatalf("the new user is not linked to its contact: %v", u)
	}
	must(t, s.Do(t, "POST", "/accounts/"+a.id+"/contacts", jill, `{"email":"chris@umbrella.example"}`), 403, "a user with contacts:read writes")
	must(t, s.Do(t, "PUT", "/accounts/"+a.id+"/users/jill/admin", a.ownerToken, nil), 403, "the owner grants admin")
	got := must(t, s.Do(t, "PUT", "/accounts/"+a.id+"/users/jill/admin", op, nil), 200, "the operator grants admin")
	if got["admin"] != true {
		t.Fatalf("admin flag: %v", got)
	}
	must(t, s.Do(t, "POST", "/accounts/"+a.id+"/contacts", jill, `{"email":"chris@umbrella.example","firstName":"Chris","lastName":"Redfield"}`), 201, "the admin writes a contact")

	// Losing the last admin-eligible role clears the flag in the same request.
	must(t, s.Do(t, "PUT", rel, a.ownerToken, `{"roles":["Technical"]}`), 200, "drop Primary")
	me := must(t, s.Do(t, "GET", "/accounts/"+a.id+"/users/jill", a.ownerToken, nil), 200, "jill")
	if me["admin"] != false {
		t.Fatalf("admin after losing Primary: %v", me)
	}
	must(t, s.Do(t, "POST", "/accounts/"+a.id+"/contacts", jill, `{"email":"leon@umbrella.example"}`), 403, "no longer an admin")
	// Refused for a contact without an admin-eligible role.
	must(t, s.Do(t, "PUT", "/accounts/"+a.id+"/users/jill/admin", op, nil), 409, "grant without Primary/Secondary")
}

// TestEmailsThroughTheLocalStack: creating an account, inviting a user, resending and relating a
// contact each put exactly the expected email in the SES emulator, with a link whose token accept
// takes; the superseded and the revoked links are refused.
func TestEmailsThroughTheLocalStack(t *testing.T) {
	s := localtest.Start(t)
	mail := s.StartMail(t)
	op := s.OperatorToken(t, "ops-1")

	acc := must(t, s.Do(t, "POST", "/accounts", op, `{"name":"Cyberdyne <Systems>","owner":{"firstName":"Miles","lastName":"Dyson","email":"miles@cyberdyne.example"}}`), 201, "create account")
	id := acc["id"].(string)
	ownerMail := mail.Inbox(t, "miles@cyberdyne.example", 1)
	if ownerMail[0].Subject != "Complete your owner login setup for Cyberdyne <Systems>" || !strings.Contains(ownerMail[0].Body.HTML, "Cyberdyne &lt;Systems&gt;") {
		t.Fatalf("owner email: %q / %q", ownerMail[0].Subject, ownerMail[0].Body.HTML)
	}
	miles := s.Token(t, "miles", "miles@cyberdyne.example")
	must(t, s.Do(t, "POST", "/invitations/accept", miles, obj{"token": localtest.LinkToken(t, ownerMail[0])}), 201, "owner accepts from the email")

	inv := must(t, s.Do(t, "POST", "/accounts/"+id+"/invitations", miles, `{"email":"sarah@connor.example","permissions":["contacts:read"]}`), 201, "invite")
	first := mail.Inbox(t, "sarah@connor.example", 1)
	if first[0].Subject != "miles@cyberdyne.example invited you to Cyberdyne <Systems>" {
		t.Fatalf("user invitation subject: %q", first[0].Subject)
	}
	s.Advance(61 * time.Second)
	must(t, s.Do(t, "POST", "/accounts/"+id+"/invitations/"+inv["id"].(string)+"/resend", miles, nil), 200, "resend")
	both := mail.Inbox(t, "sarah@connor.example", 2)
	sarah := s.Token(t, "sarah", "sarah@connor.example")
	old := s.Do(t, "POST", "/invitations/accept", sarah, obj{"token": localtest.LinkToken(t, both[0])})
	if old.Status != 400 || !strings.Contains(string(old.Body), "invalid_token") {
		t.Fatalf("superseded link: %d %s", old.Status, old.Body)
	}
	must(t, s.Do(t, "POST", "/invitations/accept", sarah, obj{"token": localtest.LinkToken(t, both[1])}), 201, "accept from the resent email")

	gone := must(t, s.Do(t, "POST", "/accounts/"+id+"/invitations", miles, `{"email":"kyle@reese.example","permissions":[]}`), 201, "invite kyle")
	kyleMail := mail.Inbox(t, "kyle@reese.example", 1)
	must(t, s.Do(t, "DELETE", "/accounts/"+id+"/invitations/"+gone["id"].(string), miles, nil), 200, "revoke")
	revoked := s.Do(t, "POST", "/invitations/accept", s.Token(t, "kyle", "kyle@reese.example"), obj{"token": localtest.LinkToken(t, kyleMail[0])})
	if revoked.Status != 410 || !strings.Contains(string(revoked.Body), "invitation_revoked") {
		t.Fatalf("revoked link: %d %s", revoked.Status, revoked.Body)
	}

	site := mainSite(t, s, miles, id)
	c := must(t, s.Do(t, "POST", "/accounts/"+id+"/contacts", miles, `{"email":"john@connor.example","firstName":"John","lastName":"Connor"}`), 201, "contact")
	must(t, s.Do(t, "PUT", "/accounts/"+id+"/sites/"+site+"/contacts/"+c["id"].(string), miles, `{"roles":["Secondary"]}`), 201, "relate")
	welcome := mail.Inbox(t, "john@connor.example", 1)
	if welcome[0].Subject != "Complete your contact login setup for Cyberdyne <Systems>" {
		t.Fatalf("welcome subject: %q", welcome[0].Subject)
	}
	must(t, s.Do(t, "POST", "/invitations/accept", s.Token(t, "john", "john@connor.example"), obj{"token": localtest.LinkToken(t, welcome[0])}), 201, "accept welcome")

	// Exactly the expected emails: nothing more arrives for anyone.
	time.Sleep(1500 * time.Millisecond)
	want := map[string]int{"miles@cyberdyne.example": 1, "sarah@connor.example": 2, "kyle@reese.example": 1, "john@connor.example": 1}
	for to, n := range want {
		if got := len(mail.Inbox(t, to, n)); got != n {
			t.Errorf("%s got %d emails, want %d", to, got, n)
		}
	}
	all := must(t, s.Do(t, "GET", "/accounts/"+id+"/invitations", miles, nil), 200, "invitations")
	for _, it := range all["items"].([]any) {
		d, _ := it.(obj)["delivery"].(obj)
		if d == nil || (d["status"] != "sent" && d["status"] != "delivered") || d["messageId"] == "" {
			t.Errorf("invitation %v has delivery %v, want sent or delivered (the mailbox simulator's event)", it.(obj)["id"], d)
		}
	}
}

// TestEmptiedMapDoesNotStallTheEmails is the regression test of issue 9's stall: relating a
// contact and removing its last relationship makes DynamoDB Local write the contact's emptied
// "sites" map as {} in the stream, which aws-lambda-go cannot decode. The poller repairs the
// record, filters it out as the deployed mapping would (it is not an invitation), and the emails
// after it go out: the owner of an account created next gets the setup email, nothing is
// dead-lettered and the function never fails.
func TestEmptiedMapDoesNotStallTheEmails(t *testing.T) {
	s := localtest.Start(t)
	mail := s.StartMail(t)
	op := s.OperatorToken(t, "ops-1")
	a := ownedAccount(t, s, op, "Tyrell", "eldon")
	site := mainSite(t, s, a.ownerToken, a.id)
	c := must(t, s.Do(t, "POST", "/accounts/"+a.id+"/contacts", a.ownerToken, `{"email":"rachael@tyrell.example","firstName":"Rachael","lastName":"Tyrell"}`), 201, "contact")
	rel := "/accounts/" + a.id + "/sites/" + site + "/contacts/" + c["id"].(string)
	must(t, s.Do(t, "PUT", rel, a.ownerToken, `{"roles":["Technical"]}`), 201, "relate")
	mail.Inbox(t, "rachael@tyrell.example", 1) // the welcome email
	if r := s.Do(t, "DELETE", rel, a.ownerToken, nil); r.Status != 200 && r.Status != 204 {
		t.Fatalf("unrelate: %d %s", r.Status, r.Body)
	}
	// The contact's emptied map is in the stream now; every email after it must still go out.
	start := time.Now()
	must(t, s.Do(t, "POST", "/accounts", op, `{"name":"Wallace","owner":{"firstName":"Niander","lastName":"Wallace","email":"niander@wallace.example"}}`), 201, "create account")
	mail.Inbox(t, "niander@wallace.example", 1)
	t.Logf("owner email %v after the account was created, behind the emptied map", time.Since(start).Round(time.Millisecond))
	if time.Since(start) > 10*time.Second {
		t.Errorf("the owner email took %v", time.Since(start))
	}
	st := mail.Poller.Stats()
	if st.Repaired == 0 {
		t.Errorf("no attribute value was repaired: the {} record did not come (stats %+v)", st)
	}
	if st.DeadLettered != 0 || st.FunctionErrors != 0 || st.Filtered == 0 {
		t.Errorf("poller stats %+v: want nothing dead-lettered, no function error, non-invitation records filtered", st)
	}
}
