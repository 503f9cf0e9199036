package bench

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// GatewayBudget is DESIGN §7's bound on the local gateway: an operation's median through it
// within 1.25× the median of the raw DynamoDB calls it makes.
const GatewayBudget = 1.25

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d.Microseconds())/1000) }

func ratio(a, b Stat) string {
	r := Ratio(a, b)
	if r == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", r)
}

// Table writes rows as a Markdown table.
func Table(w io.Writer, rows []Row) {
	fmt.Fprintln(w, "| route (case) | depth | calls | handler p50 / p99 ms | gateway p50 / p99 ms | raw p50 / p99 ms | raw = | handler ÷ raw | gateway ÷ raw | n |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |")
	for _, r := range rows {
		flag := ""
		if g := Ratio(r.Gateway, r.Raw); g > GatewayBudget {
			flag = " **over 1.25**"
		}
		raw, kind := ms(r.Raw.P50)+" / "+ms(r.Raw.P99), string(r.RawKind)
		if r.Raw.N == 0 {
			raw, kind = "–", "no DynamoDB call"
		}
		fmt.Fprintf(w, "| %s | %d | %d | %s / %s | %s / %s | %s | %s | %s | %s%s | %d |\n",
			r.Name, r.Depth, r.Calls, ms(r.Handler.P50), ms(r.Handler.P99), ms(r.Gateway.P50), ms(r.Gateway.P99),
			raw, kind, ratio(r.Handler, r.Raw), ratio(r.Gateway, r.Raw), flag, r.Handler.N)
	}
}

// overBudget lists the rows whose gateway median is over GatewayBudget × the raw median.
func overBudget(rows []Row) []string {
	var out []string
	for _, r := range rows {
		if g := Ratio(r.Gateway, r.Raw); g > GatewayBudget {
			out = append(out, fmt.Sprintf("%s (%.2f×)", r.Name, g))
		}
	}
	return out
}

// Markdown writes the report as docs/bench.md. command is how it was made (e.g. "make bench").
func (r *Report) Markdown(w io.Writer, command string) {
	m := r.Machine
	o := r.Options
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("# Benchmarks")
	p("")
	p("Written by `%s` (infra/cmd/bench, package infra/bench); do not edit by hand: run it again.", command)
	p("")
	p("- Date: %s (UTC); the run took %v.", r.Start.Format("2006-01-02 15:04"), r.Took.Round(time.Second))
	p("- Machine: %s, %d cores, %s memory; %s (Linux %s); %s.", m.CPU, m.Cores, m.Memory, m.OS, m.Kernel, m.Go)
	p("- DynamoDB Local %s (a fresh instance started for the run, in memory)%s.", m.DynamoDBLocal, javaNote(m.Java))
	p("- Load average (1, 5, 15 min) at the start: %s; at the end: %s. The machine is shared: a load near or over its %d cores slows every figure, the raw ones included.", m.LoadStart, r.LoadEnd, m.Cores)
	p("")
	p("## How it measures")
	p("")
	p("Every row is measured three ways in one run, interleaved (the paths take turns, their order rotating each iteration, after two untimed warm-up runs per path; none for the delete-contact of contacts with %d relationships, whose set-up is long):", o.Relationships)
	p("")
	p("- **handler**: the route's handler (`handlers.API.Handlers()`, the code each Lambda function runs, request log included) called in-process with the API Gateway v2 event that the local gateway would build (`local.BuildRequest`, claims from its JWT authorizer).")
	p("- **gateway**: real HTTP (keep-alive) to the local gateway (`local.Gateway`, what `make dev` serves) in-process on a free port, over the same handlers: JWT check, event built and passed as JSON through `lambda.NewHandler`, the answer decoded and written. Timed to the last byte of the body.")
	p("- **raw**: the DynamoDB calls doing the same work, with the SDK client. Column *raw =* says which:")
	p("  - *replay* (reads): the calls the handler made in its latest run (recorded under the handler with their inputs exactly as sent) sent again directly, with the same parallel structure (calls that overlapped are sent at once, the next wave after them).")
	p("  - *in-flight* (writes, whose calls cannot be sent twice doing the same work: a second conditional put fails its condition): the time during which at least one of the request's own DynamoDB calls was in flight, measured inside each handler run. The SDK's client time is in it, as in the replay.")
	p("- *depth*: sequential DynamoDB round trips of the request (dbtrace.Depth); *calls*: DynamoDB calls (both the most frequent over the handler's runs: under load two parallel calls sometimes do not overlap). Writes get a fresh target each run (a new contact, invitation, site...), made untimed before it.")
	p("- The logs of the handlers and the gateway are the local stack's (reqlog's JSON logger at INFO) written to io.Discard: formatting is measured, a terminal is not.")
	p("- The budget of DESIGN §7: gateway ÷ raw ≤ %.2f. p99 of a few dozen runs is close to their maximum: read it as a tail, not a percentile.", GatewayBudget)
	p("")
	p("Sizes: reads %d runs per path, writes %d, %d-row batches %d, scaling cases %d; batches of %d rows; delete-contact of contacts with %d relationships (%d runs per path).",
		o.Samples, o.WriteSamples, o.BatchRows, o.BatchSamples, o.ScaleSamples, o.BatchRows, o.Relationships, o.HeavyDeletes)
	p("")
	p("## Per route")
	p("")
	p("Load average when this part started: %s.", r.LoadRoutes)
	p("")
	Table(w, r.Routes)
	p("")
	if over := overBudget(r.Routes); len(over) > 0 {
		p("Over the gateway budget (%.2f×): %s.", GatewayBudget, strings.Join(over, "; "))
	} else {
		p("Every route's gateway median is within %.2f× its raw median.", GatewayBudget)
	}
	p("")
	p("What the gateway adds per request, on top of the handler: an HTTP round trip over loopback (client and server goroutines), the JWT check (RS256 once per token, then only its times), the API Gateway v2 event built and marshalled, `lambda.NewHandler` decoding it and encoding the answer, the answer decoded once (it was decoded twice before issue 12) and written with its Content-Length. Most of it is fixed per request, and a part grows with the body (a list's JSON is escaped into the Lambda answer and unescaped again). On a loaded machine every goroutine hand-off waits for a core, which the fixed part feels most: small reads of about 1 ms have the highest ratios. `go test -run - -bench GatewayOverhead ./infra/local` measures the gateway alone (no DynamoDB); `go run ./infra/cmd/bench -only 'list-contacts' -cpuprofile cpu.out -out -` profiles chosen rows.")
	p("")
	p("## Scaling")
	p("")
	p("list-contacts (limit 50) of accounts of %s contacts, seeded with BatchWriteItem (store.SeedContacts); the filters match 3 contacts. Load average when this part started: %s.", joinInts(o.ContactSizes), r.LoadContacts)
	p("")
	Table(w, r.Contacts)
	p("")
	p("GET /me/accounts (limit 100) of a login that is the owner of %s accounts. Load average when this part started: %s.", joinInts(o.MembershipSizes), r.LoadMembers)
	p("")
	Table(w, r.Members)
	p("")
	if over := overBudget(append(append([]Row{}, r.Contacts...), r.Members...)); len(over) > 0 {
		p("Over the gateway budget (%.2f×): %s.", GatewayBudget, strings.Join(over, "; "))
		p("")
	}
	wr := r.Writers
	p("### %d concurrent writers: one account vs %d accounts", wr.Writers, wr.Writers)
	p("")
	p("Each writer creates a contact, updates it, creates the next... (%d operations per writer per case) through the handlers in-process. "+
		"In the one-account case every writer is the account's owner (one user importing with many workers); in the spread case each writer is the owner of its own account. "+
		"Two rounds per case, alternating (one, spread, one, spread). Load average when this part started: %s.", wr.Ops, r.LoadWriters)
	p("")
	p("| case | operations/s | wall time | failed operations |")
	p("| --- | ---: | ---: | ---: |")
	p("| %d writers, 1 account | %.0f | %v | %d |", wr.Writers, wr.One, wr.OneTook.Round(time.Millisecond), wr.OneErrors)
	p("| %d writers, %d accounts | %.0f | %v | %d |", wr.Writers, wr.Writers, wr.Spread, wr.SpreadTook.Round(time.Millisecond), wr.SpreadErr)
	p("")
	p("Ratio one ÷ spread: **%.2f** (target ≥ 0.9). DynamoDB Local serialises transactions on an item with a lock (and answers 500 \"timed out waiting for a lock\" after a while) where DynamoDB answers TransactionConflict; the ratio shows whether writes to different contacts of one account meet on a shared item, not AWS's absolute throughput.", wr.Ratio())
}

func javaNote(j string) string {
	if j == "" {
		return ""
	}
	return "; " + j
}

func joinInts(n []int) string {
	s := make([]string, len(n))
	for i, v := range n {
		s[i] = fmt.Sprint(v)
	}
	return strings.Join(s, " / ")
}
