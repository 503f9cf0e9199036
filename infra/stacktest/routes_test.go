package stacktest

import (
	"strings"
	"testing"

	"rollcall/infra/stack"
	"rollcall/shared/config"
	"rollcall/shared/routes"
)

// Every route of the route table has its own function, an integration to it and an API route
// with the JWT authorizer; the API has no other route, and the stack no other function.
func TestEveryRouteHasFunctionIntegrationAndRoute(t *testing.T) {
	s := synth(t, "dev")
	_, authorizer := s.only(t, "AWS::ApiGatewayV2::Authorizer")
	if props(authorizer)["AuthorizerType"] != "JWT" {
		t.Fatalf("authorizer type %v, want JWT", props(authorizer)["AuthorizerType"])
	}
	authorizerID := ""
	for id := range s.resources("AWS::ApiGatewayV2::Authorizer") {
		authorizerID = id
	}

	byKey := map[string]map[string]any{}
	for id, r := range s.resources("AWS::ApiGatewayV2::Route") {
		key, _ := props(r)["RouteKey"].(string)
		if _, dup := byKey[key]; dup {
			t.Errorf("route %s appears twice", key)
		}
		byKey[key] = r
		if _, known := routeByKey(key); !known {
			t.Errorf("route %s (%s) is not in the route table", key, id)
		}
	}
	if len(byKey) != len(routes.All) {
		t.Errorf("%d API routes, route table has %d", len(byKey), len(routes.All))
	}
	integrations := s.resources("AWS::ApiGatewayV2::Integration")
	if len(integrations) != len(routes.All) {
		t.Errorf("%d integrations, route table has %d routes", len(integrations), len(routes.All))
	}
	if n, want := len(s.resources("AWS::Lambda::Function")), len(routes.All)+2; n != want {
		t.Errorf("%d functions, want %d (one per route, the email function and the SES events function)", n, want)
	}

	for _, r := range routes.All {
		t.Run(r.Key(), func(t *testing.T) {
			route, ok := byKey[r.Key()]
			if !ok {
				t.Fatalf("no API route %q", r.Key())
			}
			p := props(route)
			if p["AuthorizationType"] != "JWT" || canon(p["AuthorizerId"]) != canon(ref(authorizerID)) {
				t.Errorf("route %s is not behind the JWT authorizer: %s", r.Key(), canon(p))
			}
			target, _ := p["Target"].(map[string]any)
			integrationID := integrationOf(target)
			integration, ok := integrations[integrationID]
			if !ok {
				t.Fatalf("route %s targets %s, not an integration", r.Key(), canon(target))
			}
			ip := props(integration)
			if ip["IntegrationType"] != "AWS_PROXY" || ip["PayloadFormatVersion"] != "2.0" {
				t.Errorf("integration of %s: type %v, payload %v; want AWS_PROXY 2.0", r.Key(), ip["IntegrationType"], ip["PayloadFormatVersion"])
			}
			fnID, fn := s.function(t, r.Function)
			aliasID := s.alias(t, fnID)
			if canon(ip["IntegrationUri"]) != canon(ref(aliasID)) {
				t.Errorf("integration of %s invokes %s, want function %s's %s alias", r.Key(), canon(ip["IntegrationUri"]), r.Function, stack.LiveAlias)
			}
			env := props(fn)["Environment"].(map[string]any)["Variables"].(map[string]any)
			_, hasSecret := env[config.EnvSigningKeySecret]
			if hasSecret != r.Secret {
				t.Errorf("function %s: signing key secret in environment %v, route says %v", r.Function, hasSecret, r.Secret)
			}
			// API Gateway may invoke the function, from this API only.
			allowed := false
			for _, perm := range s.resources("AWS::Lambda::Permission") {
				pp := props(perm)
				if canon(pp["FunctionName"]) == canon(ref(aliasID)) && pp["Principal"] == "apigateway.amazonaws.com" &&
					strings.Contains(canon(pp["SourceArn"]), s.apiID(t)) {
					allowed = true
				}
			}
			if !allowed {
				t.Errorf("API Gateway has no permission to invoke %s's %s alias", r.Function, stack.LiveAlias)
			}
		})
	}
}

// Every function runs the built bootstrap on arm64 and provided.al2023, with the stage's
// environment and a log group with the stage's retention.
func TestFunctionsRuntimeEnvironmentAndLogs(t *testing.T) {
	for _, stage := range []string{"dev", "prod"} {
		s := synth(t, stage)
		tableID, _ := s.only(t, "AWS::DynamoDB::Table")
		logGroups := s.resources("AWS::Logs::LogGroup")
		for _, name := range stack.Functions() {
			_, fn := s.function(t, name)
			p := props(fn)
			if canon(p["Architectures"]) != `["arm64"]` || p["Runtime"] != "provided.al2023" || p["Handler"] != "bootstrap" {
				t.Errorf("%s/%s: architectures %v, runtime %v, handler %v", stage, name, p["Architectures"], p["Runtime"], p["Handler"])
			}
			env := p["Environment"].(map[string]any)["Variables"].(map[string]any)
			if canon(env[config.EnvTableName]) != canon(ref(tableID)) {
				t.Errorf("%s/%s: %s is %s, want the stage's table", stage, name, config.EnvTableName, canon(env[config.EnvTableName]))
			}
			for k, want := range map[string]string{
				config.EnvStage:         s.stage.Name,
				config.EnvOperatorGroup: s.stage.OperatorGroup,
				config.EnvPortalURL:     s.stage.PortalURL,
			} {
				if env[k] != want {
					t.Errorf("%s/%s: %s = %v, want %q", stage, name, k, env[k], want)
				}
			}
			lg, _ := p["LoggingConfig"].(map[string]any)
			logRef, _ := lg["LogGroup"].(map[string]any)
			group, ok := logGroups[logRef["Ref"].(string)]
			if !ok {
				t.Errorf("%s/%s: no log group of the stack", stage, name)
				continue
			}
			if days := props(group)["RetentionInDays"]; days != float64(s.stage.LogRetentionDays) {
				t.Errorf("%s/%s: log retention %v days, want %d", stage, name, days, s.stage.LogRetentionDays)
			}
		}
	}
}

// The API stage is throttled as the stage says and writes an access log.
func TestAPIThrottlingAndAccessLog(t *testing.T) {
	for _, stage := range []string{"dev", "prod"} {
		s := synth(t, stage)
		_, st := s.only(t, "AWS::ApiGatewayV2::Stage")
		p := props(st)
		rs := p["DefaultRouteSettings"].(map[string]any)
		if rs["ThrottlingRateLimit"] != s.stage.Throttling.RateLimit || rs["ThrottlingBurstLimit"] != float64(s.stage.Throttling.BurstLimit) {
			t.Errorf("%s: throttling %v/%v, want %v/%d", stage, rs["ThrottlingRateLimit"], rs["ThrottlingBurstLimit"],
				s.stage.Throttling.RateLimit, s.stage.Throttling.BurstLimit)
		}
		logs, _ := p["AccessLogSettings"].(map[string]any)
		if logs["DestinationArn"] == nil || !strings.Contains(canon(logs["Format"]), "$context.requestId") {
			t.Errorf("%s: access log settings %s", stage, canon(logs))
		}
		if p["StageName"] != "$default" || p["AutoDeploy"] != true {
			t.Errorf("%s: stage %v auto-deploy %v, want $default, true", stage, p["StageName"], p["AutoDeploy"])
		}
	}
}

// The outputs name the API URL, the table and the user pool; with an external issuer there is
// no user pool and the authorizer trusts that issuer.
func TestOutputsAndIssuer(t *testing.T) {
	s := synth(t, "dev")
	for _, name := range []string{"ApiUrl", "TableName", "UserPoolId", "UserPoolClientId", "JwtIssuer", "SigningKeySecretArn", "EmailDeadLetterQueueUrl"} {
		if len(*s.template.FindOutputs(&name, nil)) != 1 {
			t.Errorf("dev: no output %s", name)
		}
	}
	_, group := s.only(t, "AWS::Cognito::UserPoolGroup")
	if props(group)["GroupName"] != s.stage.OperatorGroup {
		t.Errorf("operator group %v, want %s", props(group)["GroupName"], s.stage.OperatorGroup)
	}

	e := synth(t, external)
	for _, typ := range []string{"AWS::Cognito::UserPool", "AWS::Cognito::UserPoolClient", "AWS::Cognito::UserPoolGroup"} {
		if n := len(e.resources(typ)); n != 0 {
			t.Errorf("external issuer: %d %s, want none", n, typ)
		}
	}
	for _, name := range []string{"UserPoolId", "UserPoolClientId"} {
		if len(*e.template.FindOutputs(&name, nil)) != 0 {
			t.Errorf("external issuer: output %s, want none", name)
		}
	}
	_, authorizer := e.only(t, "AWS::ApiGatewayV2::Authorizer")
	jwt := props(authorizer)["JwtConfiguration"].(map[string]any)
	if jwt["Issuer"] != "https://login.example.com/" || canon(jwt["Audience"]) != `["rollcall-api"]` {
		t.Errorf("external issuer: authorizer %s", canon(jwt))
	}
}

func routeByKey(key string) (routes.Route, bool) {
	for _, r := range routes.All {
		if r.Key() == key {
			return r, true
		}
	}
	return routes.Route{}, false
}

// integrationOf returns the integration logical id of a route target
// ("integrations/" joined with the integration's Ref).
func integrationOf(target map[string]any) string {
	parts, _ := target["Fn::Join"].([]any)
	if len(parts) != 2 {
		return ""
	}
	for _, p := range list(parts[1]) {
		if m, ok := p.(map[string]any); ok {
			if id, ok := m["Ref"].(string); ok {
				return id
			}
		}
	}
	return ""
}

// apiID is the logical id of the HTTP API.
func (s *synthesized) apiID(t *testing.T) string {
	id, _ := s.only(t, "AWS::ApiGatewayV2::Api")
	return id
}
