package handlers_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"rollcall/shared/dbtrace"
	"rollcall/shared/table"
)

// Issue 12 item 3: "A test inspects each operation's transaction and lists the items it shares
// with a concurrent write to another contact of the same account." Each operation that writes a
// contact or a relationship is made through its handler on two contacts of one account by one
// caller; the items the two requests write (every item of their TransactWriteItems, condition
// checks included, and any single-item write) are intersected. Reads are left out: in DynamoDB
// a read does not conflict with a transaction.
//
// A contact write may share only the recipient counters (R18) of the email types whose count
// both writes change, and must touch exactly those counters (so R18 stays enforced in its
// transaction). Relationship writes and the membership writes that link or unlink a contact may
// share what allowedShares lists for them, and nothing else; an entry there that no request
// shares any more fails too, so that the list only shrinks.

// allowedShares lists, per operation (case name), the items other than recipient counters it
// still shares with the same operation on another contact of the account, and why. Names: see
// sharedName.
var allowedShares = map[string]map[string]string{
	// Relationship writes shared the caller's membership and the site item (rights and the site
	// checked in the transaction) until 341c1b7 moved those checks to their read. Between writes
	// to different contacts they may meet only on the guard of a unique-per-site role both take or
	// give up (R21), which these cases do not use.

	// A new member's membership copies the account's name and type (issue 12 item 2): the accept
	// checks in its transaction that the account still has them. One accept per login.
	"accept-invitation (welcome: links its contact)": {
		"account": "the membership's copy of the account's name and type is checked (ConditionCheck)",
	},
	// Owner-only: the owner's right is re-checked in the transaction (issue 14, R5/R7;
	// TestRightsAreRecheckedInTheTransaction).
	"remove-user (unlinks its contact)": {
		"caller's membership": "the owner's right re-checked in the transaction (ConditionCheck)",
	},
}

// shareCase is one operation, made on two contacts.
type shareCase struct {
	name   string
	kind   string   // "contact" (only counters may be shared) or another kind (allowedShares)
	types  []string // contact writes: the email types whose recipient count each write changes
	caller string
	shared []string // items both requests wrote, by sharedName
}

// writtenItems is every item the calls wrote or condition-checked, by key: each item of a
// TransactWriteItems and the item of a single-item write.
func writtenItems(calls []dbtrace.Call) map[table.Key]string {
	out := map[table.Key]string{}
	for _, c := range calls {
		switch c.Op {
		case "TransactWriteItems", "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem":
			for _, it := range c.Items {
				out[table.Key{PK: it.PK, SK: it.SK}] = it.Action
			}
		}
	}
	return out
}

// sharedName names a shared item of account acc for the report and allowedShares: "account",
// "caller's membership", "site", "counter <type>", or its sort key.
func sharedName(acc, caller, site string, k table.Key) string {
	switch {
	case k == table.Account(acc):
		return "account"
	case k == table.User(acc, caller):
		return "caller's membership"
	case k == table.Site(acc, site):
		return "site"
	case k.PK == table.AccountPK(acc) && strings.HasPrefix(k.SK, counterSKPrefix):
		return "counter " + strings.TrimPrefix(k.SK, counterSKPrefix)
	}
	return k.PK + "/" + k.SK
}

var counterSKPrefix = strings.TrimSuffix(table.RecipientCounter("x", "t").SK, "t")

func TestContactWritesShareNoItemWithWritesToOtherContacts(t *testing.T) {
	d := newDepthEnv(t)
	acc := d.createAccount("customer")
	d.member(acc, "ada", "owner")
	d.member(acc, "bob", "user", "contacts:read", "contacts:write", "sites:write")
	site := d.mainSite(acc)
	P := map[string]string{"accountId": acc}
	C := func(id string) map[string]string { return map[string]string{"accountId": acc, "contactId": id} }
	R := func(id string) map[string]string {
		return map[string]string{"accountId": acc, "siteId": site, "contactId": id}
	}
	as := func(sub string, fn string, p map[string]string, body string) call {
		c := call{function: fn, sub: sub, operator: sub == "op", params: p}
		if body != "" {
			c.body = str(body)
		}
		return c
	}

	var cases []shareCase
	// pair makes request(i) for i = 0 and 1 (two contacts), each answering want, and records
	// what the two share. It returns the two answers.
	pair := func(name, kind string, types []string, caller string, want int, request func(i int) call) [2]answer {
		t.Helper()
		var answers [2]answer
		var written [2]map[table.Key]string
		for i := range 2 {
			d.rec.Reset()
			answers[i] = d.do(request(i))
			written[i] = writtenItems(d.rec.Take())
			if answers[i].status != want {
				t.Fatalf("%s by %s, contact %d: %d %s, want %d", name, caller, i, answers[i].status, answers[i].raw, want)
			}
			if kind != "contact" {
				continue
			}
			// R18 in the transaction: exactly the counters of the types whose count changes.
			var counters, wantCounters []string
			for k := range written[i] {
				if n := sharedName(acc, caller, site, k); strings.HasPrefix(n, "counter ") {
					counters = append(counters, n)
				}
			}
			for _, typ := range types {
				wantCounters = append(wantCounters, "counter "+typ)
			}
			slices.Sort(counters)
			slices.Sort(wantCounters)
			if !slices.Equal(counters, wantCounters) {
				t.Errorf("%s by %s: its transaction touches %v, want the counters of the types whose count it changes %v", name, caller, counters, wantCounters)
			}
		}
		c := shareCase{name: name, kind: kind, types: types, caller: caller, shared: []string{}}
		for k := range written[0] {
			if _, both := written[1][k]; both {
				c.shared = append(c.shared, sharedName(acc, caller, site, k))
			}
		}
		slices.Sort(c.shared)
		cases = append(cases, c)
		return answers
	}
	id := func(a [2]answer, i int) string { return a[i].body["id"].(string) }
	rowID := func(a [2]answer, i int) string {
		return a[i].body["results"].([]any)[0].(map[string]any)["item"].(map[string]any)["id"].(string)
	}

	for _, who := range []string{"bob", "op"} {
		email := func(what string, i int) string { return fmt.Sprintf("%s-%s-%d@shares.example", who, what, i) }
		plain := pair("create-contact (no email type)", "contact", nil, who, 201, func(i int) call {
			return as(who, "create-contact", P, fmt.Sprintf(`{"email":%q,"firstName":"P","lastName":"L"}`, email("plain", i)))
		})
		billing := pair("create-contact (billing)", "contact", []string{"billing"}, who, 201, func(i int) call {
			return as(who, "create-contact", P, fmt.Sprintf(`{"email":%q,"emailTypes":["billing"]}`, email("billing", i)))
		})
		pair("create-contact (Idempotency-Key)", "contact", nil, who, 201, func(i int) call {
			c := as(who, "create-contact", P, fmt.Sprintf(`{"email":%q}`, email("keyed", i)))
			c.headers = map[string]string{"Idempotency-Key": fmt.Sprintf("shares-%d", i)}
			return c
		})
		rows := pair("batch-create-contacts (a row, no email type)", "contact", nil, who, 200, func(i int) call {
			return as(who, "batch-create-contacts", P, fmt.Sprintf(`{"items":[{"email":%q}]}`, email("row", i)))
		})
		billingRows := pair("batch-create-contacts (a row, billing)", "contact", []string{"billing"}, who, 200, func(i int) call {
			return as(who, "batch-create-contacts", P, fmt.Sprintf(`{"items":[{"email":%q,"emailTypes":["billing"]}]}`, email("billingrow", i)))
		})
		pair("update-contact (no email type changed)", "contact", nil, who, 200, func(i int) call {
			return as(who, "update-contact", C(id(plain, i)), `{"phone":"+1 555 0100"}`)
		})
		pair("update-contact (email)", "contact", nil, who, 200, func(i int) call {
			return as(who, "update-contact", C(id(plain, i)), fmt.Sprintf(`{"email":%q}`, email("renamed", i)))
		})
		pair("update-contact (billing → service)", "contact", []string{"billing", "service"}, who, 200, func(i int) call {
			return as(who, "update-contact", C(id(billing, i)), `{"emailTypes":["service"]}`)
		})
		pair("delete-contact (no email type)", "contact", nil, who, 204, func(i int) call {
			return as(who, "delete-contact", C(rowID(rows, i)), "")
		})
		pair("delete-contact (billing)", "contact", []string{"billing"}, who, 204, func(i int) call {
			return as(who, "delete-contact", C(rowID(billingRows, i)), "")
		})

		// Relationships of the plain contacts (their first: a welcome invitation each).
		pair("put-relationship (first: welcome invitation)", "relationship", nil, who, 201, func(i int) call {
			return as(who, "put-relationship", R(id(plain, i)), `{"roles":["Technical"]}`)
		})
		pair("put-relationship (change roles)", "relationship", nil, who, 200, func(i int) call {
			return as(who, "put-relationship", R(id(plain, i)), `{"roles":["Technical","Billing"]}`)
		})
		pair("batch-put-relationships (a row)", "relationship", nil, who, 200, func(i int) call {
			return as(who, "batch-put-relationships", map[string]string{"accountId": acc, "siteId": site},
				fmt.Sprintf(`{"items":[{"contactId":%q,"roles":["Technical"]}]}`, id(billing, i)))
		})
		pair("delete-relationship", "relationship", nil, who, 204, func(i int) call {
			return as(who, "delete-relationship", R(id(billing, i)), "")
		})

		// The plain contacts' welcome invitations are accepted (linking them to new users), the
		// users removed by the owner or an operator (unlinking them), then the contacts deleted
		// with their relationships.
		login := func(i int) string { return fmt.Sprintf("%s-login-%d", who, i) }
		pair("accept-invitation (welcome: links its contact)", "membership", nil, "(each its own login)", 201, func(i int) call {
			return as(login(i), "accept-invitation", nil, fmt.Sprintf(`{"token":%q}`, d.welcomeToken(acc, id(plain, i))))
		})
		remover := map[string]string{"bob": "ada", "op": "op"}[who]
		pair("remove-user (unlinks its contact)", "membership", nil, remover, 204, func(i int) call {
			return as(remover, "remove-user", map[string]string{"accountId": acc, "userId": login(i)}, "")
		})
		pair("delete-contact (with a relationship)", "contact", nil, who, 204, func(i int) call {
			return as(who, "delete-contact", C(id(plain, i)), "")
		})
	}

	// The report, and the verdicts.
	var b strings.Builder
	fmt.Fprintf(&b, "%-48s %-20s %s\n", "operation (on two contacts of one account)", "caller", "items both write")
	stillShared := map[string]map[string]bool{}
	for _, c := range cases {
		shared := "none"
		if len(c.shared) > 0 {
			shared = strings.Join(c.shared, ", ")
		}
		fmt.Fprintf(&b, "%-48s %-20s %s\n", c.name, c.caller, shared)
		for _, n := range c.shared {
			switch {
			case c.kind == "contact" && strings.HasPrefix(n, "counter ") && slices.Contains(c.types, strings.TrimPrefix(n, "counter ")):
				// both writes change this type's count: they must meet (R18)
			case c.kind == "contact":
				t.Errorf("%s by %s shares %s with the same write to another contact: a contact write may share only the counters of the types whose count both change", c.name, c.caller, n)
			case allowedShares[c.name][n] != "":
				if stillShared[c.name] == nil {
					stillShared[c.name] = map[string]bool{}
				}
				stillShared[c.name][n] = true
			default:
				t.Errorf("%s by %s shares %s with the same write to another contact, which allowedShares does not list", c.name, c.caller, n)
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(allowedShares)) {
		for _, n := range slices.Sorted(maps.Keys(allowedShares[name])) {
			if !stillShared[name][n] {
				t.Errorf("allowedShares lists %q for %s, which no request shares any more: remove it", n, name)
			}
		}
	}
	t.Logf("items shared by one operation on two contacts of one account (writes and condition checks; reads left out):\n%s", b.String())
}

// A single create checks the caller's rights, the account (R19) and its Idempotency-Key's record
// with one BatchGetItem, then writes one transaction: two round trips (a listed exception to the
// create budget, docs/decisions.md). A repeat of a create that succeeded is answered from that
// read alone: one round trip, the first answer, nothing written.
func TestCreateContactRoundTripsAndItsReplay(t *testing.T) {
	d := newDepthEnv(t)
	acc := d.createAccount("customer")
	d.member(acc, "bob", "user", "contacts:write")
	c := call{function: "create-contact", sub: "bob", params: map[string]string{"accountId": acc},
		headers: map[string]string{"Idempotency-Key": "create-1"}, body: str(`{"email":"once@acme.example","emailTypes":["billing"]}`)}
	ops := func(calls []dbtrace.Call) string {
		var s []string
		for _, c := range calls {
			s = append(s, c.Op)
		}
		return strings.Join(s, " ")
	}
	d.rec.Reset()
	first := d.do(c)
	calls := d.rec.Take()
	if first.status != 201 || ops(calls) != "BatchGetItem TransactWriteItems" || dbtrace.Depth(calls) != 2 {
		t.Fatalf("create: %d, calls %q (depth %d), want 201 after BatchGetItem TransactWriteItems: %s", first.status, ops(calls), dbtrace.Depth(calls), first.raw)
	}
	before := d.scan()
	again := d.do(c)
	calls = d.rec.Take()
	if again.status != 201 || again.raw != first.raw || again.headers["Idempotent-Replayed"] != "true" {
		t.Fatalf("repeat: %d %v %s, want the first answer %s", again.status, again.headers, again.raw, first.raw)
	}
	if ops(calls) != "BatchGetItem" {
		t.Fatalf("repeat: calls %q, want one BatchGetItem", ops(calls))
	}
	if d.scan() != before {
		t.Fatal("the repeat wrote items")
	}
	t.Logf("create-contact with an Idempotency-Key: first %d round trips, repeat %d", 2, dbtrace.Depth(calls))
}
