package bench

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"rollcall/shared/routes"
	"rollcall/shared/testenv"
)

// TestBenchRunsEveryCase runs the whole bench at its tiny sizes against the tests' DynamoDB Local,
// so that `make bench` cannot rot: every route of the route table and every scaling case is
// measured on all three paths and reported. It asserts no timing.
func TestBenchRunsEveryCase(t *testing.T) {
	testenv.DB(t) // fails with instructions when DynamoDB Local is not reachable
	o := Tiny()
	o.Endpoint = testenv.Endpoint()
	if testing.Verbose() {
		o.Progress = os.Stderr
	}
	rep, err := Run(context.Background(), o, "test")
	if err != nil {
		t.Fatal(err)
	}
	measured := map[string]bool{}
	for _, r := range rep.Routes {
		measured[r.Function] = true
	}
	for _, r := range routes.All {
		if !measured[r.Function] {
			t.Errorf("route %s (%s) is not in the per-route table", r.Key(), r.Function)
		}
	}
	all := append(append(append([]Row{}, rep.Routes...), rep.Contacts...), rep.Members...)
	for _, r := range all {
		if r.Handler.N == 0 || r.Gateway.N == 0 || (r.Raw.N == 0) != (r.Calls == 0) {
			t.Errorf("%s: runs handler %d, gateway %d, raw %d: every path must be measured (raw when there are calls)", r.Name, r.Handler.N, r.Gateway.N, r.Raw.N)
		}
		if r.Function != "get-catalog" && r.Calls == 0 {
			t.Errorf("%s: no DynamoDB call recorded", r.Name)
		}
	}
	if n := len(rep.Contacts); n != 3*len(o.ContactSizes) {
		t.Errorf("%d list-contacts scaling rows, want %d", n, 3*len(o.ContactSizes))
	}
	if n := len(rep.Members); n != len(o.MembershipSizes) {
		t.Errorf("%d /me/accounts scaling rows, want %d", n, len(o.MembershipSizes))
	}
	if w := rep.Writers; w.One <= 0 || w.Spread <= 0 {
		t.Errorf("writers: %+v: both cases must have throughput", w)
	}
	var b bytes.Buffer
	rep.Markdown(&b, "go test")
	for _, want := range []string{"## Per route", "## Scaling", "| get-catalog |", "delete-contact (3 relationships)", "Ratio one ÷ spread", "Machine:"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the report lacks %q", want)
		}
	}
}

// Without a DynamoDB Local the bench stops at once and says how to get one.
func TestBenchSaysHowToStartDynamoDBLocal(t *testing.T) {
	o := Tiny()
	o.Endpoint = "http://127.0.0.1:1" // nothing listens on port 1
	_, err := Run(context.Background(), o, "test")
	if err == nil || !strings.Contains(err.Error(), "make bench") {
		t.Fatalf("Run without DynamoDB Local = %v, want an error saying to run make bench", err)
	}
}
