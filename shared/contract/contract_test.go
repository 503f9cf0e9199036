package contract_test

import (
	"testing"

	"rollcall/shared/contract"
	"rollcall/shared/routes"
)

// TestEveryRouteDeclared checks that every route has exactly one declaration and every
// declaration a route.
func TestEveryRouteDeclared(t *testing.T) {
	if err := contract.Check(); err != nil {
		t.Fatal(err)
	}
	if got, want := len(contract.All()), len(routes.All); got != want {
		t.Fatalf("%d declarations for %d routes", got, want)
	}
}
