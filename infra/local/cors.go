package local

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"rollcall/shared/cors"
)

// CDKStagesKey is the key of cdk.json's context that holds every stage's configuration
// (infra/stack.ContextStages; package local does not import the CDK).
const CDKStagesKey = "rollcall:stages"

// CORSOrigins returns the origins the deployed API allows, as the stack reads them: the origin of
// every stage's portalUrl in root/cdk.json, each once, sorted. It returns an error when cdk.json
// cannot be read or a portalUrl has no origin.
func CORSOrigins(root string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(root, "cdk.json"))
	if err != nil {
		return nil, fmt.Errorf("local: CORS origins: %w", err)
	}
	var doc struct {
		Context map[string]json.RawMessage `json:"context"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("local: CORS origins: cdk.json: %w", err)
	}
	var stages map[string]struct {
		PortalURL string `json:"portalUrl"`
	}
	raw, ok := doc.Context[CDKStagesKey]
	if !ok {
		return nil, fmt.Errorf("local: CORS origins: cdk.json has no context.%q", CDKStagesKey)
	}
	if err := json.Unmarshal(raw, &stages); err != nil {
		return nil, fmt.Errorf("local: CORS origins: cdk.json context.%q: %w", CDKStagesKey, err)
	}
	var origins []string
	for name, st := range stages {
		o, err := cors.Origin(st.PortalURL)
		if err != nil {
			return nil, fmt.Errorf("local: CORS origins: stage %s: %w", name, err)
		}
		if !slices.Contains(origins, o) {
			origins = append(origins, o)
		}
	}
	if len(origins) == 0 {
		return nil, errors.New("local: CORS origins: cdk.json has no stage")
	}
	slices.Sort(origins)
	return origins, nil
}

// CORS wraps h with the API's CORS policy (package cors) for origins, as API Gateway's
// CorsPreflight does for a deployed stage:
//
//   - a preflight request (OPTIONS with Origin and Access-Control-Request-Method) is answered
//     here, before any token check, with 204: for an allowed origin asking for a method of the
//     route table, with Access-Control-Allow-Origin (the origin), -Allow-Methods, -Allow-Headers
//     and -Max-Age; otherwise without them, so that the browser refuses the request;
//   - any other request goes to h; when its Origin is allowed the answer carries
//     Access-Control-Allow-Origin and Access-Control-Expose-Headers.
//
// Origins compare as API Gateway compares them: scheme, host and port, without case.
func CORS(h http.Handler, origins []string) http.Handler {
	allowed := map[string]bool{}
	for _, o := range origins {
		allowed[strings.ToLower(strings.TrimRight(o, "/"))] = true
	}
	methods := cors.Methods()
	allowMethods := strings.Join(methods, ",")
	allowHeaders := strings.Join(cors.AllowHeaders, ",")
	exposeHeaders := strings.Join(cors.ExposeHeaders, ",")
	maxAge := strconv.Itoa(int(cors.MaxAge.Seconds()))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		ok := origin != "" && allowed[strings.ToLower(origin)]
		if r.Method == http.MethodOptions && origin != "" && r.Header.Get("Access-Control-Request-Method") != "" {
			w.Header().Add("Vary", "Origin")
			if ok && slices.Contains(methods, r.Header.Get("Access-Control-Request-Method")) {
				w.Header().Set("Access-Control-Allow-Origin", origin)
				w.Header().Set("Access-Control-Allow-Methods", allowMethods)
				w.Header().Set("Access-Control-Allow-Headers", allowHeaders)
				w.Header().Set("Access-Control-Max-Age", maxAge)
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if origin != "" {
			w.Header().Add("Vary", "Origin")
		}
		if ok {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Expose-Headers", exposeHeaders)
		}
		h.ServeHTTP(w, r)
	})
}
