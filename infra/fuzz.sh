#!/usr/bin/env bash
# Runs every Go fuzz target of rollcall for FUZZTIME each (issue 14): request decoding and every
# route's inputs over DynamoDB Local (at $ROLLCALL_TEST_DYNAMODB), email normalisation, claims to
# caller, invitation tokens, the email function's stream records. `make test` runs it briefly,
# `make fuzz` longer. Crashers land in the package's testdata/fuzz/<target>/ and are committed
# as regression inputs (plain `go test` replays them). Prints the executions of each target.
set -euo pipefail
FUZZTIME="${FUZZTIME:-20s}"
GO="${GO:-go}"
targets=(
	./shared/httpapi:FuzzDecodeStrict
	./shared/handlers:FuzzRouteInputs
	./shared/domain:FuzzEmail
	./shared/auth:FuzzFromRequest
	./shared/invitetoken:FuzzToken
	./shared/email:FuzzStreamRecord
)
total=0
for t in "${targets[@]}"; do
	pkg="${t%%:*}" fn="${t##*:}"
	out=$(mktemp)
	echo "fuzz: $fn ($pkg) for $FUZZTIME"
	if ! "$GO" test -run '^$' -fuzz "^${fn}\$" -fuzztime "$FUZZTIME" "$pkg" >"$out" 2>&1; then
		grep -v '^20[0-9][0-9]/' "$out" | tail -40
		rm -f "$out"
		echo "fuzz: $fn failed; the crasher is under $pkg/testdata/fuzz/$fn/ (commit it with the fix)"
		exit 1
	fi
	n=$(grep -o 'execs: [0-9]*' "$out" | tail -1 | awk '{print $2}' || true)
	echo "fuzz: $fn: ${n:-0} executions, no failure"
	total=$((total + ${n:-0}))
	rm -f "$out"
done
echo "fuzz: ${#targets[@]} targets, $total executions"
