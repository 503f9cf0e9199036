package handlers

import (
	"cmp"
	"context"
	"slices"
	"sync"

	"rollcall/shared/lane"
)

// BatchConcurrency is how many rows of a batch (contacts or relationships) are written at once:
// the number of workers forRows starts.
//
// The round-trip bound of a batch: one read of the caller's rights (and, for relationships, of
// the site's unique roles), then the rows, each worker applying its rows one after another. A
// batch whose rows take k round trips each therefore takes 1 + k·w sequential round trips, w
// being the rows of the busiest worker: ceil(n/BatchConcurrency) when no two rows depend on each
// other (a batch of contacts: 1 + 5·1 = 6 for 100 rows), more when a chain of dependent rows is
// longer (forRows). Two more with an Idempotency-Key; one more per transaction retried after
// losing a race.
const BatchConcurrency = 20

// forRows applies row to rows 0 … n-1 and returns when all have run; each row reports its own
// outcome. Rows that share a key (keys(i), nil for none: keys may be nil for a batch of
// independent rows) are one chain, applied one after another in request order so that a later
// row sees what the earlier ones did. Chains are dealt to BatchConcurrency workers, longest
// first, each to the worker with the fewest rows so far, and the workers run in parallel, each
// applying its chains in turn. Each worker's context carries its lane (shared/lane), so that
// round-trip measurements know its calls are one after another.
func forRows(ctx context.Context, n int, keys func(i int) []string, row func(ctx context.Context, i int)) {
	chains := chainRows(n, keys)
	slices.SortStableFunc(chains, func(a, b []int) int { return cmp.Compare(len(b), len(a)) })
	workers := make([][]int, min(BatchConcurrency, len(chains)))
	for _, c := range chains {
		least := 0
		for w := range workers {
			if len(workers[w]) < len(workers[least]) {
				least = w
			}
		}
		workers[least] = append(workers[least], c...)
	}
	var wg sync.WaitGroup
	for w, rows := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := lane.With(ctx, w+1)
			for _, i := range rows {
				row(ctx, i)
			}
		}()
	}
	wg.Wait()
}

// chainRows groups rows 0 … n-1 into chains of rows linked by shared keys (directly or through
// other rows), each chain in request order, the chains in the order of their first row.
func chainRows(n int, keys func(i int) []string) [][]int {
	parent := make([]int, n)
	for i := range parent {
		parent[i] = i
	}
	var root func(i int) int
	root = func(i int) int {
		if parent[i] != i {
			parent[i] = root(parent[i])
		}
		return parent[i]
	}
	if keys != nil {
		first := map[string]int{}
		for i := 0; i < n; i++ {
			for _, k := range keys(i) {
				if j, ok := first[k]; ok {
					a, b := root(i), root(j)
					parent[max(a, b)] = min(a, b)
				} else {
					first[k] = i
				}
			}
		}
	}
	at := map[int]int{}
	var chains [][]int
	for i := 0; i < n; i++ {
		r := root(i)
		c, ok := at[r]
		if !ok {
			c = len(chains)
			at[r] = c
			chains = append(chains, nil)
		}
		chains[c] = append(chains[c], i)
	}
	return chains
}
