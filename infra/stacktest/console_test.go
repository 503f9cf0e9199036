package stacktest

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"rollcall/infra/stack"
)

// synthConsole returns stage name's stack with the console (a small stand-in build), once.
func synthConsole(t *testing.T, name string) *synthesized {
	t.Helper()
	key := name + "+console"
	if s, ok := cache[key]; ok {
		return s
	}
	dir := filepath.Join(outDir, "console-build")
	if err := os.MkdirAll(filepath.Join(dir, "assets"), 0o755); err != nil {
		t.Fatal(err)
	}
	for file, body := range map[string]string{"index.html": "<!doctype html><title>console</title>", "assets/app.js": "1"} {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	st := stages[name]
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(filepath.Join(outDir, key))})
	out, err := stack.New(app, st, stack.Props{AssetDir: assetDir, ConsoleDir: dir})
	if err != nil {
		t.Fatalf("stack.New(%s with console): %v", name, err)
	}
	tpl := assertions.Template_FromStack(out.Stack, nil)
	s := &synthesized{stage: st, stack: out, template: tpl, tmpl: *tpl.ToJSON()}
	cache[key] = s
	return s
}

// The console: a private bucket behind CloudFront with origin access control, HTTPS only,
// security headers with a strict CSP, its own public Cognito client (code + PKCE) that the API
// accepts, the managed login domain, and the stage settings written at deploy time.
func TestConsole(t *testing.T) {
	s := synthConsole(t, "dev")

	buckets := s.resources("AWS::S3::Bucket")
	if len(buckets) != 2 {
		t.Fatalf("%d buckets, want 2 (console, its logs)", len(buckets))
	}
	for id, b := range buckets {
		pab, _ := props(b)["PublicAccessBlockConfiguration"].(map[string]any)
		for _, k := range []string{"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"} {
			if pab[k] != true {
				t.Errorf("bucket %s: %s = %v, want true", id, k, pab[k])
			}
		}
		if props(b)["BucketEncryption"] == nil {
			t.Errorf("bucket %s is not encrypted", id)
		}
	}
	tlsOnly := 0
	for _, p := range s.resources("AWS::S3::BucketPolicy") {
		if strings.Contains(canon(props(p)["PolicyDocument"]), `"aws:SecureTransport":"false"`) {
			tlsOnly++
		}
	}
	if tlsOnly != 2 {
		t.Errorf("%d bucket policies deny plain HTTP, want 2", tlsOnly)
	}

	_, oac := s.only(t, "AWS::CloudFront::OriginAccessControl")
	cfg := props(oac)["OriginAccessControlConfig"].(map[string]any)
	if cfg["OriginAccessControlOriginType"] != "s3" || cfg["SigningBehavior"] != "always" {
		t.Errorf("origin access control = %v, want s3, signing always", cfg)
	}
	_, dist := s.only(t, "AWS::CloudFront::Distribution")
	dc := props(dist)["DistributionConfig"].(map[string]any)
	beh := dc["DefaultCacheBehavior"].(map[string]any)
	if beh["ViewerProtocolPolicy"] != "redirect-to-https" || beh["ResponseHeadersPolicyId"] == nil {
		t.Errorf("default behaviour = %v, want HTTPS only with the response headers policy", beh)
	}
	origin := list(dc["Origins"])[0].(map[string]any)
	if origin["OriginAccessControlId"] == nil || canon(origin["S3OriginConfig"]) != `{"OriginAccessIdentity":""}` {
		t.Errorf("origin = %v, want the bucket through origin access control only", canon(origin))
	}
	if dc["DefaultRootObject"] != "index.html" || !strings.Contains(canon(dc["CustomErrorResponses"]), `"ResponsePagePath":"/index.html"`) {
		t.Errorf("the distribution does not answer the app's pages with index.html: %v", canon(dc["CustomErrorResponses"]))
	}
	if dc["Logging"] == nil {
		t.Errorf("the distribution does not log")
	}

	_, hp := s.only(t, "AWS::CloudFront::ResponseHeadersPolicy")
	sec := props(hp)["ResponseHeadersPolicyConfig"].(map[string]any)["SecurityHeadersConfig"].(map[string]any)
	csp := canon(sec["ContentSecurityPolicy"])
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "execute-api.", ".amazoncognito.com"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP lacks %q: %s", want, csp)
		}
	}
	if strings.Contains(csp, "unsafe-") || strings.Contains(csp, "*;") {
		t.Errorf("CSP is not strict: %s", csp)
	}
	if sec["StrictTransportSecurity"] == nil || !strings.Contains(canon(sec["FrameOptions"]), "DENY") || sec["ContentTypeOptions"] == nil {
		t.Errorf("security headers = %v, want HSTS, frame DENY, nosniff", canon(sec))
	}

	var console map[string]any
	var consoleID string
	for id, c := range s.resources("AWS::Cognito::UserPoolClient") {
		if props(c)["ClientName"] == "rollcall-dev-console" {
			console, consoleID = c, id
		}
	}
	if console == nil {
		t.Fatalf("no console app client")
	}
	cp := props(console)
	if cp["GenerateSecret"] != false || canon(cp["AllowedOAuthFlows"]) != `["code"]` || cp["AllowedOAuthFlowsUserPoolClient"] != true {
		t.Errorf("console client = %v, want a public client with the code flow only", canon(cp))
	}
	if cb := canon(cp["CallbackURLs"]); !strings.Contains(cb, stack.ConsoleCallbackPath) || !strings.Contains(cb, "DomainName") {
		t.Errorf("callback URLs = %s, want the distribution's %s", cb, stack.ConsoleCallbackPath)
	}
	_, auth := s.only(t, "AWS::ApiGatewayV2::Authorizer")
	if !strings.Contains(canon(props(auth)["JwtConfiguration"]), consoleID) {
		t.Errorf("the API's JWT audience does not include the console's client: %s", canon(props(auth)["JwtConfiguration"]))
	}
	_, api := s.only(t, "AWS::ApiGatewayV2::Api")
	if !strings.Contains(canon(props(api)["CorsConfiguration"]), "DomainName") {
		t.Errorf("CORS does not allow the console's origin: %s", canon(props(api)["CorsConfiguration"]))
	}
	_, domain := s.only(t, "AWS::Cognito::UserPoolDomain")
	if props(domain)["ManagedLoginVersion"] != float64(2) {
		t.Errorf("user pool domain = %v, want managed login (version 2)", canon(props(domain)))
	}
	s.only(t, "AWS::Cognito::ManagedLoginBranding")

	deployments := s.resources("Custom::CDKBucketDeployment")
	if len(deployments) != 1 {
		t.Fatalf("%d console deployments, want 1", len(deployments))
	}
	for _, d := range deployments {
		p := props(d)
		if len(list(p["SourceObjectKeys"])) != 2 || p["DistributionId"] == nil {
			t.Errorf("console deployment = %v, want the build and config.json, invalidating the distribution", canon(p))
		}
		markers := canon(p["SourceMarkers"])
		for _, want := range []string{"ApiEndpoint", "ConsoleClient", "ConsoleLoginDomain"} {
			if !strings.Contains(markers, want) {
				t.Errorf("config.json does not carry %s: %s", want, markers)
			}
		}
	}
	outputs := s.tmpl["Outputs"].(map[string]any)
	for _, o := range []string{"ConsoleUrl", "ConsoleClientId", "CognitoLoginDomain"} {
		if outputs[o] == nil {
			t.Errorf("no output %s", o)
		}
	}
}

// The console's parts are cdk-nag clean, every suppression with its reason; without a console
// build synthesis stops and says to run make web.
func TestConsoleNagAndMissingBuild(t *testing.T) {
	for _, name := range []string{"dev", "prod"} {
		s := synthConsole(t, name)
		a := assertions.Annotations_FromStack(s.stack.Stack)
		nag := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-"))
		for _, m := range append(*a.FindError(jsii.String("*"), nag), *a.FindWarning(jsii.String("*"), nag)...) {
			t.Errorf("%s with console: cdk-nag: %s: %v", name, *m.Id, m.Entry.Data)
		}
	}
	_, err := stack.New(awscdk.NewApp(nil), stages["dev"], stack.Props{AssetDir: assetDir, ConsoleDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "make web") {
		t.Fatalf("error %v, want one telling to run make web", err)
	}
	// A stage with an external issuer has no managed login to sign in with: no console.
	st := stages["dev"]
	st.Auth = stack.Auth{Issuer: "https://login.example.com/", Audience: []string{"rollcall-api"}}
	out, err := stack.New(awscdk.NewApp(nil), st, stack.Props{AssetDir: assetDir, ConsoleDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	tpl := *assertions.Template_FromStack(out.Stack, nil).ToJSON()
	for _, r := range tpl["Resources"].(map[string]any) {
		if typ := r.(map[string]any)["Type"].(string); slices.Contains([]string{"AWS::CloudFront::Distribution", "AWS::S3::Bucket"}, typ) {
			t.Errorf("external-issuer stage has a %s", typ)
		}
	}
}
