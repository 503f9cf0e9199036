// Package lane marks which concurrent worker of an operation a piece of work runs on, so that a
// tool measuring an operation's sequential DynamoDB round trips (shared/dbtrace) can tell calls
// made one after another on one worker from calls that merely happened to start after others
// ended on parallel workers (goroutines of one wave do not all start at the same instant).
//
// Lane 0 is the operation's own goroutine; the workers it starts are lanes 1, 2, …: work on
// lane 0 is ordered with every lane (it runs before the workers start or after they end), work on
// two different workers is not ordered.
package lane

import "context"

type key struct{}

// With returns ctx marked as running on worker n (n ≥ 1).
func With(ctx context.Context, n int) context.Context { return context.WithValue(ctx, key{}, n) }

// Of is the worker ctx runs on: 0 when it was not marked.
func Of(ctx context.Context) int {
	n, _ := ctx.Value(key{}).(int)
	return n
}

// Ordered reports whether work on lanes a and b can be one after the other by construction:
// they are the same lane, or one is the operation's own (0).
func Ordered(a, b int) bool { return a == b || a == 0 || b == 0 }
