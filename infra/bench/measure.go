package bench

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"
)

// Raw says what a row's raw DynamoDB figure is.
type Raw string

const (
	// RawReplay: the request's recorded calls sent again with the SDK client, with the same
	// parallel structure (reads).
	RawReplay Raw = "replay"
	// RawInFlight: the time at least one of the request's own DynamoDB calls was in flight, measured
	// inside the handler's run (writes: their calls cannot be sent twice and do the same work).
	RawInFlight Raw = "in-flight"
)

// Stat is a latency distribution.
type Stat struct {
	N   int
	P50 time.Duration
	P99 time.Duration
}

func stat(d []time.Duration) Stat {
	if len(d) == 0 {
		return Stat{}
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return Stat{N: len(s), P50: quantile(s, 0.50), P99: quantile(s, 0.99)}
}

// quantile of sorted s: the nearest-rank value.
func quantile(s []time.Duration, q float64) time.Duration {
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

// Row is one measured case: latency through the handler, through the local gateway, and of the
// raw DynamoDB calls, side by side in one run.
type Row struct {
	Name     string // route (case)
	Function string // the route's function
	Handler  Stat
	Gateway  Stat
	Raw      Stat
	RawKind  Raw
	Depth    int // sequential DynamoDB round trips of one request (the most frequent over the handler's runs)
	Calls    int // DynamoDB calls of one request (the most frequent)
	Note     string
}

// Ratio is a/b of the medians (0 when b is 0).
func Ratio(a, b Stat) float64 {
	if b.P50 == 0 {
		return 0
	}
	return float64(a.P50) / float64(b.P50)
}

// routeCase is one row of the per-route table.
type routeCase struct {
	name    string
	write   bool // raw = in-flight time; else the replay
	samples int  // per path; 0 means Options.Samples (reads) or Options.WriteSamples (writes)
	warmup  int  // untimed runs per path first; -1 means none, 0 means 2
	// prep returns the request of one run; for writes it is called before every run (untimed) and
	// makes the fresh target the run needs.
	prep func(ctx context.Context) (request, error)
	note string
}

// measure runs c: per iteration one run through the handler, one through the gateway and (reads)
// one replay, in an order that rotates with the iteration, so that no path always runs first.
func (e *env) measure(ctx context.Context, c routeCase) (Row, error) {
	n := c.samples
	if n == 0 {
		n = e.opts.Samples
		if c.write {
			n = e.opts.WriteSamples
		}
	}
	warm := c.warmup
	if warm == 0 {
		warm = 2
	}
	warm = max(warm, 0)
	row := Row{Name: c.name, RawKind: RawReplay, Note: c.note}
	if c.write {
		row.RawKind = RawInFlight
	}
	var readReq *request
	get := func() (request, error) {
		if !c.write && readReq != nil {
			return *readReq, nil
		}
		r, err := c.prep(ctx)
		if err == nil && !c.write {
			readReq = &r
		}
		return r, err
	}
	var last []captured // the latest handler run's calls (what the replay sends)
	ran := false        // whether the handler has run (last may be empty: get-catalog makes no call)
	var hs, gs, rs []time.Duration
	depths, counts := map[int]int{}, map[int]int{}
	paths := 2
	if !c.write {
		paths = 3
	}
	for it := -warm; it < n; it++ {
		for k := range paths {
			p := (k + max(it, 0)) % paths
			switch p {
			case 0:
				r, err := get()
				if err != nil {
					return row, fmt.Errorf("%s: %w", c.name, err)
				}
				took, calls, _, err := e.viaHandler(ctx, r)
				if err != nil {
					return row, fmt.Errorf("%s: %w", c.name, err)
				}
				row.Function = r.fn
				last, ran = calls, true
				depths[depth(calls)]++
				counts[len(calls)]++
				if it >= 0 {
					hs = append(hs, took)
					if c.write {
						rs = append(rs, inFlight(calls))
					}
				}
			case 1:
				r, err := get()
				if err != nil {
					return row, fmt.Errorf("%s: %w", c.name, err)
				}
				took, _, err := e.viaGateway(ctx, r)
				if err != nil {
					return row, fmt.Errorf("%s (gateway): %w", c.name, err)
				}
				if it >= 0 {
					gs = append(gs, took)
				}
			case 2:
				if !ran || len(last) == 0 { // the handler has not run yet, or made no call (get-catalog)
					continue
				}
				took, err := replay(ctx, e.db, last)
				if err != nil {
					return row, fmt.Errorf("%s: %w", c.name, err)
				}
				if it >= 0 {
					rs = append(rs, took)
				}
			}
		}
	}
	row.Handler, row.Gateway, row.Raw = stat(hs), stat(gs), stat(rs)
	row.Depth, row.Calls = mode(depths), mode(counts)
	e.progress("%-52s handler %8s  gateway %8s  raw %8s  (%s, depth %d)", c.name, row.Handler.P50, row.Gateway.P50, row.Raw.P50, row.RawKind, row.Depth)
	return row, nil
}

// mode is the most frequent key of counts (the smallest of equals).
func mode(counts map[int]int) int {
	best, n := 0, -1
	for k, c := range counts {
		if c > n || (c == n && k < best) {
			best, n = k, c
		}
	}
	return best
}
