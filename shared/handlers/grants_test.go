package handlers_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"rollcall/shared/routes"
	"rollcall/shared/store"
)

// The IAM rights of each route's function are exactly the DynamoDB actions its handler made while
// these tests ran. The tests record them (observe, from the recorder every env's API runs on);
// when the whole package ran and passed, TestMain (withGrantsCheck) compares them with GrantsFile, the file the
// stack builds every route function's DynamoDB policy from (infra/stack). An action a handler
// made that the file lacks (an under-grant: AccessDenied in AWS) and an action in the file that
// no test made (an over-grant) both fail the run. After changing what a handler does, run
//
//	ROLLCALL_UPDATE_GRANTS=1 make test PKGS=./shared/handlers
//
// and review the file's diff: it is the change to the functions' IAM policies.
//
// Grant syntax: "dynamodb:<Action>" on the table; "dynamodb:Query on index GSI1" on an index;
// "dynamodb:<ItemAction> in TransactWriteItems" for an item-level action made only inside
// transactions (the stack conditions it on dynamodb:EnclosingOperation). TransactWriteItems
// itself is not an IAM action and never appears.
const GrantsFile = "../../infra/stack/grants.json"

const (
	indexMark     = " on index "
	inTransaction = " in TransactWriteItems"
)

type functionKey struct{}

// withFunction marks ctx as a request to function, so that the DynamoDB calls made under it are
// attributed to that function (tests may run requests concurrently).
func withFunction(ctx context.Context, function string) context.Context {
	observed.mu.Lock()
	observed.called[function] = true
	observed.mu.Unlock()
	return context.WithValue(ctx, functionKey{}, function)
}

var observed = struct {
	mu     sync.Mutex
	called map[string]bool            // functions whose handler ran
	grants map[string]map[string]bool // function → grants its calls needed
}{called: map[string]bool{}, grants: map[string]map[string]bool{}}

// observe records that the function of ctx needed grant. Calls outside a request (test set-up
// through the store) are not attributed.
func observe(ctx context.Context, grant string) {
	fn, _ := ctx.Value(functionKey{}).(string)
	if fn == "" {
		return
	}
	observed.mu.Lock()
	defer observed.mu.Unlock()
	if observed.grants[fn] == nil {
		observed.grants[fn] = map[string]bool{}
	}
	observed.grants[fn][grant] = true
}

// recordedGrants returns the observed grants per route function, in the file's form: sorted, an
// item action made both alone and in a transaction listed once, unconditioned.
func recordedGrants() map[string][]string {
	observed.mu.Lock()
	defer observed.mu.Unlock()
	out := map[string][]string{}
	for _, r := range routes.All {
		set := observed.grants[r.Function]
		list := []string{}
		for g := range set {
			if base, ok := strings.CutSuffix(g, inTransaction); ok && set[base] {
				continue
			}
			list = append(list, g)
		}
		sort.Strings(list)
		out[r.Function] = list
	}
	return out
}

// withGrantsCheck runs the tests, then (when all of them ran and passed) checkGrants; TestMain
// (handlers_test.go) runs it.
type withGrantsCheck struct{ m *testing.M }

func (w withGrantsCheck) Run() int {
	code := w.m.Run()
	if code != 0 {
		if os.Getenv("ROLLCALL_UPDATE_GRANTS") != "" {
			fmt.Println("grants: some tests failed; writing what the others recorded (review the diff)")
			if err := checkGrants(); err != nil {
				fmt.Println(err)
			}
		}
		return code
	}
	for _, name := range []string{"test.run", "test.skip"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" {
			fmt.Println("grants: not compared with", GrantsFile, "(only some tests ran)")
			return 0
		}
	}
	if err := checkGrants(); err != nil {
		fmt.Println("--- FAIL: grants (the route functions' IAM rights)")
		fmt.Println(err)
		fmt.Println("FAIL")
		return 1
	}
	return 0
}

// checkGrants compares the recorded grants with GrantsFile (or rewrites the file when
// ROLLCALL_UPDATE_GRANTS is set).
func checkGrants() error {
	var missed []string
	observed.mu.Lock()
	for _, r := range routes.All {
		if !observed.called[r.Function] {
			missed = append(missed, r.Function)
		}
	}
	observed.mu.Unlock()
	if len(missed) > 0 {
		return fmt.Errorf("no handler test called %s: their IAM rights cannot be derived", strings.Join(missed, ", "))
	}
	got := recordedGrants()
	if os.Getenv("ROLLCALL_UPDATE_GRANTS") != "" {
		b, err := json.MarshalIndent(got, "", "  ")
		if err != nil {
			return err
		}
		fmt.Println("grants: wrote", GrantsFile)
		return os.WriteFile(GrantsFile, append(b, '\n'), 0o644)
	}
	b, err := os.ReadFile(GrantsFile)
	if err != nil {
		return err
	}
	var want map[string][]string
	if err := json.Unmarshal(b, &want); err != nil {
		return fmt.Errorf("%s: %w", GrantsFile, err)
	}
	var problems []string
	for _, r := range routes.All {
		w, g := want[r.Function], got[r.Function]
		for _, a := range g {
			if !slices.Contains(w, a) {
				problems = append(problems, fmt.Sprintf("%s made %s, which %s does not grant (under-grant)", r.Function, a, filepath.Base(GrantsFile)))
			}
		}
		for _, a := range w {
			if !slices.Contains(g, a) {
				problems = append(problems, fmt.Sprintf("%s is granted %s, which no handler test made (over-grant)", r.Function, a))
			}
		}
	}
	for fn := range want {
		if _, ok := routes.ByFunction(fn); !ok {
			problems = append(problems, fmt.Sprintf("%s lists %s, which is not a route's function", filepath.Base(GrantsFile), fn))
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return fmt.Errorf("%s\nrun ROLLCALL_UPDATE_GRANTS=1 make test PKGS=./shared/handlers after a change to what a handler does, and review the diff",
			strings.Join(problems, "\n"))
	}
	return nil
}

// The recorder records every method of store.DB: a method the store gains must be recorded too,
// or its action would be missing from the functions' rights.
func TestRecorderCoversTheStoresDB(t *testing.T) {
	recorded := []string{"BatchGetItem", "GetItem", "PutItem", "Query", "TransactWriteItems"}
	typ := reflect.TypeOf((*store.DB)(nil)).Elem()
	var methods []string
	for i := range typ.NumMethod() {
		methods = append(methods, typ.Method(i).Name)
	}
	if !reflect.DeepEqual(methods, recorded) {
		t.Errorf("store.DB has %v; the handler tests' recorder observes %v: record the new methods' grants", methods, recorded)
	}
}
