// Package cors holds the API's CORS policy, written once: the stack declares it as the HTTP
// API's CorsPreflight (API Gateway then answers preflight requests itself), and the local gateway
// applies the same policy to the same origins, so that a browser front end developed against
// `make dev` behaves as it will against a deployed stage.
package cors

import (
	"fmt"
	"net/url"
	"slices"
	"time"

	"rollcall/shared/routes"
)

// AllowHeaders are the request headers a browser may send cross-origin.
var AllowHeaders = []string{"Authorization", "Content-Type", "If-Match", "Idempotency-Key"}

// ExposeHeaders are the answer headers a cross-origin page may read.
var ExposeHeaders = []string{"ETag", "Location"}

// MaxAge is how long a browser may cache a preflight answer.
const MaxAge = time.Hour

// Methods returns the HTTP methods of the route table, each once, in the table's order.
func Methods() []string {
	var methods []string
	for _, r := range routes.All {
		if !slices.Contains(methods, r.Method) {
			methods = append(methods, r.Method)
		}
	}
	return methods
}

// Origin returns the origin (scheme://host[:port]) of a portal URL, the one origin a stage's
// API allows. It returns an error when the URL has no scheme or host.
func Origin(portalURL string) (string, error) {
	u, err := url.Parse(portalURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", fmt.Errorf("cors: portal URL %q has no scheme and host", portalURL)
	}
	return u.Scheme + "://" + u.Host, nil
}
