package sesevents

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"rollcall/shared/awsenv"
	"rollcall/shared/config"
)

// FromEnv builds the recorder from the stage configuration (config.FromEnv) and the AWS
// configuration Lambda provides; functions/ses-events calls it once, at cold start. It returns
// the configuration or AWS environment error.
func FromEnv() (*Recorder, error) {
	cfg, err := config.FromEnv()
	if err != nil {
		return nil, err
	}
	awsCfg, err := awsenv.Config()
	if err != nil {
		return nil, err
	}
	return FromConfig(cfg, awsCfg), nil
}

// FromConfig builds the recorder for stage configuration cfg with a DynamoDB client made from
// awsCfg (at cfg.DynamoDBEndpoint when set: the local stack).
func FromConfig(cfg config.Config, awsCfg aws.Config) *Recorder {
	db := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) {
		if cfg.DynamoDBEndpoint != "" {
			o.BaseEndpoint = aws.String(cfg.DynamoDBEndpoint)
		}
	})
	return &Recorder{DB: db, Table: cfg.TableName, Stage: cfg.Stage}
}
