package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"rollcall/infra/local"
)

// The addresses `make seed` and `make invite-link` talk to by default: make dev's.
const (
	defaultAPI = "http://127.0.0.1:3000"
	defaultSES = "http://127.0.0.1:8005"
)

// acceptLink finds an invitation link (…/invitations/accept?token=…) in an email body.
var acceptLink = regexp.MustCompile(`https?://[^\s"'<>]+/invitations/accept\?token=[^\s"'<>&]+`)

// runInviteLink prints the link of the latest invitation email sent to an address, as the SES
// v2 emulator holds it (or, with -token, only the token in it).
func runInviteLink(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("invite-link", flag.ContinueOnError)
	email := fs.String("email", "", "the address the invitation was sent to (required)")
	ses := fs.String("ses", defaultSES, "the SES v2 emulator of the local stack")
	tokenOnly := fs.Bool("token", false, "print only the token of the link (for POST /invitations/accept)")
	wait := fs.Duration("wait", 10*time.Second, "how long to wait for the email when none has come yet")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *email == "" {
		return errors.New("invite-link: an address is required, e.g. make invite-link EMAIL=ada@acme.example")
	}
	link, err := latestInviteLink(ctx, *ses, *email, *wait)
	if err != nil {
		return err
	}
	if *tokenOnly {
		return printToken(link)
	}
	fmt.Println(link)
	return nil
}

func printToken(link string) error {
	u, err := url.Parse(link)
	if err != nil {
		return fmt.Errorf("invite-link: %q: %w", link, err)
	}
	fmt.Println(u.Query().Get("token"))
	return nil
}

// latestInviteLink returns the accept link of the latest email to address (compared without
// case) in the emulator at ses, waiting up to wait for one to come. Its error says what to do
// when the emulator does not answer or holds no such email.
func latestInviteLink(ctx context.Context, ses, address string, wait time.Duration) (string, error) {
	deadline := time.Now().Add(wait)
	for {
		emails, err := local.SESInbox(ctx, ses)
		if err != nil {
			return "", fmt.Errorf("%w (is make dev running? its SES v2 emulator is expected at %s)", err, ses)
		}
		if link := findInviteLink(emails, address); link != "" {
			return link, nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("no invitation email to %s in the SES v2 emulator at %s (%d emails there). "+
				"It keeps emails in memory: those sent before make dev last started are gone; "+
				"resend the invitation (POST /accounts/{accountId}/invitations/{invitationId}/resend) to get a new link",
				address, ses, len(emails))
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// findInviteLink returns the accept link of the latest email to address that has one, or "".
// The store lists emails oldest first; At breaks no ties, so the later in the list wins.
func findInviteLink(emails []local.SESEmail, address string) string {
	address = strings.ToLower(strings.TrimSpace(address))
	link, at := "", int64(-1)
	for _, e := range emails {
		if !slices.ContainsFunc(e.Destination.To, func(to string) bool { return strings.ToLower(strings.TrimSpace(to)) == address }) {
			continue
		}
		l := acceptLink.FindString(e.Body.Text)
		if l == "" {
			l = acceptLink.FindString(e.Body.HTML)
		}
		if l != "" && e.At >= at {
			link, at = l, e.At
		}
	}
	return link
}

// seedClient calls the local API as the seed does: JSON in, JSON out, failing on any answer but
// the one expected.
type seedClient struct {
	api  string
	http *http.Client
}

// call sends body (nil for none) as JSON with token, and decodes the answer into out (nil to
// ignore it). It returns an error naming the request and the problem unless the status is want.
func (c seedClient) call(ctx context.Context, method, path, token string, body, out any, want int) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.api+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w (is make dev running at %s?)", method, path, err, c.api)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, bytes.TrimSpace(b))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return nil
}

// The demo `make seed` writes. Its names and addresses differ from the README's walk-through
// (Acme Corp, acme.example) and the make invoke samples (events/), so all three can be run on
// one stack.
type seedLogin struct {
	name, sub, email string
	perms            []string // for users; nil for owners
}

type seedContact struct {
	Email      string   `json:"email"`
	FirstName  string   `json:"firstName"`
	LastName   string   `json:"lastName"`
	EmailTypes []string `json:"emailTypes"`
}

type seedAccount struct {
	name, kind, legacyID string
	owner                seedLogin
	users                []seedLogin
	contacts             []seedContact
	sites                map[string]map[string][]string // extra site name ("" for the main site) -> contact email -> roles
	byOperator           bool                           // contacts and relationships written by the operator (partners may not add contacts, R19)
}

var seedOperator = seedLogin{name: "OP", sub: "seed-operator", email: "operator@rollcall-demo.example"}

var seedAccounts = []seedAccount{{
	name: "Globex Demo", kind: "customer",
	owner: seedLogin{name: "OLIVIA", sub: "olivia", email: "olivia@globex.example"},
	users: []seedLogin{
		{name: "UMA", sub: "uma", email: "uma@globex.example", perms: []string{"contacts:read", "contacts:write", "sites:write"}},
		{name: "VICTOR", sub: "victor", email: "victor@globex.example", perms: []string{"contacts:read", "audit:read"}},
	},
	contacts: []seedContact{
		{"pat.primary@globex.example", "Pat", "Primary", []string{"billing", "service", "security"}},
		{"sam.second@globex.example", "Sam", "Second", []string{"service", "security"}},
		{"tess.tech@globex.example", "Tess", "Tech", []string{"service"}},
		{"bill.ing@globex.example", "Bill", "Ing", []string{"billing"}},
		{"mara.keting@globex.example", "Mara", "Keting", []string{"marketing"}},
	},
	sites: map[string]map[string][]string{
		"":              {"pat.primary@globex.example": {"Primary"}, "sam.second@globex.example": {"Secondary", "Technical"}},
		"Globex Berlin": {"tess.tech@globex.example": {"Primary", "Technical"}, "bill.ing@globex.example": {"Billing", "Renewal"}},
	},
}, {
	name: "Initech Partners", kind: "partner", legacyID: "IN-7", byOperator: true,
	owner: seedLogin{name: "PAULA", sub: "paula", email: "paula@initech.example"},
	contacts: []seedContact{
		{"milton@initech.example", "Milton", "Waddams", []string{"billing", "service"}},
		{"joanna@initech.example", "Joanna", "Kim", []string{"security"}},
	},
	sites: map[string]map[string][]string{
		"": {"milton@initech.example": {"Primary"}, "joanna@initech.example": {"Technical"}},
	},
}}

// runSeed writes the demo through the running API (so every rule and email applies) and prints,
// as shell lines, the tokens and ids to use; the other lines are comments, so that
// eval "$(make -s seed)" works. When the demo is there already it prints the same lines again.
func runSeed(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	api := fs.String("api", defaultAPI, "the local stack's API")
	ses := fs.String("ses", defaultSES, "the local stack's SES v2 emulator (for the invitation links)")
	ttl := fs.Duration("ttl", 12*time.Hour, "how long the printed tokens are valid")
	if err := fs.Parse(args); err != nil {
		return err
	}
	root, err := local.RepoRoot()
	if err != nil {
		return err
	}
	sg, err := signer(root)
	if err != nil {
		return err
	}
	return seed(ctx, os.Stdout, sg, *api, *ses, *ttl)
}

// seed is runSeed with the signer of the stack's tokens, printing to out.
func seed(ctx context.Context, out io.Writer, sg *local.Signer, api, ses string, ttl time.Duration) error {
	var err error
	tokens := map[string]string{}
	mint := func(l seedLogin, operator bool) string {
		if tokens[l.name] == "" {
			tokens[l.name], err = sg.Mint(l.sub, l.email, operator, ttl)
		}
		return tokens[l.name]
	}
	op := mint(seedOperator, true)
	if err != nil {
		return err
	}
	c := seedClient{api: strings.TrimRight(api, "/"), http: &http.Client{Timeout: 30 * time.Second}}
	ids := map[string]string{}
	fresh := false
	for _, a := range seedAccounts {
		var page struct {
			Items []struct{ ID, Name string }
		}
		if err := c.call(ctx, "GET", "/accounts?prefix="+url.QueryEscape(a.name), op, nil, &page, 200); err != nil {
			return err
		}
		for _, it := range page.Items {
			if it.Name == a.name {
				ids[a.name] = it.ID
			}
		}
		if ids[a.name] == "" {
			fresh = true
			fmt.Fprintf(os.Stderr, "seeding %s (%s)...\n", a.name, a.kind)
			if ids[a.name], err = seedOne(ctx, c, ses, a, op, func(l seedLogin) string { return mint(l, false) }); err != nil {
				return fmt.Errorf("seed %s: %w", a.name, err)
			}
		}
		mint(a.owner, false)
		for _, u := range a.users {
			mint(u, false)
		}
	}
	if err != nil {
		return err
	}
	if fresh {
		fmt.Fprintln(out, "# Seeded the demo through "+c.api+":")
	} else {
		fmt.Fprintln(out, "# The demo is there already (make reset, then make seed, to start again):")
	}
	for _, a := range seedAccounts {
		fmt.Fprintf(out, "#   %s (%s), %s: owner %s; ", a.name, a.kind, ids[a.name], a.owner.email)
		for _, u := range a.users {
			fmt.Fprintf(out, "user %s (%s); ", u.email, strings.Join(u.perms, ", "))
		}
		fmt.Fprintf(out, "%d contacts with email preferences; %s with roles\n", len(a.contacts), plural(len(a.sites), "site"))
	}
	fmt.Fprintf(out, "# Tokens, valid %s. Paste these lines, or run: eval \"$(make -s seed)\"\n", ttl.Round(time.Minute).String())
	fmt.Fprintf(out, "export API=%s\n", c.api)
	fmt.Fprintf(out, "export %s=%s   # operator\n", seedOperator.name, tokens[seedOperator.name])
	for _, a := range seedAccounts {
		fmt.Fprintf(out, "export %s=%s   # owner of %s\n", a.owner.name, tokens[a.owner.name], a.name)
		for _, u := range a.users {
			fmt.Fprintf(out, "export %s=%s   # user of %s\n", u.name, tokens[u.name], a.name)
		}
		fmt.Fprintf(out, "export %s=%s\n", strings.ToUpper(strings.Fields(a.name)[0]), ids[a.name])
	}
	fmt.Fprintf(out, "# For example: curl -sS -w '\\n' \"$API/accounts/$GLOBEX/contacts\" -H \"Authorization: Bearer $UMA\"\n")
	return nil
}

// seedOne creates account a and everything in it, and returns its id.
func seedOne(ctx context.Context, c seedClient, ses string, a seedAccount, op string, token func(seedLogin) string) (string, error) {
	var acc struct{ ID string }
	body := map[string]any{"name": a.name, "type": a.kind,
		"owner": map[string]any{"firstName": titled(a.owner.sub), "lastName": "Demo", "email": a.owner.email}}
	if a.legacyID != "" {
		body["legacyId"] = a.legacyID
	}
	if err := c.call(ctx, "POST", "/accounts", op, body, &acc, 201); err != nil {
		return "", err
	}
	accept := func(l seedLogin) error {
		link, err := latestInviteLink(ctx, ses, l.email, 30*time.Second)
		if err != nil {
			return err
		}
		u, _ := url.Parse(link)
		return c.call(ctx, "POST", "/invitations/accept", token(l), map[string]string{"token": u.Query().Get("token")}, nil, 201)
	}
	owner := token(a.owner)
	if err := accept(a.owner); err != nil {
		return "", fmt.Errorf("the owner's invitation: %w", err)
	}
	for _, u := range a.users {
		if err := c.call(ctx, "POST", "/accounts/"+acc.ID+"/invitations", owner,
			map[string]any{"email": u.email, "permissions": u.perms}, nil, 201); err != nil {
			return "", err
		}
		if err := accept(u); err != nil {
			return "", fmt.Errorf("%s's invitation: %w", u.email, err)
		}
	}
	writer := owner
	if a.byOperator {
		writer = op
	}
	var results struct {
		Results []struct {
			Status int
			Item   struct{ ID, Email string }
			Error  json.RawMessage
		}
	}
	if err := c.call(ctx, "POST", "/accounts/"+acc.ID+"/contacts/batch", writer, map[string]any{"items": a.contacts}, &results, 200); err != nil {
		return "", err
	}
	contactIDs := map[string]string{}
	for i, r := range results.Results {
		if r.Item.ID == "" {
			return "", fmt.Errorf("contact %s: %s", a.contacts[i].Email, r.Error)
		}
		contactIDs[a.contacts[i].Email] = r.Item.ID
	}
	var sites struct{ Items []struct{ ID, Name string } }
	if err := c.call(ctx, "GET", "/accounts/"+acc.ID+"/sites", op, nil, &sites, 200); err != nil {
		return "", err
	}
	if len(sites.Items) == 0 {
		return "", errors.New("the account has no main site")
	}
	siteIDs := map[string]string{"": sites.Items[0].ID}
	for _, name := range sortedKeys(a.sites) {
		if name == "" {
			continue
		}
		var site struct{ ID string }
		if err := c.call(ctx, "POST", "/accounts/"+acc.ID+"/sites", op, map[string]string{"name": name}, &site, 201); err != nil {
			return "", err
		}
		siteIDs[name] = site.ID
	}
	for _, name := range sortedKeys(a.sites) {
		for _, email := range sortedKeys(a.sites[name]) {
			path := "/accounts/" + acc.ID + "/sites/" + siteIDs[name] + "/contacts/" + contactIDs[email]
			if err := c.call(ctx, "PUT", path, writer, map[string]any{"roles": a.sites[name][email]}, nil, 201); err != nil {
				return "", err
			}
		}
	}
	return acc.ID, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func titled(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
