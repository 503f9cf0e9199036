package stack

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfrontorigins"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3deployment"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// ContextConsoleDir is the CDK context key naming the built console (web/dist, `make web`); the
// app defaults it to web/dist.
const ContextConsoleDir = "consoleDir"

// ConsoleCallbackPath is the console's page that Cognito's managed login returns to with a code.
const ConsoleCallbackPath = "/auth/callback"

// console is the account console of a stage (web/): a private S3 bucket behind CloudFront with
// origin access control, HTTPS only, security headers and a strict Content-Security-Policy; its
// own Cognito app client (authorization code with PKCE, no secret) and the user pool's managed
// login domain; and the stage settings the console reads, /config.json, written at deploy time.
type console struct {
	dir          string
	bucket       awss3.Bucket
	logs         awss3.Bucket
	distribution awscloudfront.Distribution
	client       awscognito.UserPoolClient
	domain       awscognito.UserPoolDomain
}

// checkConsole refuses a console folder without a build, saying how to make one.
func checkConsole(dir string) error {
	info, err := os.Stat(filepath.Join(dir, "index.html"))
	if errors.Is(err, fs.ErrNotExist) || (err == nil && !info.Mode().IsRegular()) {
		return fmt.Errorf("the console is not built in %s (no index.html): run `make web` first", dir)
	}
	return err
}

// origin is the console's https origin (its CloudFront domain).
func (c *console) origin() *string {
	return awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("https://"), c.distribution.DistributionDomainName()})
}

// consoleHosting declares the bucket, its access-log bucket and the distribution. It runs before
// api(), which allows the console's origin in CORS.
func (b *builder) consoleHosting() {
	c := b.console
	s := b.stage
	c.logs = awss3.NewBucket(b.stack, jsii.String("ConsoleLogs"), &awss3.BucketProps{
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		// CloudFront's standard logs are written with an ACL.
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_PREFERRED,
		LifecycleRules:    &[]*awss3.LifecycleRule{{Expiration: awscdk.Duration_Days(jsii.Number(float64(s.LogRetentionDays)))}},
		RemovalPolicy:     b.removal,
		AutoDeleteObjects: jsii.Bool(!s.RetainData),
	})
	cdknag.NagSuppressions_AddResourceSuppressions(c.logs, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-S1"),
		Reason: jsii.String("This bucket holds the console's access logs (S3 and CloudFront); logging it into itself would loop."),
	}}, jsii.Bool(true))

	c.bucket = awss3.NewBucket(b.stack, jsii.String("ConsoleBucket"), &awss3.BucketProps{
		BlockPublicAccess:      awss3.BlockPublicAccess_BLOCK_ALL(),
		Encryption:             awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:             jsii.Bool(true),
		Versioned:              jsii.Bool(false),
		ServerAccessLogsBucket: c.logs,
		ServerAccessLogsPrefix: jsii.String("s3/"),
		RemovalPolicy:          awscdk.RemovalPolicy_DESTROY, // the build is redeployed from the repository
		AutoDeleteObjects:      jsii.Bool(true),
	})

	headers := awscloudfront.NewResponseHeadersPolicy(b.stack, jsii.String("ConsoleHeaders"), &awscloudfront.ResponseHeadersPolicyProps{
		ResponseHeadersPolicyName: jsii.String(s.resourcePrefix() + "-console"),
		Comment:                   jsii.String("rollcall " + s.Name + " console: security headers and a strict CSP"),
		SecurityHeadersBehavior: &awscloudfront.ResponseSecurityHeadersBehavior{
			ContentSecurityPolicy: &awscloudfront.ResponseHeadersContentSecurityPolicy{
				ContentSecurityPolicy: b.consoleCSP(),
				Override:              jsii.Bool(true),
			},
			ContentTypeOptions: &awscloudfront.ResponseHeadersContentTypeOptions{Override: jsii.Bool(true)},
			FrameOptions: &awscloudfront.ResponseHeadersFrameOptions{
				FrameOption: awscloudfront.HeadersFrameOption_DENY, Override: jsii.Bool(true),
			},
			ReferrerPolicy: &awscloudfront.ResponseHeadersReferrerPolicy{
				ReferrerPolicy: awscloudfront.HeadersReferrerPolicy_NO_REFERRER, Override: jsii.Bool(true),
			},
			StrictTransportSecurity: &awscloudfront.ResponseHeadersStrictTransportSecurity{
				AccessControlMaxAge: awscdk.Duration_Days(jsii.Number(730)),
				IncludeSubdomains:   jsii.Bool(true),
				Override:            jsii.Bool(true),
			},
		},
	})

	// The console is a single-page app: a path that is no file (S3 answers 403 through origin
	// access control) is one of its pages, answered by index.html.
	spa := func(status float64) *awscloudfront.ErrorResponse {
		return &awscloudfront.ErrorResponse{HttpStatus: jsii.Number(status), ResponseHttpStatus: jsii.Number(200),
			ResponsePagePath: jsii.String("/index.html"), Ttl: awscdk.Duration_Seconds(jsii.Number(0))}
	}
	c.distribution = awscloudfront.NewDistribution(b.stack, jsii.String("ConsoleDistribution"), &awscloudfront.DistributionProps{
		Comment:           jsii.String("rollcall " + s.Name + " console"),
		DefaultRootObject: jsii.String("index.html"),
		DefaultBehavior: &awscloudfront.BehaviorOptions{
			Origin:                awscloudfrontorigins.S3BucketOrigin_WithOriginAccessControl(c.bucket, nil),
			ViewerProtocolPolicy:  awscloudfront.ViewerProtocolPolicy_REDIRECT_TO_HTTPS,
			AllowedMethods:        awscloudfront.AllowedMethods_ALLOW_GET_HEAD(),
			CachePolicy:           awscloudfront.CachePolicy_CACHING_OPTIMIZED(),
			ResponseHeadersPolicy: headers,
			Compress:              jsii.Bool(true),
		},
		ErrorResponses: &[]*awscloudfront.ErrorResponse{spa(403), spa(404)},
		HttpVersion:    awscloudfront.HttpVersion_HTTP2_AND_3,
		PriceClass:     awscloudfront.PriceClass_PRICE_CLASS_100,
		EnableLogging:  jsii.Bool(true),
		LogBucket:      c.logs,
		LogFilePrefix:  jsii.String("cloudfront/"),
		EnableIpv6:     jsii.Bool(true),
	})
	cdknag.NagSuppressions_AddResourceSuppressions(c.distribution, &[]*cdknag.NagPackSuppression{
		{Id: jsii.String("AwsSolutions-CFR1"), Reason: jsii.String("The console serves customers wherever they are; access is controlled by sign-in, not geography.")},
		{Id: jsii.String("AwsSolutions-CFR2"), Reason: jsii.String("The distribution serves static files only (no origin that computes); the API has its own throttling. A stage that wants WAF adds a web ACL.")},
		{Id: jsii.String("AwsSolutions-CFR4"), Reason: jsii.String("The distribution uses CloudFront's default *.cloudfront.net certificate, whose viewer security policy CloudFront fixes; a stage that puts its own domain and certificate in front sets TLSv1.2_2021.")},
	}, jsii.Bool(true))
}

// consoleCSP is the console's Content-Security-Policy: its own files only, no inline script or
// style, no framing, and connections only to API Gateway in the stage's region and the stage's
// Cognito domain. (The API's own id cannot be named: the API allows the console's origin in
// CORS, so the distribution cannot also depend on the API.)
func (b *builder) consoleCSP() *string {
	return awscdk.Fn_Join(jsii.String(""), &[]*string{
		jsii.String("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
			"object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'; connect-src 'self' https://*.execute-api."),
		awscdk.Aws_REGION(), jsii.String(".amazonaws.com "), b.consoleCognitoURL(),
	})
}

// consoleDomainPrefix is the user pool domain's prefix: domain prefixes are global per region, so
// the account id keeps stages of different accounts apart.
func (b *builder) consoleDomainPrefix() *string {
	return awscdk.Fn_Join(jsii.String("-"), &[]*string{jsii.String(b.stage.resourcePrefix()), awscdk.Aws_ACCOUNT_ID()})
}

// consoleCognitoURL is the managed login's base URL, https://<prefix>.auth.<region>.amazoncognito.com,
// built from its parts so that it names no resource.
func (b *builder) consoleCognitoURL() *string {
	return awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("https://"), b.consoleDomainPrefix(),
		jsii.String(".auth."), awscdk.Aws_REGION(), jsii.String(".amazoncognito.com")})
}

// consoleAuth declares the user pool's managed login domain and the console's app client: a
// public client (no secret), authorization code with PKCE, returning to the console's callback
// page. It runs inside api(), after the pool exists and before the authorizer, whose audience
// includes the client.
func (b *builder) consoleAuth() {
	c := b.console
	s := b.stage
	c.domain = b.userPool.AddDomain(jsii.String("ConsoleLoginDomain"), &awscognito.UserPoolDomainOptions{
		CognitoDomain: &awscognito.CognitoDomainOptions{
			// Domain prefixes are global per region: the account id keeps them apart.
			DomainPrefix: b.consoleDomainPrefix(),
		},
		ManagedLoginVersion: awscognito.ManagedLoginVersion_NEWER_MANAGED_LOGIN,
	})
	origin := c.origin()
	c.client = b.userPool.AddClient(jsii.String("ConsoleClient"), &awscognito.UserPoolClientOptions{
		UserPoolClientName:         jsii.String(s.resourcePrefix() + "-console"),
		GenerateSecret:             jsii.Bool(false),
		AuthFlows:                  &awscognito.AuthFlow{},
		PreventUserExistenceErrors: jsii.Bool(true),
		OAuth: &awscognito.OAuthSettings{
			Flows:        &awscognito.OAuthFlows{AuthorizationCodeGrant: jsii.Bool(true)},
			Scopes:       &[]awscognito.OAuthScope{awscognito.OAuthScope_OPENID(), awscognito.OAuthScope_EMAIL(), awscognito.OAuthScope_PROFILE()},
			CallbackUrls: &[]*string{awscdk.Fn_Join(jsii.String(""), &[]*string{origin, jsii.String(ConsoleCallbackPath)})},
			LogoutUrls:   &[]*string{awscdk.Fn_Join(jsii.String(""), &[]*string{origin, jsii.String("/")})},
		},
		SupportedIdentityProviders: &[]awscognito.UserPoolClientIdentityProvider{awscognito.UserPoolClientIdentityProvider_COGNITO()},
		IdTokenValidity:            awscdk.Duration_Hours(jsii.Number(1)),
		AccessTokenValidity:        awscdk.Duration_Hours(jsii.Number(1)),
		RefreshTokenValidity:       awscdk.Duration_Days(jsii.Number(30)),
	})
	// Managed login (the newer version) needs a style: Cognito's own.
	awscognito.NewCfnManagedLoginBranding(b.stack, jsii.String("ConsoleLoginBranding"), &awscognito.CfnManagedLoginBrandingProps{
		UserPoolId:               b.userPool.UserPoolId(),
		ClientId:                 c.client.UserPoolClientId(),
		UseCognitoProvidedValues: jsii.Bool(true),
	})
}

// consoleDeploy uploads the build and the stage settings (/config.json: API URL, Cognito domain
// and client id, written at deploy time), then invalidates the distribution's cache.
func (b *builder) consoleDeploy() {
	c := b.console
	s := b.stage
	settings := map[string]any{
		"signIn":        "cognito",
		"apiUrl":        b.httpAPI.ApiEndpoint(),
		"cognitoDomain": c.domain.BaseUrl(nil),
		"clientId":      c.client.UserPoolClientId(),
		"operatorGroup": s.OperatorGroup,
	}
	awss3deployment.NewBucketDeployment(b.stack, jsii.String("ConsoleFiles"), &awss3deployment.BucketDeploymentProps{
		DestinationBucket: c.bucket,
		Sources: &[]awss3deployment.ISource{
			awss3deployment.Source_Asset(jsii.String(c.dir), nil),
			awss3deployment.Source_JsonData(jsii.String("config.json"), settings, nil),
		},
		// Revalidated on every load: index.html and config.json must follow deploys; the hashed
		// assets answer 304 from CloudFront's cache.
		CacheControl:      &[]awss3deployment.CacheControl{awss3deployment.CacheControl_FromString(jsii.String("no-cache"))},
		Distribution:      c.distribution,
		DistributionPaths: jsii.Strings("/*"),
		Prune:             jsii.Bool(true),
		MemoryLimit:       jsii.Number(256),
	})
	// The deployment's upload function is CDK's own singleton at the stack's root.
	for _, child := range *b.stack.Node().Children() {
		id := *child.Node().Id()
		if strings.HasPrefix(id, "Custom::CDKBucketDeployment") || strings.HasPrefix(id, "BucketNotificationsHandler") {
			cdknag.NagSuppressions_AddResourceSuppressions(child, &[]*cdknag.NagPackSuppression{
				{Id: jsii.String("AwsSolutions-IAM4"), Reason: jsii.String("CDK's BucketDeployment upload function uses AWSLambdaBasicExecutionRole for its own logs.")},
				{Id: jsii.String("AwsSolutions-IAM5"), Reason: jsii.String("CDK's BucketDeployment upload function reads the asset bucket's objects and writes the console bucket's (object ARNs end in /*).")},
				{Id: jsii.String("AwsSolutions-L1"), Reason: jsii.String("The runtime of CDK's BucketDeployment upload function is chosen by the CDK version pinned in go.mod.")},
			}, jsii.Bool(true))
		}
	}
	out := func(id, description string, value *string) {
		awscdk.NewCfnOutput(b.stack, jsii.String(id), &awscdk.CfnOutputProps{Value: value, Description: jsii.String(description)})
	}
	out("ConsoleUrl", "the account console (set portalUrl to it, or to your domain in front of it, so that invitation links open it)", c.origin())
	out("ConsoleClientId", "Cognito app client id of the console (public, authorization code with PKCE)", c.client.UserPoolClientId())
	out("CognitoLoginDomain", "Cognito managed login of the stage", c.domain.BaseUrl(nil))
}
