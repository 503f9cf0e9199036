package bench

import (
	"testing"
	"time"
)

func at(op string, start, end, lane int) captured {
	t0 := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	return captured{op: op, start: t0.Add(time.Duration(start) * time.Millisecond), end: t0.Add(time.Duration(end) * time.Millisecond), lane: lane}
}

// The replay's waves follow the request's structure: overlapping calls together, a call after
// those that ended before it started on its own worker or the operation's.
func TestWavesFollowTheRequestsStructure(t *testing.T) {
	calls := []captured{
		at("Query", 0, 5, 0), at("GetItem", 1, 4, 0), // parallel: wave 1
		at("TransactWriteItems", 6, 9, 1),   // after both: wave 2
		at("TransactWriteItems", 10, 12, 2), // another worker that started late: still wave 2
		at("TransactWriteItems", 13, 15, 1), // after its own worker's call: wave 3
		at("BatchGetItem", 16, 17, 0),       // the operation's own, after all: wave 4
	}
	ws := waves(calls)
	got := make([]int, len(ws))
	for i, w := range ws {
		got[i] = len(w)
	}
	want := []int{2, 2, 1, 1}
	if len(got) != len(want) {
		t.Fatalf("waves of %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("waves of %v, want %v", got, want)
		}
	}
	if d := depth(calls); d != 4 {
		t.Errorf("depth %d, want 4", d)
	}
	// In flight: 0–5, 6–9, 10–12, 13–15, 16–17 = 5+3+2+2+1 ms.
	if f := inFlight(calls); f != 13*time.Millisecond {
		t.Errorf("in flight %v, want 13ms", f)
	}
	if f := inFlight(nil); f != 0 {
		t.Errorf("in flight of no call %v, want 0", f)
	}
}

func TestStatIsNearestRank(t *testing.T) {
	var d []time.Duration
	for i := 100; i >= 1; i-- {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	s := stat(d)
	if s.N != 100 || s.P50 != 50*time.Millisecond || s.P99 != 99*time.Millisecond {
		t.Errorf("stat = %+v, want n 100, p50 50ms, p99 99ms", s)
	}
	if s := stat([]time.Duration{7}); s.P50 != 7 || s.P99 != 7 {
		t.Errorf("stat of one = %+v", s)
	}
	if r := Ratio(Stat{P50: 3}, Stat{}); r != 0 {
		t.Errorf("Ratio over nothing = %v, want 0", r)
	}
}
