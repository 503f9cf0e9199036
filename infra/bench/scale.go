package bench

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// scaleRows measures list-contacts (unfiltered, ?q= and ?emailType=, each matching 3 of the
// account's contacts when filtered) at each of Options.ContactSizes.
func (e *env) contactScaling(ctx context.Context) ([]Row, error) {
	var rows []Row
	for _, n := range e.opts.ContactSizes {
		if !e.opts.keep(fmt.Sprintf("list-contacts, %d contacts, ", n)) && !e.opts.keep(fmt.Sprintf("list-contacts, %d contacts, ?", n)) {
			continue
		}
		acc, err := e.createAccount(ctx, fmt.Sprintf("Scale %d", n), fmt.Sprintf("bench-scale-%d", n))
		if err != nil {
			return nil, err
		}
		start := time.Now()
		if err := e.seedContacts(ctx, acc, n, min(3, n)); err != nil {
			return nil, err
		}
		e.progress("seeded %d contacts in %v", n, time.Since(start).Round(time.Millisecond))
		sub := fmt.Sprintf("bench-scale-%d", n)
		for _, q := range []struct {
			what  string
			query url.Values
		}{
			{"unfiltered", nil},
			{"?q=zyzz (3 match)", url.Values{"q": {"zyzz"}}},
			{"?emailType=marketing (3 match)", url.Values{"emailType": {"marketing"}}},
		} {
			name := fmt.Sprintf("list-contacts, %d contacts, %s", n, q.what)
			if !e.opts.keep(name) {
				continue
			}
			r := request{fn: "list-contacts", sub: sub, params: P("accountId", acc), query: q.query, want: 200}
			row, err := e.measure(ctx, routeCase{name: name, samples: e.opts.ScaleSamples,
				prep: func(context.Context) (request, error) { return r, nil }})
			if err != nil {
				return nil, err
			}
			rows = append(rows, row)
		}
	}
	return rows, nil
}

// membershipScaling measures GET /me/accounts of logins with each of Options.MembershipSizes
// memberships (each the owner of that many accounts).
func (e *env) membershipScaling(ctx context.Context) ([]Row, error) {
	var rows []Row
	for _, n := range e.opts.MembershipSizes {
		name := fmt.Sprintf("GET /me/accounts, %d memberships", n)
		if !e.opts.keep(name) {
			continue
		}
		sub := fmt.Sprintf("bench-member-of-%d", n)
		start := time.Now()
		for i := range n {
			if _, err := e.createAccount(ctx, fmt.Sprintf("Member %d of %d", i, n), sub); err != nil {
				return nil, err
			}
		}
		e.progress("created %d accounts of %s in %v", n, sub, time.Since(start).Round(time.Millisecond))
		r := request{fn: "list-my-accounts", sub: sub, query: url.Values{"limit": {"100"}}, want: 200}
		row, err := e.measure(ctx, routeCase{name: name, samples: e.opts.ScaleSamples,
			prep: func(context.Context) (request, error) { return r, nil }})
		if err != nil {
			return nil, err
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// Writers is the concurrent-writers comparison: Options.Writers writers creating and updating
// contacts (through the handlers, in-process) in one account, and as many spread over as many
// accounts.
type Writers struct {
	Writers    int
	Ops        int           // operations per writer per case
	One        float64       // operations per second, all writers in one account
	Spread     float64       // operations per second, one account per writer
	OneTook    time.Duration // wall time of the one-account runs
	SpreadTook time.Duration
	OneErrors  int // operations that did not answer 201/200 (DynamoDB Local's lock time-outs included)
	SpreadErr  int
}

// Ratio is the one-account throughput over the spread one (the target: ≥ 0.9).
func (w Writers) Ratio() float64 {
	if w.Spread == 0 {
		return 0
	}
	return w.One / w.Spread
}

// writers runs the comparison in two rounds each, alternating (one, spread, one, spread), each
// writer doing half of Options.WriterOps per round: create a contact, then update it, and so on.
// In the one-account case every writer is the account's owner (one user importing from many
// workers, issue 12's common case).
func (e *env) writers(ctx context.Context) (Writers, error) {
	w := Writers{Writers: e.opts.Writers, Ops: e.opts.WriterOps}
	n := e.opts.Writers
	one, err := e.createAccount(ctx, "Writers One", "bench-writer-one")
	if err != nil {
		return w, err
	}
	spread := make([]string, n)
	for i := range spread {
		if spread[i], err = e.createAccount(ctx, fmt.Sprintf("Writers %d", i), fmt.Sprintf("bench-writer-%d", i)); err != nil {
			return w, err
		}
	}
	var firstErr atomic.Pointer[error]
	run := func(accounts, subs []string, ops int) (time.Duration, int) {
		var errs atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				acc, sub := accounts[i%len(accounts)], subs[i%len(subs)]
				var contact string
				for k := range ops {
					var r request
					if k%2 == 0 || contact == "" {
						m := e.next()
						r = request{fn: "create-contact", sub: sub, params: P("accountId", acc),
							body: fmt.Sprintf(`{"email":"w%d@bench.example","firstName":"W","lastName":"N%d","emailTypes":["billing"]}`, m, m), want: 201}
					} else {
						r = request{fn: "update-contact", sub: sub, params: P("accountId", acc, "contactId", contact),
							body: fmt.Sprintf(`{"phone":"+1 555 %04d"}`, e.next()%10000), want: 200}
					}
					a, err := e.do(ctx, r)
					if err != nil {
						errs.Add(1)
						firstErr.CompareAndSwap(nil, &err)
						continue
					}
					if r.fn == "create-contact" {
						contact, _ = a.json()["id"].(string)
					}
				}
			}()
		}
		wg.Wait()
		return time.Since(start), int(errs.Load())
	}
	oneSubs := []string{"bench-writer-one"}
	spreadSubs := make([]string, n)
	for i := range spreadSubs {
		spreadSubs[i] = fmt.Sprintf("bench-writer-%d", i)
	}
	half := max(1, e.opts.WriterOps/2)
	for range 2 {
		d, errs := run([]string{one}, oneSubs, half)
		w.OneTook += d
		w.OneErrors += errs
		d, errs = run(spread, spreadSubs, half)
		w.SpreadTook += d
		w.SpreadErr += errs
	}
	total := float64(2 * n * half)
	if p := firstErr.Load(); p != nil && (w.OneErrors == int(total) || w.SpreadErr == int(total)) {
		return w, fmt.Errorf("bench: writers: every operation failed, the first with: %w", *p)
	}
	if p := firstErr.Load(); p != nil {
		e.progress("writers: %d + %d operations failed; the first: %v", w.OneErrors, w.SpreadErr, *p)
	}
	w.Ops = 2 * half
	w.One = (total - float64(w.OneErrors)) / w.OneTook.Seconds()
	w.Spread = (total - float64(w.SpreadErr)) / w.SpreadTook.Seconds()
	e.progress("writers: one account %.0f ops/s (%d errors), %d accounts %.0f ops/s (%d errors), ratio %.2f",
		w.One, w.OneErrors, n, w.Spread, w.SpreadErr, w.Ratio())
	return w, nil
}
