// Package stack is rollcall's CDK stack, one per stage (Rollcall-<stage>): the DynamoDB table
// from shared/table, the HTTP API with its JWT authorizer and one Lambda function per route of
// shared/routes (each with only the IAM rights its route lists), the email stream function with
// its dead-letter queue, SES, the signing-key secret, log groups, alarms and outputs. cdk-nag's
// AwsSolutions checks run on every synthesis of the stack; every suppression carries its reason.
package stack

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsses"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"rollcall/shared/config"
	"rollcall/shared/cors"
	"rollcall/shared/email"
	"rollcall/shared/routes"
	"rollcall/shared/table"
)

// Props are the stack's inputs besides the stage configuration.
type Props struct {
	// AssetDir holds every function's Lambda bootstrap as <AssetDir>/<function>/bootstrap;
	// `make build` writes build/. Tests point it at a folder of dummy files.
	AssetDir string
	// ConsoleDir is the built console (web/dist, `make web`), deployed with the stage when it
	// has a user pool (the console signs in with its managed login); "" leaves the console out.
	ConsoleDir string
}

// Stack is a synthesised-to-be stage stack and the constructs the tests and the app look at.
type Stack struct {
	awscdk.Stack
	Table     awsdynamodb.Table
	API       awsapigatewayv2.HttpApi
	Functions map[string]awslambda.Function // by function name (routes' Function, EmailFunction)
	Aliases   map[string]awslambda.Alias    // each function's LiveAlias, which API Gateway and the stream call
}

// LiveAlias is the alias of every function that API Gateway and the stream event source invoke;
// a deploy publishes a new version and moves the alias to it (gradually in canary stages).
const LiveAlias = "live"

// New adds stage s's stack, Rollcall-<stage>, to scope. It returns an error, and adds nothing,
// when a function's bootstrap is missing from p.AssetDir or the route table is inconsistent.
func New(scope constructs.Construct, s Stage, p Props) (*Stack, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if err := checkRoutes(); err != nil {
		return nil, err
	}
	grants, err := RouteGrants()
	if err != nil {
		return nil, err
	}
	if err := checkAssets(p.AssetDir); err != nil {
		return nil, err
	}
	withConsole := p.ConsoleDir != "" && s.Auth.CreateUserPool
	if withConsole {
		if err := checkConsole(p.ConsoleDir); err != nil {
			return nil, err
		}
	}
	for _, name := range Functions() {
		if n := len(s.resourcePrefix() + "-" + name); n > maxFunctionName {
			return nil, fmt.Errorf("function %s: its name in stage %s is %d characters, Lambda allows %d", name, s.Name, n, maxFunctionName)
		}
	}

	// A stage that keeps its data keeps it on update or delete, but not on a failed first
	// create: CloudFormation's rollback then removes what it made (RetainExceptOnCreate), so
	// that no log group, table or secret of a fixed name is left behind to fail the retry.
	removal := awscdk.RemovalPolicy_DESTROY
	if s.RetainData {
		removal = awscdk.RemovalPolicy_RETAIN_ON_UPDATE_OR_DELETE
	}
	stack := awscdk.NewStack(scope, jsii.String(s.StackName()), &awscdk.StackProps{
		StackName:             jsii.String(s.StackName()),
		Description:           jsii.String("rollcall " + s.Name + ": account membership API, its table, functions and email sending"),
		Env:                   environment(s),
		TerminationProtection: jsii.Bool(s.DeletionProtection),
	})
	awscdk.Tags_Of(stack).Add(jsii.String("project"), jsii.String("rollcall"), nil)
	awscdk.Tags_Of(stack).Add(jsii.String("stage"), jsii.String(s.Name), nil)

	b := &builder{stage: s, stack: stack, removal: removal, assetDir: p.AssetDir, grants: grants,
		out: &Stack{Stack: stack, Functions: map[string]awslambda.Function{}, Aliases: map[string]awslambda.Alias{}}}
	b.table()
	b.signingKey()
	if withConsole {
		b.console = &console{dir: p.ConsoleDir}
		b.consoleHosting()
	}
	b.api()
	for _, r := range routes.All {
		b.routeFunction(r)
	}
	b.routeThrottles()
	b.emailFunction()
	b.sesEvents() // email_events.go
	b.restrictSigningKey()
	if s.Alarms {
		set := b.alarms()
		if s.CanaryDeployments {
			b.canaryDeployments(set)
		}
	}
	b.dashboard()
	b.outputs()
	if withConsole {
		b.consoleDeploy()
	}

	// cdk-nag's AwsSolutions rules run on every synthesis of the stack: in `cdk synth`, where
	// an error fails the command, and in the assertion tests.
	awscdk.Aspects_Of(stack).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	return b.out, nil
}

// checkRoutes refuses a route table the stack cannot deploy: two routes served by one function
// (each function gets exactly its handler's rights).
func checkRoutes() error {
	seen := map[string]string{}
	for _, r := range routes.All {
		if other, dup := seen[r.Function]; dup {
			return fmt.Errorf("route table: function %s serves both %q and %q; each route needs its own function", r.Function, other, r.Key())
		}
		seen[r.Function] = r.Key()
		if r.Function == EmailFunction {
			return fmt.Errorf("route table: %q uses the email function's name %s", r.Key(), EmailFunction)
		}
	}
	return nil
}

// checkAssets reports the first function whose built bootstrap is missing from dir.
func checkAssets(dir string) error {
	if dir == "" {
		return errors.New("no asset directory given: run `make build` and synthesise with -c assetDir=build")
	}
	var missing []string
	for _, name := range Functions() {
		path := filepath.Join(dir, name, "bootstrap")
		info, err := os.Stat(path)
		if errors.Is(err, fs.ErrNotExist) || (err == nil && !info.Mode().IsRegular()) {
			missing = append(missing, path)
			continue
		}
		if err != nil {
			return fmt.Errorf("function %s: %w", name, err)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	shown := missing
	if len(shown) > 3 {
		shown = append(shown[:3:3], fmt.Sprintf("and %d more", len(missing)-3))
	}
	return fmt.Errorf("%d of %d function bootstraps are missing from %s (%s): run `make build` first; it builds "+
		"<dir>/<function>/bootstrap for every functions/<function>/main.go", len(missing), len(Functions()), dir, strings.Join(shown, ", "))
}

// environment is the stack's account and region: the stage's, else the CLI's current ones; an
// environment-agnostic stack when neither is known (offline synthesis without credentials).
func environment(s Stage) *awscdk.Environment {
	account := or(s.Account, os.Getenv("CDK_DEFAULT_ACCOUNT"))
	region := or(s.Region, os.Getenv("CDK_DEFAULT_REGION"))
	env := &awscdk.Environment{}
	if account != "" {
		env.Account = jsii.String(account)
	}
	if region != "" {
		env.Region = jsii.String(region)
	}
	return env
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// builder holds what the parts of the stack share while it is being built.
type builder struct {
	stage    Stage
	stack    awscdk.Stack
	removal  awscdk.RemovalPolicy
	assetDir string
	out      *Stack

	tbl         awsdynamodb.Table
	secret      awssecretsmanager.Secret
	secretRoles []awsiam.Role // roles granted the signing key
	httpAPI     awsapigatewayv2.HttpApi
	httpStage   awsapigatewayv2.HttpStage
	userPool    awscognito.UserPool
	poolClient  awscognito.UserPoolClient
	issuer      *string
	dlq         awssqs.Queue
	identity    awsses.EmailIdentity
	configSet   awsses.ConfigurationSet
	sesEventsQ  awssqs.Queue // dead letters of the ses-events function (email_events.go)
	apiRoutes   []awsapigatewayv2.HttpRoute
	grants      map[string][]Grant // each route function's DynamoDB rights (grants.json)
	console     *console           // nil without the console (console.go)
}

// table declares the DynamoDB table from shared/table: on-demand, GSI1, TTL, stream with new and
// old images; PITR, deletion protection and retention as the stage says.
func (b *builder) table() {
	s := b.stage
	attr := func(name string) *awsdynamodb.Attribute {
		return &awsdynamodb.Attribute{Name: jsii.String(name), Type: awsdynamodb.AttributeType_STRING}
	}
	props := &awsdynamodb.TableProps{
		// A fixed name is the deploy-time guard against replacing the table: CloudFormation
		// refuses to replace a resource with a custom name (it cannot create the new one
		// beside the old), so a change that would swap in a new, empty table fails instead.
		TableName:           jsii.String(s.TableName()),
		PartitionKey:        attr(table.PK),
		SortKey:             attr(table.SK),
		BillingMode:         awsdynamodb.BillingMode_PAY_PER_REQUEST,
		Stream:              awsdynamodb.StreamViewType(string(table.StreamView)),
		TimeToLiveAttribute: jsii.String(table.TTLAttribute),
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(s.PointInTimeRecovery),
		},
		DeletionProtection: jsii.Bool(s.DeletionProtection),
		RemovalPolicy:      b.removal,
	}
	if s.CustomerManagedKey {
		props.Encryption = awsdynamodb.TableEncryption_CUSTOMER_MANAGED
		props.EncryptionKey = b.tableKey()
	}
	b.tbl = awsdynamodb.NewTable(b.stack, jsii.String("Table"), props)
	if s.Backup {
		b.backup()
	}
	b.tbl.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
		IndexName:      jsii.String(table.GSI1),
		PartitionKey:   attr(table.GSI1PK),
		SortKey:        attr(table.GSI1SK),
		ProjectionType: awsdynamodb.ProjectionType_ALL,
	})
	if !s.PointInTimeRecovery {
		cdknag.NagSuppressions_AddResourceSuppressions(b.tbl, &[]*cdknag.NagPackSuppression{{
			Id: jsii.String("AwsSolutions-DDB3"),
			Reason: jsii.String("Stage " + s.Name + " turns point-in-time recovery off in its configuration: its data is " +
				"disposable test data (the table is destroyed with the stack). Stages that keep data enable it."),
		}}, jsii.Bool(true))
	}
	b.out.Table = b.tbl
}

// signingKey declares the invitation signing key (R15), generated by Secrets Manager: 64
// letters and digits, used as the HMAC key's bytes.
func (b *builder) signingKey() {
	b.secret = awssecretsmanager.NewSecret(b.stack, jsii.String("SigningKey"), &awssecretsmanager.SecretProps{
		Description: jsii.String("rollcall " + b.stage.Name + ": HMAC-SHA256 key of invitation tokens (R15)"),
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			PasswordLength:     jsii.Number(64),
			ExcludePunctuation: jsii.Bool(true),
			IncludeSpace:       jsii.Bool(false),
		},
		RemovalPolicy: b.removal,
	})
	cdknag.NagSuppressions_AddResourceSuppressions(b.secret, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-SMG4"),
		Reason: jsii.String("The key signs invitation links; the functions accept the current and the previous " +
			"version (AWSCURRENT, AWSPREVIOUS), so an operator rotates it with `make rotate-signing-key` when needed " +
			"(see infra/README.md) rather than on a schedule, which would need a rotation function. The value " +
			"never leaves Secrets Manager except to the functions that sign or check tokens."),
	}}, jsii.Bool(true))
}

// restrictSigningKey denies reading the key to every principal but the roles granted it, so
// that it is readable only by the functions that need it even for account-wide IAM rights.
func (b *builder) restrictSigningKey() {
	arns := make([]*string, len(b.secretRoles))
	for i, r := range b.secretRoles {
		arns[i] = r.RoleArn()
	}
	b.secret.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("OnlyTheSigningFunctionsReadTheKey"),
		Effect:     awsiam.Effect_DENY,
		Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
		Actions:    jsii.Strings("secretsmanager:GetSecretValue"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]any{"ArnNotEquals": map[string]any{"aws:PrincipalArn": arns}},
	}))
}

// api declares the HTTP API, its JWT authorizer (a Cognito user pool of the stack or the
// stage's external issuer), CORS for the portal, the throttled $default stage and its
// access log.
func (b *builder) api() {
	s := b.stage
	var audience []*string
	if s.Auth.CreateUserPool {
		b.cognito()
		b.issuer = b.userPool.UserPoolProviderUrl()
		audience = []*string{b.poolClient.UserPoolClientId()}
		if b.console != nil {
			b.consoleAuth()
			audience = append(audience, b.console.client.UserPoolClientId())
		}
	} else {
		b.issuer = jsii.String(s.Auth.Issuer)
		audience = *jsii.Strings(s.Auth.Audience...)
	}
	authorizer := awsapigatewayv2authorizers.NewHttpJwtAuthorizer(jsii.String("JwtAuthorizer"), b.issuer,
		&awsapigatewayv2authorizers.HttpJwtAuthorizerProps{
			AuthorizerName: jsii.String("jwt"),
			JwtAudience:    &audience,
		})

	// The CORS policy (package cors) the local gateway applies too.
	var methods []awsapigatewayv2.CorsHttpMethod
	for _, m := range cors.Methods() {
		methods = append(methods, awsapigatewayv2.CorsHttpMethod(m))
	}
	origin, _ := cors.Origin(s.PortalURL) // validated
	origins := []*string{jsii.String(origin)}
	if b.console != nil {
		origins = append(origins, b.console.origin())
	}
	b.httpAPI = awsapigatewayv2.NewHttpApi(b.stack, jsii.String("Api"), &awsapigatewayv2.HttpApiProps{
		ApiName:            jsii.String(s.resourcePrefix()),
		Description:        jsii.String("rollcall " + s.Name + " HTTP API: one route per operation of the route table"),
		CreateDefaultStage: jsii.Bool(false),
		DefaultAuthorizer:  authorizer,
		CorsPreflight: &awsapigatewayv2.CorsPreflightOptions{
			AllowOrigins:  &origins,
			AllowMethods:  &methods,
			AllowHeaders:  jsii.Strings(cors.AllowHeaders...),
			ExposeHeaders: jsii.Strings(cors.ExposeHeaders...),
			MaxAge:        awscdk.Duration_Seconds(jsii.Number(cors.MaxAge.Seconds())),
		},
	})

	accessLogs := b.logGroup(b.stack, "ApiAccessLogs", "/aws/apigateway/"+s.resourcePrefix())
	b.httpStage = awsapigatewayv2.NewHttpStage(b.stack, jsii.String("DefaultStage"), &awsapigatewayv2.HttpStageProps{
		HttpApi:    b.httpAPI,
		StageName:  jsii.String("$default"),
		AutoDeploy: jsii.Bool(true),
		Throttle: &awsapigatewayv2.ThrottleSettings{
			RateLimit:  jsii.Number(s.Throttling.RateLimit),
			BurstLimit: jsii.Number(float64(s.Throttling.BurstLimit)),
		},
	})
	// Access log: ids and outcomes only (no IP address or user agent: DESIGN §6 keeps personal
	// data out of logs); the subject is the caller's opaque id.
	cfnStage := b.httpStage.Node().DefaultChild().(awsapigatewayv2.CfnStage)
	cfnStage.SetAccessLogSettings(&awsapigatewayv2.CfnStage_AccessLogSettingsProperty{
		DestinationArn: accessLogs.LogGroupArn(),
		Format: jsii.String(`{"requestId":"$context.requestId","requestTime":"$context.requestTimeEpoch",` +
			`"routeKey":"$context.routeKey","status":"$context.status","responseLength":"$context.responseLength",` +
			`"latencyMs":"$context.responseLatency","integrationLatencyMs":"$context.integrationLatency",` +
			`"integrationError":"$context.integrationErrorMessage","authorizerError":"$context.authorizer.error",` +
			`"sub":"$context.authorizer.claims.sub"}`),
	})
	b.out.API = b.httpAPI
}

// cognito declares the user pool (sign-in by email, self sign-up so that invitees can create
// their login, strong passwords, TOTP MFA), the portal's app client and the operator group.
func (b *builder) cognito() {
	s := b.stage
	mfa := awscognito.Mfa_REQUIRED
	if s.Auth.MFAMode() == MFAOptional {
		mfa = awscognito.Mfa_OPTIONAL
	}
	plan := awscognito.FeaturePlan_ESSENTIALS
	threat := awscognito.StandardThreatProtectionMode_NO_ENFORCEMENT
	if s.Auth.ThreatProtection {
		plan = awscognito.FeaturePlan_PLUS
		threat = awscognito.StandardThreatProtectionMode_FULL_FUNCTION
	}
	b.userPool = awscognito.NewUserPool(b.stack, jsii.String("UserPool"), &awscognito.UserPoolProps{
		UserPoolName:      jsii.String(s.resourcePrefix()),
		SelfSignUpEnabled: jsii.Bool(true),
		SignInAliases:     &awscognito.SignInAliases{Email: jsii.Bool(true)},
		AutoVerify:        &awscognito.AutoVerifiedAttrs{Email: jsii.Bool(true)},
		// A changed email takes effect only once verified: until then tokens carry the original,
		// verified one, so an unverified address never reaches rollcall (issue 14 finding 2).
		KeepOriginal: &awscognito.KeepOriginalAttrs{Email: jsii.Bool(true)},
		StandardAttributes: &awscognito.StandardAttributes{
			Email: &awscognito.StandardAttribute{Required: jsii.Bool(true), Mutable: jsii.Bool(true)},
		},
		PasswordPolicy: &awscognito.PasswordPolicy{
			MinLength:            jsii.Number(12),
			RequireLowercase:     jsii.Bool(true),
			RequireUppercase:     jsii.Bool(true),
			RequireDigits:        jsii.Bool(true),
			RequireSymbols:       jsii.Bool(true),
			TempPasswordValidity: awscdk.Duration_Days(jsii.Number(3)),
		},
		Mfa:                          mfa,
		MfaSecondFactor:              &awscognito.MfaSecondFactor{Otp: jsii.Bool(true), Sms: jsii.Bool(false)},
		AccountRecovery:              awscognito.AccountRecovery_EMAIL_ONLY,
		FeaturePlan:                  plan,
		StandardThreatProtectionMode: threat,
		DeletionProtection:           jsii.Bool(s.DeletionProtection),
		RemovalPolicy:                b.removal,
	})
	if mfa == awscognito.Mfa_OPTIONAL {
		cdknag.NagSuppressions_AddResourceSuppressions(b.userPool, &[]*cdknag.NagPackSuppression{{
			Id:     jsii.String("AwsSolutions-COG2"),
			Reason: jsii.String("Stage " + s.Name + " sets auth.mfa to optional in its configuration: users may enrol TOTP but are not forced to."),
		}}, jsii.Bool(true))
	}
	if !s.Auth.ThreatProtection {
		cdknag.NagSuppressions_AddResourceSuppressions(b.userPool, &[]*cdknag.NagPackSuppression{{
			Id: jsii.String("AwsSolutions-COG8"),
			Reason: jsii.String("The Plus feature plan (threat protection) is priced per monthly active user; the pool " +
				"already requires strong passwords and MFA. A stage turns it on with auth.threatProtection."),
		}}, jsii.Bool(true))
	}
	b.poolClient = b.userPool.AddClient(jsii.String("PortalClient"), &awscognito.UserPoolClientOptions{
		UserPoolClientName:         jsii.String(s.resourcePrefix() + "-portal"),
		GenerateSecret:             jsii.Bool(false),
		AuthFlows:                  &awscognito.AuthFlow{UserSrp: jsii.Bool(true)},
		PreventUserExistenceErrors: jsii.Bool(true),
		OAuth: &awscognito.OAuthSettings{
			Flows:        &awscognito.OAuthFlows{AuthorizationCodeGrant: jsii.Bool(true)},
			Scopes:       &[]awscognito.OAuthScope{awscognito.OAuthScope_OPENID(), awscognito.OAuthScope_EMAIL(), awscognito.OAuthScope_PROFILE()},
			CallbackUrls: jsii.Strings(s.PortalURL),
			LogoutUrls:   jsii.Strings(s.PortalURL),
		},
		IdTokenValidity:      awscdk.Duration_Hours(jsii.Number(1)),
		AccessTokenValidity:  awscdk.Duration_Hours(jsii.Number(1)),
		RefreshTokenValidity: awscdk.Duration_Days(jsii.Number(30)),
	})
	awscognito.NewCfnUserPoolGroup(b.stack, jsii.String("OperatorGroup"), &awscognito.CfnUserPoolGroupProps{
		UserPoolId:  b.userPool.UserPoolId(),
		GroupName:   jsii.String(s.OperatorGroup),
		Description: jsii.String("rollcall operators: the vendor's support and ops staff (DESIGN §2)"),
	})
}

// logGroup declares a log group with the stage's retention.
func (b *builder) logGroup(scope constructs.Construct, id, name string) awslogs.LogGroup {
	return awslogs.NewLogGroup(scope, jsii.String(id), &awslogs.LogGroupProps{
		LogGroupName:  jsii.String(name),
		Retention:     retention(b.stage.LogRetentionDays),
		RemovalPolicy: b.removal,
	})
}

// function declares Lambda function name (arm64, provided.al2023, its built bootstrap) with its
// own role, which may write only to the function's own log group and send X-Ray traces; callers
// add the rest. The function logs in Lambda's JSON format at the stage's level and is traced
// (active X-Ray tracing); each deploy whose code or configuration changed publishes a version,
// and the LiveAlias points at it. It returns the alias, which is what callers wire.
func (b *builder) function(name, description string, env map[string]string, memoryMB int, timeout time.Duration) (awslambda.Function, awslambda.Alias, awsiam.Role) {
	scope := constructs.NewConstruct(b.stack, jsii.String(constructID(name)))
	fnName := b.stage.resourcePrefix() + "-" + name
	logs := b.logGroup(scope, "Logs", "/aws/lambda/"+fnName)
	role := awsiam.NewRole(scope, jsii.String("Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("rollcall " + b.stage.Name + " " + name + ": only what this function's operation needs"),
	})
	logs.GrantWrite(role)
	vars := map[string]*string{}
	for k, v := range env {
		vars[k] = jsii.String(v)
	}
	fn := awslambda.NewFunction(scope, jsii.String("Function"), &awslambda.FunctionProps{
		FunctionName: jsii.String(fnName),
		Description:  jsii.String(description),
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("bootstrap"),
		Code:         awslambda.Code_FromAsset(jsii.String(filepath.Join(b.assetDir, name)), nil),
		MemorySize:   jsii.Number(float64(memoryMB)),
		Timeout:      awscdk.Duration_Seconds(jsii.Number(timeout.Seconds())),
		Role:         role,
		LogGroup:     logs,
		Environment:  &vars,
		Tracing:      awslambda.Tracing_ACTIVE,
		// Lambda's JSON log format; its own filter lets INFO through even when the stage logs
		// at WARN or ERROR, because the request lines (INFO) carry the metrics: LOG_LEVEL,
		// which the code applies, filters every other line.
		LoggingFormat:         awslambda.LoggingFormat_JSON,
		ApplicationLogLevelV2: applicationLogLevel(b.stage.LogLevel),
		SystemLogLevelV2:      awslambda.SystemLogLevel_INFO,
		CurrentVersionOptions: &awslambda.VersionOptions{RemovalPolicy: awscdk.RemovalPolicy_RETAIN},
	})
	alias := awslambda.NewAlias(scope, jsii.String("LiveAlias"), &awslambda.AliasProps{
		AliasName:   jsii.String(LiveAlias),
		Version:     fn.CurrentVersion(),
		Description: jsii.String("the version API Gateway and the stream event source invoke"),
	})
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("Active X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords have no " +
			"resource-level permissions and must be granted on *."),
		AppliesTo: &[]any{jsii.String("Resource::*")},
	}}, jsii.Bool(true))
	b.out.Functions[name] = fn
	b.out.Aliases[name] = alias
	return fn, alias, role
}

// applicationLogLevel is Lambda's filter for a stage's log level: DEBUG for DEBUG, else INFO
// (see function).
func applicationLogLevel(level string) awslambda.ApplicationLogLevel {
	if level == "DEBUG" {
		return awslambda.ApplicationLogLevel_DEBUG
	}
	return awslambda.ApplicationLogLevel_INFO
}

// grantTable allows actions on the table to role, and Query on GSI1 when index is set.
func (b *builder) grantTable(role awsiam.Role, actions []string, index bool) {
	if len(actions) == 0 {
		return
	}
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings(actions...),
		Resources: &[]*string{b.tbl.TableArn()},
	}))
	if index {
		role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings(routes.Query),
			Resources: &[]*string{IndexArn(b.tbl)},
		}))
	}
}

// grantSigningKey lets role read the signing key's value (and nothing else about the secret).
func (b *builder) grantSigningKey(role awsiam.Role) {
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("secretsmanager:GetSecretValue"),
		Resources: &[]*string{b.secret.SecretArn()},
	}))
	b.secretRoles = append(b.secretRoles, role)
}

// IndexArn is the ARN of the table's GSI1.
func IndexArn(t awsdynamodb.ITable) *string {
	return awscdk.Fn_Join(jsii.String(""), &[]*string{t.TableArn(), jsii.String("/index/" + table.GSI1)})
}

// routeFunction declares route r's function, with exactly the DynamoDB rights its handler uses
// (grants.json) and the signing key when the route has Secret, and its API route and
// integration.
func (b *builder) routeFunction(r routes.Route) {
	extra := map[string]string{config.EnvTableName: *b.tbl.TableName()}
	if r.Secret {
		extra[config.EnvSigningKeySecret] = *b.secret.SecretArn()
	}
	env, _ := b.stage.Environment(extra) // validated with the stage
	_, alias, role := b.function(r.Function, "rollcall "+b.stage.Name+": "+r.Key(), env, APIMemoryMB, APITimeout)
	b.grantRoute(role, b.grants[r.Function])
	if r.Secret {
		b.grantSigningKey(role)
	}
	integration := awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String(constructID(r.Function)+"Integration"), alias,
		&awsapigatewayv2integrations.HttpLambdaIntegrationProps{
			PayloadFormatVersion: awsapigatewayv2.PayloadFormatVersion_VERSION_2_0(),
		})
	added := b.httpAPI.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
		Path:        jsii.String(r.Path),
		Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod(r.Method)},
		Integration: integration,
	})
	b.apiRoutes = append(b.apiRoutes, *added...)
}

// routeThrottles gives the SensitiveRoutes the stage's sensitiveThrottling, tighter than the
// API's default. The stage's route settings name routes by key, so the stage waits for them.
func (b *builder) routeThrottles() {
	settings := map[string]any{}
	for _, key := range SensitiveRoutes {
		// RouteSettings is free-form JSON to the CDK: the keys are CloudFormation's own
		// (a property struct would be written with camel-case keys, which CloudFormation ignores).
		settings[key] = map[string]any{
			"ThrottlingRateLimit":  b.stage.SensitiveThrottling.RateLimit,
			"ThrottlingBurstLimit": b.stage.SensitiveThrottling.BurstLimit,
		}
	}
	cfnStage := b.httpStage.Node().DefaultChild().(awsapigatewayv2.CfnStage)
	cfnStage.SetRouteSettings(settings)
	for _, r := range b.apiRoutes {
		b.httpStage.Node().AddDependency(r)
	}
}

// emailFunction declares the stream function that sends invitation emails (DESIGN §4): SES
// identity and configuration set, dead-letter queue, its event source on the table's stream
// filtered to invitation records, and its rights.
func (b *builder) emailFunction() {
	s := b.stage
	configSet := awsses.NewConfigurationSet(b.stack, jsii.String("EmailConfigurationSet"), &awsses.ConfigurationSetProps{
		ConfigurationSetName: jsii.String(s.resourcePrefix()),
		ReputationMetrics:    jsii.Bool(true),
		SendingEnabled:       jsii.Bool(true),
		SuppressionReasons:   awsses.SuppressionReasons_BOUNCES_AND_COMPLAINTS,
		TlsPolicy:            awsses.ConfigurationSetTlsPolicy_REQUIRE,
	})
	b.configSet = configSet
	b.identity = awsses.NewEmailIdentity(b.stack, jsii.String("EmailIdentity"), &awsses.EmailIdentityProps{
		Identity:         awsses.Identity_Domain(jsii.String(s.SenderDomain)),
		ConfigurationSet: configSet,
	})

	b.dlq = awssqs.NewQueue(b.stack, jsii.String("EmailDeadLetterQueue"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Seconds(jsii.Number(DLQRetention.Seconds())),
		RemovalPolicy:   b.removal, // kept (with its messages) in stages that keep data
	})
	cdknag.NagSuppressions_AddResourceSuppressions(b.dlq, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-SQS3"),
		Reason: jsii.String("This queue is itself the dead-letter (on-failure) destination of the email function's " +
			"stream event source mapping, which cdk-nag does not recognise; nothing consumes it but operators."),
	}}, jsii.Bool(true))

	extra := map[string]string{
		config.EnvTableName:        *b.tbl.TableName(),
		config.EnvSigningKeySecret: *b.secret.SecretArn(),
		config.EnvSenderEmail:      s.SenderEmail,
		config.EnvConfigurationSet: *configSet.ConfigurationSetName(),
	}
	if s.ReplyTo != "" {
		extra[config.EnvReplyTo] = s.ReplyTo
	}
	env, _ := s.Environment(extra)
	_, alias, role := b.function(EmailFunction, "rollcall "+s.Name+": sends invitation emails from the table's stream", env, EmailMemoryMB, EmailTimeout)
	b.grantTable(role, EmailActions, false)
	b.grantSigningKey(role)
	configSetArn := b.stack.FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("ses"),
		Resource:     jsii.String("configuration-set"),
		ResourceName: configSet.ConfigurationSetName(),
	})
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:    jsii.Strings(EmailSESActions...),
		Resources:  &[]*string{b.identity.EmailIdentityArn(), configSetArn},
		Conditions: &map[string]any{"StringEquals": map[string]any{"ses:FromAddress": s.SenderEmail}},
	}))

	alias.AddEventSource(awslambdaeventsources.NewDynamoEventSource(b.tbl, &awslambdaeventsources.DynamoEventSourceProps{
		StartingPosition:        awslambda.StartingPosition_TRIM_HORIZON,
		BatchSize:               jsii.Number(EmailBatchSize),
		BisectBatchOnError:      jsii.Bool(email.Source.Bisect),
		RetryAttempts:           jsii.Number(EmailRetryAttempts),
		MaxRecordAge:            awscdk.Duration_Seconds(jsii.Number(EmailMaxRecordAge.Seconds())),
		ReportBatchItemFailures: jsii.Bool(true),
		OnFailure:               awslambdaeventsources.NewSqsDlq(b.dlq),
		Filters:                 &[]*map[string]any{awslambda.FilterCriteria_Filter(&EmailFilter)},
	}))
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("dynamodb:ListStreams, which Lambda's stream event source needs, has no resource-level " +
			"permissions and must be granted on *; every other right of this role names the table's stream, " +
			"table, secret, queue, SES identity or configuration set."),
		AppliesTo: &[]any{jsii.String("Resource::*")},
	}}, jsii.Bool(true))
}

// outputs declares the stack's outputs.
func (b *builder) outputs() {
	out := func(id, description string, value *string) {
		awscdk.NewCfnOutput(b.stack, jsii.String(id), &awscdk.CfnOutputProps{Value: value, Description: jsii.String(description)})
	}
	out("ApiUrl", "Base URL of the HTTP API", b.httpStage.Url())
	out("TableName", "Name of the DynamoDB table", b.tbl.TableName())
	out("JwtIssuer", "Issuer of the JWTs the API accepts", b.issuer)
	if b.userPool != nil {
		out("UserPoolId", "Cognito user pool id", b.userPool.UserPoolId())
		out("UserPoolClientId", "Cognito app client id of the portal (the JWT audience)", b.poolClient.UserPoolClientId())
	}
	out("SigningKeySecretArn", "ARN of the invitation signing-key secret", b.secret.SecretArn())
	out("EmailDeadLetterQueueUrl", "Dead-letter queue of the email function", b.dlq.QueueUrl())
	for i, r := range *b.identity.DkimRecords() {
		out(fmt.Sprintf("DkimRecord%d", i+1), "CNAME to publish in the sender domain's DNS for SES DKIM",
			awscdk.Fn_Join(jsii.String(" CNAME "), &[]*string{r.Name, r.Value}))
	}
}

// constructID turns a function name (kebab-case) into a construct id (PascalCase).
func constructID(name string) string {
	var sb strings.Builder
	for _, part := range strings.FieldsFunc(name, func(r rune) bool { return r == '-' || r == '_' }) {
		sb.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return sb.String()
}

// retention maps a validated number of days to CloudWatch Logs' retention.
func retention(days int) awslogs.RetentionDays {
	return map[int]awslogs.RetentionDays{
		1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS, 5: awslogs.RetentionDays_FIVE_DAYS,
		7: awslogs.RetentionDays_ONE_WEEK, 14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
		60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS, 120: awslogs.RetentionDays_FOUR_MONTHS,
		150: awslogs.RetentionDays_FIVE_MONTHS, 180: awslogs.RetentionDays_SIX_MONTHS, 365: awslogs.RetentionDays_ONE_YEAR,
		400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS, 731: awslogs.RetentionDays_TWO_YEARS,
		1096: awslogs.RetentionDays_THREE_YEARS, 1827: awslogs.RetentionDays_FIVE_YEARS, 2192: awslogs.RetentionDays_SIX_YEARS,
		2557: awslogs.RetentionDays_SEVEN_YEARS, 2922: awslogs.RetentionDays_EIGHT_YEARS, 3288: awslogs.RetentionDays_NINE_YEARS,
		3653: awslogs.RetentionDays_TEN_YEARS,
	}[days]
}
