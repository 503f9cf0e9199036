// Package config reads a function's stage configuration from its environment. The CDK stack sets
// these variables from the stage's context; the local stack sets them for local runs.
package config

import (
	"fmt"
	"os"
	"strings"

	"rollcall/shared/catalog"
	"rollcall/shared/routes"
)

// Environment variable names (the stack and the local stack set them).
const (
	EnvTableName          = "ROLLCALL_TABLE_NAME"
	EnvStage              = "ROLLCALL_STAGE"
	EnvOperatorGroup      = "ROLLCALL_OPERATOR_GROUP"
	EnvCatalog            = "ROLLCALL_CATALOG"
	EnvWelcomePermissions = "ROLLCALL_WELCOME_PERMISSIONS"
	EnvDynamoDBEndpoint   = "ROLLCALL_DYNAMODB_ENDPOINT"
	EnvSESEndpoint        = "ROLLCALL_SES_ENDPOINT"
	EnvSigningKeySecret   = "ROLLCALL_SIGNING_KEY_SECRET_ARN"
	EnvSigningKeyFile     = "ROLLCALL_SIGNING_KEY_FILE"
	EnvPortalURL          = "ROLLCALL_PORTAL_URL"
	EnvSenderEmail        = "ROLLCALL_SENDER_EMAIL"
	EnvReplyTo            = "ROLLCALL_REPLY_TO"
	EnvConfigurationSet   = "ROLLCALL_SES_CONFIGURATION_SET"
)

// Config is a function's stage configuration.
type Config struct {
	Stage              string
	TableName          string
	OperatorGroup      string
	Catalog            catalog.Catalog
	WelcomePermissions []string
	DynamoDBEndpoint   string // set only locally: DynamoDB Local's URL
	SESEndpoint        string // set only locally: the SES v2 emulator's URL
	SigningKeySecret   string // ARN of the signing-key secret in AWS
	SigningKeyFile     string // the local stack's signing-key file
	PortalURL          string
	SenderEmail        string
	ReplyTo            string
	ConfigurationSet   string
}

// FromEnv reads the configuration; it returns an error when the table name is missing or the
// catalog or welcome permissions are invalid.
func FromEnv() (Config, error) {
	return FromLookup(os.Getenv)
}

// FromLookup reads the configuration through get (os.Getenv, or a map in tests).
func FromLookup(get func(string) string) (Config, error) {
	c := Config{
		Stage:            or(get(EnvStage), "local"),
		TableName:        get(EnvTableName),
		OperatorGroup:    or(get(EnvOperatorGroup), "operators"),
		DynamoDBEndpoint: get(EnvDynamoDBEndpoint),
		SESEndpoint:      get(EnvSESEndpoint),
		SigningKeySecret: get(EnvSigningKeySecret),
		SigningKeyFile:   get(EnvSigningKeyFile),
		PortalURL:        strings.TrimRight(or(get(EnvPortalURL), "http://127.0.0.1:3000"), "/"),
		SenderEmail:      or(get(EnvSenderEmail), "no-reply@rollcall.local"),
		ReplyTo:          get(EnvReplyTo),
		ConfigurationSet: get(EnvConfigurationSet),
	}
	if c.TableName == "" {
		return c, fmt.Errorf("config: %s is not set", EnvTableName)
	}
	cat, err := catalog.FromJSON(get(EnvCatalog))
	if err != nil {
		return c, err
	}
	c.Catalog = cat
	c.WelcomePermissions = []string{routes.ContactsRead}
	if w := get(EnvWelcomePermissions); w != "" {
		c.WelcomePermissions = strings.Split(w, ",")
	}
	for _, p := range c.WelcomePermissions {
		if !cat.HasPermission(p) {
			return c, fmt.Errorf("config: welcome permission %q is not in the catalog", p)
		}
	}
	return c, nil
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
