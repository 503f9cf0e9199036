package e2e

import (
	"testing"

	"rollcall/shared/apicheck"
)

// TestMain reports how many answers were validated against docs/openapi.json.
func TestMain(m *testing.M) { apicheck.Main(m, "infra/local/e2e") }
