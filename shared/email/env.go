package email

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"rollcall/shared/awsenv"
	"rollcall/shared/config"
	"rollcall/shared/invitetoken"
	"rollcall/shared/signingkey"
)

// FromEnv builds the function from its environment: the stage configuration (config.FromEnv)
// and the AWS configuration Lambda provides (awsenv). The Lambda main calls it once, at cold
// start. It returns the configuration, AWS environment or signing-key error.
func FromEnv(ctx context.Context) (*Function, error) {
	cfg, err := config.FromEnv()
	if err != nil {
		return nil, err
	}
	awsCfg, err := awsenv.Config()
	if err != nil {
		return nil, err
	}
	return FromConfig(ctx, cfg, awsCfg)
}

// FromConfig builds the function for stage configuration cfg with clients made from awsCfg:
// DynamoDB at cfg.DynamoDBEndpoint and SES v2 at cfg.SESEndpoint when they are set (the local
// stack), the signing key from signingkey.Load. The SES client makes one attempt per call: the
// function's RetryPolicy does the retrying, within the invocation's time budget. It returns the
// signing-key error, or New's.
func FromConfig(ctx context.Context, cfg config.Config, awsCfg aws.Config) (*Function, error) {
	key, err := signingkey.Load(ctx, cfg, awsCfg)
	if err != nil {
		return nil, err
	}
	signer, err := invitetoken.NewSigner(key)
	if err != nil {
		return nil, err
	}
	db := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) {
		if cfg.DynamoDBEndpoint != "" {
			o.BaseEndpoint = aws.String(cfg.DynamoDBEndpoint)
		}
	})
	ses := sesv2.NewFromConfig(awsCfg, func(o *sesv2.Options) {
		if cfg.SESEndpoint != "" {
			o.BaseEndpoint = aws.String(cfg.SESEndpoint)
		}
		o.RetryMaxAttempts = 1
	})
	return New(Options{
		DB:        db,
		Table:     cfg.TableName,
		Stage:     cfg.Stage,
		SES:       ses,
		Signer:    signer,
		PortalURL: cfg.PortalURL,
		Sending:   Sending{From: cfg.SenderEmail, ReplyTo: cfg.ReplyTo, ConfigurationSet: cfg.ConfigurationSet},
	})
}
