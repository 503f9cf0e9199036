package httpapi_test

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"rollcall/shared/httpapi"
)

type widget struct {
	Name string `json:"name"`
}

type gadget struct {
	Name string `json:"name"`
}

// call runs op under contract c with body and query, as a signed-in caller.
func call(t *testing.T, c httpapi.Contract, op httpapi.Operation, body string, query map[string]string) events.APIGatewayV2HTTPResponse {
	t.Helper()
	req := events.APIGatewayV2HTTPRequest{Body: body, QueryStringParameters: query}
	req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{"sub": "u1"}}}
	resp, err := httpapi.Adapt("ops", c, op)(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestAdaptEnforcesTheDeclaration checks that a handler that reads an undeclared query
// parameter, decodes its body into another type than the declared one, or answers an undeclared
// status or type gets a 500, and that one keeping to its declaration gets its answer.
func TestAdaptEnforcesTheDeclaration(t *testing.T) {
	c := httpapi.Contract{Body: reflect.TypeFor[widget](), Query: []string{"limit"},
		Answers: map[int]reflect.Type{http.StatusCreated: reflect.TypeFor[widget]()}}
	good := func(_ context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		var w widget
		if err := r.Decode(&w); err != nil {
			return nil, err
		}
		w.Name += r.Query("limit")
		return httpapi.JSON(http.StatusCreated, w), nil
	}
	if resp := call(t, c, good, `{"name":"a"}`, map[string]string{"limit": "5"}); resp.StatusCode != 201 || resp.Body != `{"name":"a5"}` {
		t.Errorf("declared use: %d %s", resp.StatusCode, resp.Body)
	}
	bad := map[string]httpapi.Operation{
		"undeclared query": func(_ context.Context, r *httpapi.Request) (*httpapi.Response, error) {
			_ = r.Query("cursor")
			return httpapi.JSON(http.StatusCreated, widget{}), nil
		},
		"other body type": func(_ context.Context, r *httpapi.Request) (*httpapi.Response, error) {
			var g gadget
			if err := r.Decode(&g); err != nil {
				return nil, err
			}
			return httpapi.JSON(http.StatusCreated, widget{}), nil
		},
		"undeclared status": func(_ context.Context, r *httpapi.Request) (*httpapi.Response, error) {
			return httpapi.JSON(http.StatusOK, widget{}), nil
		},
		"undeclared answer type": func(_ context.Context, r *httpapi.Request) (*httpapi.Response, error) {
			return httpapi.JSON(http.StatusCreated, gadget{}), nil
		},
	}
	for name, op := range bad {
		resp := call(t, c, op, `{"name":"a"}`, nil)
		if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(resp.Body, `"code":"internal"`) {
			t.Errorf("%s: got %d %s, want a 500 problem", name, resp.StatusCode, resp.Body)
		}
	}
}
