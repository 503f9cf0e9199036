package stack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/mail"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"

	"rollcall/shared/catalog"
	"rollcall/shared/config"
)

// ContextStages is the CDK context key (set in cdk.json) holding every stage's configuration,
// an object from stage name to Stage.
const ContextStages = "rollcall:stages"

// ContextStage is the CDK context key that selects the one stage to synthesise
// (`cdk synth -c stage=dev`); without it the app synthesises every stage.
const ContextStage = "stage"

// ContextAssetDir is the CDK context key naming the folder that holds each function's built
// bootstrap (<dir>/<function>/bootstrap); "build" when unset.
const ContextAssetDir = "assetDir"

// Stage is one deployment stage's configuration, read from the CDK context. Every field is
// documented in infra/README.md.
type Stage struct {
	Name string `json:"-"` // the stage's key in the context: dev, staging, prod

	Account string `json:"account"` // AWS account id; empty: the CLI's current account
	Region  string `json:"region"`  // AWS region; empty: the CLI's current region

	PortalURL    string `json:"portalUrl"`         // the customer portal (invitation links, CORS origin)
	SenderEmail  string `json:"senderEmail"`       // From address of invitation emails
	SenderDomain string `json:"senderDomain"`      // SES domain identity SenderEmail belongs to
	ReplyTo      string `json:"replyTo,omitempty"` // optional Reply-To address

	OperatorGroup      string           `json:"operatorGroup"`      // JWT group of the vendor's operators
	ExtraPermissions   []string         `json:"extraPermissions"`   // the stage's own permissions (R8)
	WelcomePermissions []string         `json:"welcomePermissions"` // permissions of welcome invitations (R22)
	Catalog            CatalogOverrides `json:"catalog"`            // roles and email types replacing the defaults

	Alarms     bool   `json:"alarms"`               // create CloudWatch alarms and their SNS topic
	AlarmEmail string `json:"alarmEmail,omitempty"` // subscribed to the alarm topic when set

	Throttling          Throttling `json:"throttling"`          // API-wide request rate and burst limits
	SensitiveThrottling Throttling `json:"sensitiveThrottling"` // tighter limits of SensitiveRoutes
	LogRetentionDays    int        `json:"logRetentionDays"`    // retention of every log group
	LogLevel            string     `json:"logLevel"`            // functions' LOG_LEVEL: DEBUG, INFO, WARN or ERROR

	LatencyP99Ms      int  `json:"latencyP99Ms"`      // alarm when a route's p99 latency is over this
	CanaryDeployments bool `json:"canaryDeployments"` // CodeDeploy canary (10 % for 5 min) instead of all at once

	CustomerManagedKey bool `json:"customerManagedKey"` // encrypt the table with a KMS key of the stack
	Backup             bool `json:"backup"`             // an AWS Backup plan over the table

	RetainData          bool `json:"retainData"`          // keep table, secret, user pool and logs when the stack goes
	DeletionProtection  bool `json:"deletionProtection"`  // table and user pool deletion protection, stack termination protection
	PointInTimeRecovery bool `json:"pointInTimeRecovery"` // the table's continuous backups

	Auth Auth `json:"auth"` // who issues the JWTs the API accepts
}

// CatalogOverrides are a stage's replacements for the default catalog's roles and email types
// (empty keeps the defaults); see shared/catalog.
type CatalogOverrides struct {
	Roles      []catalog.Role      `json:"roles,omitempty"`
	EmailTypes []catalog.EmailType `json:"emailTypes,omitempty"`
}

// Throttling is the API's default route throttling.
type Throttling struct {
	RateLimit  float64 `json:"rateLimit"`  // steady-state requests per second
	BurstLimit int     `json:"burstLimit"` // bucket size
}

// Auth chooses the JWT issuer: a Cognito user pool created by the stack, or an external issuer.
type Auth struct {
	CreateUserPool   bool     `json:"createUserPool"`             // create a Cognito user pool, its client and the operator group
	MFA              string   `json:"mfa,omitempty"`              // user pool MFA: "required" (default) or "optional"
	ThreatProtection bool     `json:"threatProtection,omitempty"` // Cognito Plus feature plan with full threat protection
	Issuer           string   `json:"issuer,omitempty"`           // external issuer URL (when CreateUserPool is false)
	Audience         []string `json:"audience,omitempty"`         // accepted audiences of the external issuer
}

// MFA settings of the user pool.
const (
	MFARequired = "required"
	MFAOptional = "optional"
)

// logRetentions are the retention periods CloudWatch Logs accepts, in days.
var logRetentions = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// logLevels are the values of logLevel (the functions' LOG_LEVEL, shared/reqlog).
var logLevels = []string{"DEBUG", "INFO", "WARN", "ERROR"}

// SensitiveRoutes are the routes whose throttling is the stage's sensitiveThrottling: the
// invitation token routes (guessing) and the batch routes (each request is up to 100 writes).
var SensitiveRoutes = []string{
	"POST /invitations/lookup",
	"POST /invitations/accept",
	"POST /accounts/{accountId}/contacts/batch",
	"POST /accounts/{accountId}/sites/{siteId}/contacts/batch",
}

var (
	accountPattern = regexp.MustCompile(`^[0-9]{12}$`)
	regionPattern  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)
	stagePattern   = regexp.MustCompile(`^[a-z][a-z0-9]{0,15}$`)
	groupPattern   = regexp.MustCompile(`^[\p{L}\p{M}\p{S}\p{N}\p{P}]{1,128}$`)
	domainPattern  = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)
)

// ParseStages decodes the value of the ContextStages context key (as the CDK hands it over: a
// map decoded from cdk.json, or a JSON string from -c) and validates every stage.
func ParseStages(raw any) (map[string]Stage, error) {
	if raw == nil {
		return nil, fmt.Errorf("context %q is missing: cdk.json must hold the stage configurations", ContextStages)
	}
	var data []byte
	switch v := raw.(type) {
	case string:
		data = []byte(v)
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("context %q: %w", ContextStages, err)
		}
		data = b
	}
	var byName map[string]json.RawMessage
	if err := json.Unmarshal(data, &byName); err != nil {
		return nil, fmt.Errorf("context %q must be an object of stages: %w", ContextStages, err)
	}
	if len(byName) == 0 {
		return nil, fmt.Errorf("context %q holds no stage", ContextStages)
	}
	stages := make(map[string]Stage, len(byName))
	for name, body := range byName {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		var s Stage
		if err := dec.Decode(&s); err != nil {
			return nil, fmt.Errorf("stage %s: %w", name, err)
		}
		s.Name = name
		if err := s.Validate(); err != nil {
			return nil, err
		}
		stages[name] = s
	}
	return stages, nil
}

// LoadStages reads the stage configurations from a cdk.json file (the tests read the
// repository's own).
func LoadStages(cdkJSON string) (map[string]Stage, error) {
	data, err := os.ReadFile(cdkJSON)
	if err != nil {
		return nil, err
	}
	var file struct {
		Context map[string]json.RawMessage `json:"context"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		return nil, fmt.Errorf("%s: %w", cdkJSON, err)
	}
	raw, ok := file.Context[ContextStages]
	if !ok {
		return nil, fmt.Errorf("%s: context %q is missing", cdkJSON, ContextStages)
	}
	return ParseStages(string(raw))
}

// Validate reports the first invalid setting of the stage, naming the stage and the field.
func (s Stage) Validate() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("stage %s: %s: %s", s.Name, field, fmt.Sprintf(format, args...))
	}
	if !stagePattern.MatchString(s.Name) {
		return bad("name", "must be lower-case letters and digits, starting with a letter, at most 16")
	}
	if !accountPattern.MatchString(s.Account) {
		return bad("account", "%q is not a 12-digit AWS account id (every stage pins its account)", s.Account)
	}
	if !regionPattern.MatchString(s.Region) {
		return bad("region", "%q is not an AWS region", s.Region)
	}
	if u, err := url.Parse(s.PortalURL); err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return bad("portalUrl", "%q must be an https URL without query or fragment", s.PortalURL)
	}
	if !domainPattern.MatchString(s.SenderDomain) {
		return bad("senderDomain", "%q is not a lower-case domain name", s.SenderDomain)
	}
	addr, err := mail.ParseAddress(s.SenderEmail)
	if err != nil || addr.Address != s.SenderEmail {
		return bad("senderEmail", "%q is not a bare email address", s.SenderEmail)
	}
	at := strings.ToLower(s.SenderEmail[strings.LastIndex(s.SenderEmail, "@")+1:])
	if at != s.SenderDomain && !strings.HasSuffix(at, "."+s.SenderDomain) {
		return bad("senderEmail", "%q is not in the sender domain %s", s.SenderEmail, s.SenderDomain)
	}
	if s.ReplyTo != "" {
		if a, err := mail.ParseAddress(s.ReplyTo); err != nil || a.Address != s.ReplyTo {
			return bad("replyTo", "%q is not a bare email address", s.ReplyTo)
		}
	}
	if !groupPattern.MatchString(s.OperatorGroup) {
		return bad("operatorGroup", "%q must be 1 to 128 visible characters", s.OperatorGroup)
	}
	if s.AlarmEmail != "" {
		if a, err := mail.ParseAddress(s.AlarmEmail); err != nil || a.Address != s.AlarmEmail {
			return bad("alarmEmail", "%q is not a bare email address", s.AlarmEmail)
		}
		if !s.Alarms {
			return bad("alarmEmail", "is set but alarms is false")
		}
	}
	if s.Throttling.RateLimit <= 0 || s.Throttling.BurstLimit <= 0 {
		return bad("throttling", "rateLimit and burstLimit must both be positive")
	}
	if t := s.SensitiveThrottling; t.RateLimit <= 0 || t.BurstLimit <= 0 ||
		t.RateLimit >= s.Throttling.RateLimit || t.BurstLimit >= s.Throttling.BurstLimit {
		return bad("sensitiveThrottling", "rateLimit and burstLimit must be positive and below throttling's (%v, %d)",
			s.Throttling.RateLimit, s.Throttling.BurstLimit)
	}
	if !slices.Contains(logLevels, s.LogLevel) {
		return bad("logLevel", "%q is not one of %v", s.LogLevel, logLevels)
	}
	if s.Alarms && s.LatencyP99Ms <= 0 {
		return bad("latencyP99Ms", "must be a positive number of milliseconds when alarms is true")
	}
	if s.CanaryDeployments && !s.Alarms {
		return bad("canaryDeployments", "needs alarms: the 5xx and latency alarms roll a canary back")
	}
	if !slices.Contains(logRetentions, s.LogRetentionDays) {
		return bad("logRetentionDays", "%d is not one of %v", s.LogRetentionDays, logRetentions)
	}
	if err := s.Auth.validate(); err != nil {
		return bad("auth", "%v", err)
	}
	// The functions refuse to start on a catalog or welcome permissions they cannot read:
	// check them now, with the functions' own reader, rather than at the first request.
	env, err := s.Environment(map[string]string{config.EnvTableName: "synth-check"})
	if err != nil {
		return bad("catalog", "%v", err)
	}
	if _, err := config.FromLookup(func(k string) string { return env[k] }); err != nil {
		return bad("catalog", "%v", err)
	}
	return nil
}

func (a Auth) validate() error {
	if a.CreateUserPool {
		if a.Issuer != "" || len(a.Audience) > 0 {
			return fmt.Errorf("issuer and audience apply only when createUserPool is false")
		}
		if a.MFA != "" && a.MFA != MFARequired && a.MFA != MFAOptional {
			return fmt.Errorf("mfa %q must be %q or %q", a.MFA, MFARequired, MFAOptional)
		}
		return nil
	}
	if a.MFA != "" || a.ThreatProtection {
		return fmt.Errorf("mfa and threatProtection apply only when createUserPool is true")
	}
	u, err := url.Parse(a.Issuer)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("issuer %q must be an https URL (or set createUserPool)", a.Issuer)
	}
	if len(a.Audience) == 0 || slices.Contains(a.Audience, "") {
		return fmt.Errorf("an external issuer needs at least one non-empty audience")
	}
	return nil
}

// MFAMode is the user pool's MFA setting, "required" unless the stage chose "optional".
func (a Auth) MFAMode() string {
	if a.MFA == "" {
		return MFARequired
	}
	return a.MFA
}

// CatalogJSON is the ROLLCALL_CATALOG value of the stage: its catalog overrides and extra
// permissions, as shared/catalog reads them; empty when the stage keeps every default.
func (s Stage) CatalogJSON() (string, error) {
	o := catalog.Overrides{Roles: s.Catalog.Roles, EmailTypes: s.Catalog.EmailTypes, ExtraPermissions: s.ExtraPermissions}
	if len(o.Roles) == 0 && len(o.EmailTypes) == 0 && len(o.ExtraPermissions) == 0 {
		return "", nil
	}
	b, err := json.Marshal(o)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// Environment returns the environment every function of the stage gets (the names are
// shared/config's), with extra (the table name and per-function values) added.
func (s Stage) Environment(extra map[string]string) (map[string]string, error) {
	cat, err := s.CatalogJSON()
	if err != nil {
		return nil, err
	}
	env := map[string]string{
		"LOG_LEVEL":             s.LogLevel,
		config.EnvStage:         s.Name,
		config.EnvOperatorGroup: s.OperatorGroup,
		config.EnvPortalURL:     s.PortalURL,
	}
	if cat != "" {
		env[config.EnvCatalog] = cat
	}
	if len(s.WelcomePermissions) > 0 {
		env[config.EnvWelcomePermissions] = strings.Join(s.WelcomePermissions, ",")
	}
	for k, v := range extra {
		env[k] = v
	}
	return env, nil
}

// StackName is the CloudFormation stack name of the stage: Rollcall-<stage>.
func (s Stage) StackName() string { return "Rollcall-" + s.Name }

// TableName is the stage's table name, rollcall-<stage>: fixed, so that CloudFormation refuses
// any change that would replace the table.
func (s Stage) TableName() string { return s.resourcePrefix() }

// resourcePrefix prefixes the physical names the stack chooses (functions, log groups, API).
func (s Stage) resourcePrefix() string { return "rollcall-" + s.Name }
