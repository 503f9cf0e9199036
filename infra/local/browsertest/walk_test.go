package browsertest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestConsoleWalk walks the seeds' flows through the console's screens in headless Chromium:
// an operator creates an account; the owner accepts the emailed link; the owner invites a user,
// who accepts with a different email; the owner changes the user's permissions; contacts with
// Save & New and paste-many (one duplicate row shown as such); a site relationship with Primary,
// and a second Primary refused with the holder's name. axe-core checks every page, and every
// page is saved as a screenshot, also 375 px wide.
func TestConsoleWalk(t *testing.T) {
	c := start(t)

	// A link opened in a browser is the console's page, never the API's error.
	req, _ := http.NewRequest(http.MethodGet, c.url+"/invitations/accept?token=abc", nil)
	req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("GET /invitations/accept in a browser: %d %s, want the console's page", resp.StatusCode, ct)
	}

	// Signed out: the sign-in page.
	c.open("/", "Sign in")
	c.audit("signin")

	// 1. The operator creates an account (a field error first, shown next to its field).
	c.signIn("op-1", "op@vendor.example", true, "/accounts")
	c.waitText("Create an account")
	form := `form[aria-labelledby=create-account] `
	c.fill(form+`input[name=account-name]`, "Acme Corp")
	c.fill(form+`input[name=legacy-id]`, "L-42")
	c.fill(form+`input[name=first-name]`, "Ada")
	c.fill(form+`input[name=last-name]`, "Lovelace")
	c.fill(form+`input[name=email]`, "ada@acme")
	c.click(`//form[@aria-labelledby='create-account']`, "Create account")
	if msg := c.fieldError(form + `input[name=email]`); !strings.Contains(strings.ToLower(msg), "email") {
		t.Errorf("owner email error = %q, want words about the email", msg)
	}
	c.audit("operator-create-account-error")
	c.fill(form+`input[name=email]`, "ada@acme.example")
	c.click(`//form[@aria-labelledby='create-account']`, "Create account")
	c.waitText("the owner invitation is on its way to ada@acme.example")
	c.waitText("Ada Lovelace (ada@acme.example)")
	c.audit("operator-accounts")

	// 2. The owner opens the emailed link signed out, signs in, comes back to it and accepts.
	ownerLink := c.link("ada@acme.example", 1)
	c.signOut()
	c.run("open the owner's link", chromedp.Navigate(ownerLink))
	c.waitText("You have been invited")
	c.audit("accept-signed-out")
	c.clickLink("Sign in")
	c.waitText("Subject (login id)")
	c.fill(`input[name=sub]`, "ada")
	c.fill(`input[name=email]`, "ada@acme.example")
	c.click("", "Sign in")
	c.waitText("Join Acme Corp as the owner, invited as ada@acme.example; you are signed in as ada@acme.example.")
	c.audit("accept-owner")
	c.click("", "Accept and join Acme Corp")
	c.waitText("You joined Acme Corp")
	c.clickLink("Open the account")
	c.waitText("Who receives which email")
	accountID := c.accountID()
	c.audit("account")

	// R18 in words: the owner may not stop receiving billing email while nobody else does.
	c.click("", "Edit")
	c.check(`//form[@aria-labelledby='edit-account']`, "billing")
	c.click(`//form[@aria-labelledby='edit-account']`, "Save")
	c.waitText("“billing” email would have no recipient left")
	c.audit("account-edit-last-recipient")
	c.click(`//form[@aria-labelledby='edit-account']`, "Cancel")

	// 3. The owner invites a user.
	c.open("/accounts/"+accountID+"/users", "Invite a user")
	inv := `form[aria-labelledby=invite-title] `
	c.fill(inv+`input[name=email]`, "grace@acme.example")
	c.check(`//form[@aria-labelledby='invite-title']`, "contacts:read")
	c.click(`//form[@aria-labelledby='invite-title']`, "Send invitation")
	c.waitText("An invitation was sent to grace@acme.example")
	c.waitText("pending")
	c.audit("users")

	// 4. The user accepts with a different email.
	userLink := c.link("grace@acme.example", 1)
	c.signIn("grace", "grace.personal@mail.example", false, "/me")
	c.run("open the user's link", chromedp.Navigate(userLink))
	c.waitText("Join Acme Corp as a user, invited as grace@acme.example; you are signed in as grace.personal@mail.example.")
	c.waitText("contacts:read")
	c.audit("accept-user")
	c.click("", "Accept and join Acme Corp")
	c.waitText("You joined Acme Corp")

	// The same link again: used, said in words.
	c.run("reopen the used link", chromedp.Navigate(userLink))
	c.waitText("already been used")
	c.audit("accept-used")
	// A link that is not valid (superseded or mangled): said in words, not an API error.
	c.open("/invitations/accept?token=not-a-real-token", "Accept an invitation")
	c.waitText("This link is not valid")
	c.audit("accept-invalid")
	c.open("/me", "My accounts")
	c.waitText("Acme Corp")
	c.audit("my-accounts")

	// 5. The owner changes the user's permissions.
	c.signIn("ada", "ada@acme.example", false, "/accounts/"+accountID+"/users")
	c.waitText("grace.personal@mail.example")
	c.click("", "Permissions")
	c.check(`//form[contains(@class,'compact')]`, "contacts:write")
	c.click(`//form[contains(@class,'compact')]`, "Save permissions")
	c.waitText("The permissions of grace.personal@mail.example were saved.")
	c.waitText("contacts:read, contacts:write")

	// 6. Contacts: Save & New keeps the form open and lists each saved contact beside it.
	c.open("/accounts/"+accountID+"/contacts", "Contacts")
	c.click("", "New contact")
	nc := `form[aria-labelledby=new-contact] `
	c.fill(nc+`input[name=email]`, "carol@acme.example")
	c.fill(nc+`input[name=first-name]`, "Carol")
	c.fill(nc+`input[name=last-name]`, "Shaw")
	c.check(`//form[@aria-labelledby='new-contact']`, "service")
	c.click(`//form[@aria-labelledby='new-contact']`, "Save & New")
	c.waitText("Carol Shaw (carol@acme.example)")
	// The form stays open, emptied, with the focus back on its first field: the next contact is
	// typed with the keyboard alone (Tab between fields, Enter saves).
	if f := eval[string](c, `(() => { const el = document.activeElement; return el ? el.name + '=' + el.value : ''; })()`); f != "email=" {
		t.Fatalf("after Save & New the focus is on %q; want the emptied email field", f)
	}
	c.run("type the next contact", chromedp.KeyEvent("dan@acme.example\tDan\tBrown\r"))
	c.waitText("Dan Brown (dan@acme.example)")
	c.audit("contacts-save-and-new")
	c.click(`//form[@aria-labelledby='new-contact']`, "Close")

	// Paste-many: three rows, one a duplicate of a saved contact.
	c.click("", "Paste many")
	c.setValue(`textarea[name=rows-from-a-spreadsheet]`, "email\tfirst name\tlast name\n"+
		"erin@acme.example\tErin\tHale\ncarol@acme.example\tCarol\tShaw\nfrank@acme.example\tFrank\tIves\n")
	c.waitText("Add 3 contacts")
	c.click("", "Add 3 contacts")
	c.waitText("2 added, 1 not added.")
	results := eval[[]string](c, `[...document.querySelectorAll('table.paste-rows tbody tr')].map(r => r.querySelector('td.result').innerText)`)
	if len(results) != 3 || !strings.HasPrefix(results[0], "✓ Added") || !strings.Contains(results[1], "Duplicate") || !strings.HasPrefix(results[2], "✓ Added") {
		t.Fatalf("row results = %q; want added, duplicate, added", results)
	}
	c.audit("contacts-paste")
	c.open("/accounts/"+accountID+"/contacts", "Contacts")
	c.waitText("frank@acme.example")
	c.audit("contacts")

	// 7. A site relationship with Primary; a second Primary is refused naming the holder.
	c.open("/accounts/"+accountID+"/sites", "Sites")
	c.clickLink("Acme Corp – Legacy L-42 – Main Site")
	c.waitText("Relate a contact")
	rel := `form[aria-labelledby=add-rel] `
	relate := func(who string) {
		c.fill(rel+`input[name=find-a-contact]`, who)
		// The search runs shortly after typing: wait until it has narrowed the choice to one.
		c.waitJS(`(() => { const s = document.querySelector('form[aria-labelledby=add-rel] select');
			return s.options.length === 1 && s.options[0].text.includes('`+who+`') && s.value !== ''; })()`, "the contact choice narrowed to "+who)
		c.check(`//form[@aria-labelledby='add-rel']`, "Primary")
		c.click(`//form[@aria-labelledby='add-rel']`, "Save relationship")
	}
	relate("carol@acme.example")
	c.waitText("Carol Shaw (carol@acme.example) now holds Primary on this site.")
	c.audit("site")
	relate("dan@acme.example")
	c.waitText("Primary is already held on this site by Carol Shaw (carol@acme.example).")
	c.audit("site-primary-taken")

	// Operators grant admin privileges only to users whose contact holds Primary or Secondary:
	// grace has no contact, so the refusal says why.
	c.signIn("op-1", "op@vendor.example", true, "/accounts/"+accountID+"/users")
	c.waitText("grace.personal@mail.example")
	c.click("", "Grant admin")
	c.waitText("admin-eligible role")
	c.audit("users-operator")
	c.signIn("ada", "ada@acme.example", false, "/accounts/"+accountID)

	// The audit log, newest first.
	c.open("/accounts/"+accountID+"/audit", "Audit log")
	c.waitText("relationship")
	c.audit("audit")

	// A destructive action asks first: cancelling a contact's delete keeps it.
	c.open("/accounts/"+accountID+"/contacts", "Contacts")
	c.clickLink("Frank Ives")
	c.waitText("Receives email")
	c.audit("contact")
	c.click("", "Delete contact")
	c.waitText("This cannot be undone.")
	c.run("Escape cancels", chromedp.KeyEvent(kb.Escape))
	c.confirmGone()
	c.waitText("frank@acme.example")
	c.click("", "Delete contact")
	c.confirm("Delete contact")
	c.waitText("Name or email contains")
	if gone := eval[bool](c, `!document.body.innerText.includes('frank@acme.example')`); !gone {
		t.Errorf("the deleted contact is still listed")
	}

	for _, page := range []string{"signin", "operator-accounts", "accept-owner", "account", "users", "accept-user", "my-accounts", "contacts-save-and-new", "contacts-paste", "site-primary-taken", "audit"} {
		if !c.checked[page] {
			t.Errorf("axe-core did not check %s", page)
		}
	}
}
