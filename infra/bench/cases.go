package bench

import (
	"context"
	"fmt"
	"net/url"
	"time"
)

// fixture is the per-route table's account: an owner, a member with every permission, contacts,
// a site with relationships, a user linked to a Primary contact (for the admin routes), a pending
// invitation, and a second account for the operator's ownership transfers.
type fixture struct {
	acc                 string
	contact             string // a contact the member reads and updates
	site                string
	pending             string // token of a pending invitation
	xferAcc             string
	xferOwner, xferUser string
	pool                []string // BatchRows contacts for batch-put-relationships
	heavy               []string // contacts with Options.Relationships relationships each
}

const (
	owner  = "bench-owner"
	member = "bench-member"
	grace  = "bench-grace"
)

var allPermissions = []string{"contacts:read", "contacts:write", "sites:write", "audit:read"}

func (e *env) setUpFixture(ctx context.Context, heavyTargets int) (*fixture, error) {
	f := &fixture{}
	var err error
	if f.acc, err = e.createAccount(ctx, "Bench Co", owner); err != nil {
		return nil, err
	}
	if err := e.invite(ctx, f.acc, owner, member, allPermissions...); err != nil {
		return nil, err
	}
	// 60 contacts, so that a list page is full (50 items).
	if err := e.seedContacts(ctx, f.acc, 60, 0); err != nil {
		return nil, err
	}
	if f.contact, err = e.createContact(ctx, f.acc, member); err != nil {
		return nil, err
	}
	if f.site, err = e.createSite(ctx, f.acc); err != nil {
		return nil, err
	}
	rel, err := e.batchCreate(ctx, f.acc, member, 20)
	if err != nil {
		return nil, err
	}
	if _, err := e.do(ctx, request{fn: "batch-put-relationships", sub: member, params: P("accountId", f.acc, "siteId", f.site),
		body: relationshipRows(rel, "Technical"), want: 200}); err != nil {
		return nil, err
	}
	// grace: a contact with the Primary role who accepted her welcome invitation (admin-eligible).
	email := fmt.Sprintf("grace%d@bench.example", e.next())
	a, err := e.do(ctx, request{fn: "create-contact", sub: member, params: P("accountId", f.acc),
		body: fmt.Sprintf(`{"email":%q,"firstName":"Grace","lastName":"Hopper","emailTypes":["billing"]}`, email), want: 201})
	if err != nil {
		return nil, err
	}
	gid, _ := a.json()["id"].(string)
	if _, err := e.do(ctx, request{fn: "put-relationship", sub: member, params: P("accountId", f.acc, "siteId", f.site, "contactId", gid),
		body: `{"roles":["Primary"]}`, want: 201}); err != nil {
		return nil, err
	}
	if err := e.accept(ctx, f.acc, email, grace); err != nil {
		return nil, err
	}
	// A pending invitation, for lookup-invitation.
	pendingEmail := fmt.Sprintf("pending%d@bench.example", e.next())
	if _, err := e.do(ctx, request{fn: "create-invitation", sub: owner, params: P("accountId", f.acc),
		body: fmt.Sprintf(`{"email":%q,"permissions":[]}`, pendingEmail), want: 201}); err != nil {
		return nil, err
	}
	if f.pending, err = e.invitationToken(ctx, f.acc, pendingEmail); err != nil {
		return nil, err
	}
	// The ownership transfers' account: an owner and a user, the operator moves ownership between them.
	f.xferOwner, f.xferUser = "bench-xfer-a", "bench-xfer-b"
	if f.xferAcc, err = e.createAccount(ctx, "Transfer Co", f.xferOwner); err != nil {
		return nil, err
	}
	if err := e.invite(ctx, f.xferAcc, f.xferOwner, f.xferUser); err != nil {
		return nil, err
	}
	// The contacts batch-put-relationships puts on a fresh site each run.
	if f.pool, err = e.batchCreate(ctx, f.acc, member, e.opts.BatchRows); err != nil {
		return nil, err
	}
	// Contacts with Options.Relationships relationships each (one per site), for delete-contact.
	if heavyTargets > 0 {
		start := time.Now()
		if f.heavy, err = e.batchCreate(ctx, f.acc, member, heavyTargets); err != nil {
			return nil, err
		}
		for range e.opts.Relationships {
			s, err := e.createSite(ctx, f.acc)
			if err != nil {
				return nil, err
			}
			if _, err := e.do(ctx, request{fn: "batch-put-relationships", sub: member, params: P("accountId", f.acc, "siteId", s),
				body: relationshipRows(f.heavy, "Technical"), want: 200}); err != nil {
				return nil, err
			}
		}
		e.progress("set up %d contacts with %d relationships each in %v", heavyTargets, e.opts.Relationships, time.Since(start).Round(time.Millisecond))
	}
	return f, nil
}

// routeCases are the per-route table's rows: every route of the route table, and the issue's
// sized cases (100-row batches, delete-contact with many relationships, the operator's transfer).
func (e *env) routeCases(f *fixture) []routeCase {
	A := P("accountId", f.acc)
	read := func(name, fn, sub string, params map[string]string, query url.Values, body string) routeCase {
		return routeCase{name: name, prep: func(context.Context) (request, error) {
			return request{fn: fn, sub: sub, params: params, query: query, body: body, want: 200}, nil
		}}
	}
	same := func(r request) func(context.Context) (request, error) {
		return func(context.Context) (request, error) { return r, nil }
	}
	fresh := func(n int64) string { return fmt.Sprintf("fresh%d@bench.example", n) }
	perms := 0
	xferTo := f.xferUser
	admin := false
	heavy := 0
	cases := []routeCase{
		read("get-catalog", "get-catalog", "anyone", nil, nil, ""),
		read("list-my-accounts (1 membership)", "list-my-accounts", member, nil, nil, ""),
		read("lookup-invitation", "lookup-invitation", "anyone", nil, nil, fmt.Sprintf(`{"token":%q}`, f.pending)),
		{name: "list-accounts", prep: same(request{fn: "list-accounts", sub: operator, operator: true, want: 200})},
		read("get-account", "get-account", owner, A, nil, ""),
		read("list-users", "list-users", owner, A, nil, ""),
		read("get-user", "get-user", owner, P("accountId", f.acc, "userId", member), nil, ""),
		read("list-invitations", "list-invitations", owner, A, nil, ""),
		read("list-audit", "list-audit", member, A, nil, ""),
		read("list-contacts (50 items)", "list-contacts", member, A, nil, ""),
		read("get-contact", "get-contact", member, P("accountId", f.acc, "contactId", f.contact), nil, ""),
		read("list-sites", "list-sites", member, A, nil, ""),
		read("list-site-contacts (20 items)", "list-site-contacts", member, P("accountId", f.acc, "siteId", f.site), nil, ""),

		{name: "create-account", write: true, prep: func(context.Context) (request, error) {
			n := e.next()
			return opReq("create-account", nil, fmt.Sprintf(`{"name":"Fresh %d","owner":{"firstName":"F","lastName":"N","email":%q}}`, n, fresh(n)), 201), nil
		}},
		{name: "update-account (rename)", write: true, prep: func(context.Context) (request, error) {
			return opReq("update-account", A, fmt.Sprintf(`{"name":"Bench Co %d"}`, e.next()), 200), nil
		}},
		{name: "transfer-ownership (operator)", write: true, prep: func(context.Context) (request, error) {
			to := xferTo
			if xferTo == f.xferUser {
				xferTo = f.xferOwner
			} else {
				xferTo = f.xferUser
			}
			return opReq("transfer-ownership", P("accountId", f.xferAcc), fmt.Sprintf(`{"userId":%q}`, to), 200), nil
		}},
		{name: "update-user", write: true, prep: func(context.Context) (request, error) {
			perms++
			p := `["contacts:read","contacts:write","sites:write","audit:read"]`
			if perms%2 == 1 {
				p = `["contacts:read","contacts:write","sites:write"]`
			}
			return request{fn: "update-user", sub: owner, params: P("accountId", f.acc, "userId", member), body: `{"permissions":` + p + `}`, want: 200}, nil
		}},
		{name: "remove-user", write: true, prep: func(ctx context.Context) (request, error) {
			sub := fmt.Sprintf("bench-leaver-%d", e.next())
			if err := e.invite(ctx, f.acc, owner, sub); err != nil {
				return request{}, err
			}
			return request{fn: "remove-user", sub: owner, params: P("accountId", f.acc, "userId", sub), want: 204}, nil
		}},
		{name: "grant-admin", write: true, prep: func(ctx context.Context) (request, error) {
			if admin {
				if _, err := e.do(ctx, opReq("revoke-admin", P("accountId", f.acc, "userId", grace), "", 200)); err != nil {
					return request{}, err
				}
			}
			admin = true
			return opReq("grant-admin", P("accountId", f.acc, "userId", grace), "", 200), nil
		}},
		{name: "revoke-admin", write: true, prep: func(ctx context.Context) (request, error) {
			if !admin {
				if _, err := e.do(ctx, opReq("grant-admin", P("accountId", f.acc, "userId", grace), "", 200)); err != nil {
					return request{}, err
				}
			}
			admin = false
			return opReq("revoke-admin", P("accountId", f.acc, "userId", grace), "", 200), nil
		}},
		{name: "create-invitation", write: true, prep: func(context.Context) (request, error) {
			return request{fn: "create-invitation", sub: owner, params: A, body: fmt.Sprintf(`{"email":%q,"permissions":["contacts:read"]}`, fresh(e.next())), want: 201}, nil
		}},
		{name: "resend-invitation", write: true, prep: func(ctx context.Context) (request, error) {
			a, err := e.do(ctx, request{fn: "create-invitation", sub: owner, params: A, body: fmt.Sprintf(`{"email":%q,"permissions":[]}`, fresh(e.next())), want: 201})
			if err != nil {
				return request{}, err
			}
			e.offset.Add(int64(61 * time.Second)) // resending waits 60 s after a send
			return request{fn: "resend-invitation", sub: owner, params: P("accountId", f.acc, "invitationId", a.json()["id"].(string)), want: 200}, nil
		}},
		{name: "revoke-invitation", write: true, prep: func(ctx context.Context) (request, error) {
			a, err := e.do(ctx, request{fn: "create-invitation", sub: owner, params: A, body: fmt.Sprintf(`{"email":%q,"permissions":[]}`, fresh(e.next())), want: 201})
			if err != nil {
				return request{}, err
			}
			return request{fn: "revoke-invitation", sub: owner, params: P("accountId", f.acc, "invitationId", a.json()["id"].(string)), want: 200}, nil
		}},
		{name: "accept-invitation", write: true, prep: func(ctx context.Context) (request, error) {
			email := fresh(e.next())
			if _, err := e.do(ctx, request{fn: "create-invitation", sub: owner, params: A, body: fmt.Sprintf(`{"email":%q,"permissions":[]}`, email), want: 201}); err != nil {
				return request{}, err
			}
			tok, err := e.invitationToken(ctx, f.acc, email)
			if err != nil {
				return request{}, err
			}
			return request{fn: "accept-invitation", sub: fmt.Sprintf("bench-joiner-%d", e.next()), body: fmt.Sprintf(`{"token":%q}`, tok), want: 201}, nil
		}},
		{name: "create-contact", write: true, prep: func(context.Context) (request, error) {
			n := e.next()
			return request{fn: "create-contact", sub: member, params: A,
				body: fmt.Sprintf(`{"email":%q,"firstName":"Ada","lastName":"N%d","emailTypes":["billing"]}`, fresh(n), n), want: 201}, nil
		}},
		{name: fmt.Sprintf("batch-create-contacts (%d rows)", e.opts.BatchRows), write: true, samples: e.opts.BatchSamples, prep: func(context.Context) (request, error) {
			return request{fn: "batch-create-contacts", sub: member, params: A, body: contactRows(e, e.opts.BatchRows), want: 200}, nil
		}},
		{name: "update-contact", write: true, prep: func(context.Context) (request, error) {
			return request{fn: "update-contact", sub: member, params: P("accountId", f.acc, "contactId", f.contact),
				body: fmt.Sprintf(`{"phone":"+1 555 %04d"}`, e.next()%10000), want: 200}, nil
		}},
		{name: "delete-contact", write: true, prep: func(ctx context.Context) (request, error) {
			c, err := e.createContact(ctx, f.acc, member)
			return request{fn: "delete-contact", sub: member, params: P("accountId", f.acc, "contactId", c), want: 204}, err
		}},
		{name: "create-site", write: true, prep: func(context.Context) (request, error) {
			return opReq("create-site", A, fmt.Sprintf(`{"name":"Site %d"}`, e.next()), 201), nil
		}},
		{name: "put-relationship (new)", write: true, prep: func(ctx context.Context) (request, error) {
			c, err := e.createContact(ctx, f.acc, member)
			return request{fn: "put-relationship", sub: member, params: P("accountId", f.acc, "siteId", f.site, "contactId", c), body: `{"roles":["Technical"]}`, want: 201}, err
		}},
		{name: fmt.Sprintf("batch-put-relationships (%d rows)", e.opts.BatchRows), write: true, samples: e.opts.BatchSamples, prep: func(ctx context.Context) (request, error) {
			s, err := e.createSite(ctx, f.acc)
			return request{fn: "batch-put-relationships", sub: member, params: P("accountId", f.acc, "siteId", s), body: relationshipRows(f.pool, "Technical"), want: 200}, err
		}},
		{name: "delete-relationship", write: true, prep: func(ctx context.Context) (request, error) {
			c, err := e.createContact(ctx, f.acc, member)
			if err != nil {
				return request{}, err
			}
			R := P("accountId", f.acc, "siteId", f.site, "contactId", c)
			if _, err := e.do(ctx, request{fn: "put-relationship", sub: member, params: R, body: `{"roles":["Technical"]}`, want: 201}); err != nil {
				return request{}, err
			}
			return request{fn: "delete-relationship", sub: member, params: R, want: 204}, nil
		}},
	}
	if len(f.heavy) > 0 {
		cases = append(cases, routeCase{name: fmt.Sprintf("delete-contact (%d relationships)", e.opts.Relationships), write: true,
			samples: len(f.heavy) / 2, warmup: -1, prep: func(context.Context) (request, error) {
				if heavy >= len(f.heavy) {
					return request{}, fmt.Errorf("bench: no contact with %d relationships left", e.opts.Relationships)
				}
				c := f.heavy[heavy]
				heavy++
				return request{fn: "delete-contact", sub: member, params: P("accountId", f.acc, "contactId", c), want: 204}, nil
			}})
	}
	return cases
}
