package email

import (
	"context"
	"errors"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"rollcall/shared/config"
	"rollcall/shared/invitetoken"
	"rollcall/shared/signingkey"
)

// FromEnv builds the function from its environment: the stage configuration (config.FromEnv),
// and the region and credentials Lambda sets (AWS_REGION, AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN). The Lambda main calls it once, at cold start.
//
// It reads the environment itself rather than through the SDK's config.LoadDefaultConfig: in
// Lambda both give the same static credentials, but the config module brings STS, SSO and
// their credential providers into the binary, which the templates' use of reflection would keep
// whole (see sesFunc). It returns the configuration or signing-key error, or an error when
// the region or the credentials are missing.
func FromEnv(ctx context.Context) (*Function, error) {
	cfg, err := config.FromEnv()
	if err != nil {
		return nil, err
	}
	awsCfg := aws.Config{Region: os.Getenv("AWS_REGION")}
	if awsCfg.Region == "" {
		awsCfg.Region = os.Getenv("AWS_DEFAULT_REGION")
	}
	key, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if awsCfg.Region == "" || key == "" || secret == "" {
		return nil, errors.New("email: AWS_REGION, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set (Lambda sets them)")
	}
	awsCfg.Credentials = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(key, secret, os.Getenv("AWS_SESSION_TOKEN")))
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
		DB:        dbFuncs{get: db.GetItem, put: db.PutItem, update: db.UpdateItem},
		Table:     cfg.TableName,
		SES:       sesFunc(ses.SendEmail),
		Signer:    signer,
		PortalURL: cfg.PortalURL,
		Sending:   Sending{From: cfg.SenderEmail, ReplyTo: cfg.ReplyTo, ConfigurationSet: cfg.ConfigurationSet},
	})
}

// sesFunc hands the SES client's SendEmail to the function as a method value. Storing the
// client itself in an interface would make the linker keep every exported method of it, since
// html/template and text/template call methods by name through reflection: the SES v2 and
// DynamoDB clients' hundreds of operations would add about 5 MiB to the binary.
type sesFunc func(context.Context, *sesv2.SendEmailInput, ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)

func (f sesFunc) SendEmail(ctx context.Context, in *sesv2.SendEmailInput, o ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
	return f(ctx, in, o...)
}

// dbFuncs hands the DynamoDB client's three calls to the function as method values (see sesFunc).
type dbFuncs struct {
	get    func(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	put    func(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	update func(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

func (d dbFuncs) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return d.get(ctx, in, o...)
}

func (d dbFuncs) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	return d.put(ctx, in, o...)
}

func (d dbFuncs) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	return d.update(ctx, in, o...)
}
