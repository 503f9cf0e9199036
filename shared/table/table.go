// Package table holds the one definition of rollcall's DynamoDB table (names, keys, index, TTL,
// stream) and the builders of every item key. The CDK stack, the local stack and the store all
// read it from here, so the table is described exactly once.
package table

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Attribute and index names of the table.
const (
	PK           = "PK"     // partition key: ACCOUNT#id, LOGIN#sub
	SK           = "SK"     // sort key: the item kind and its id
	GSI1         = "GSI1"   // the one global secondary index
	GSI1PK       = "GSI1PK" // ACCOUNTS (account list) or LOGIN#sub (memberships of a login)
	GSI1SK       = "GSI1SK" // lower(name)#id or ACCOUNT#id
	TTLAttribute = "ttl"    // epoch seconds; DynamoDB deletes the item some time after
)

// StreamView is the stream view the email function needs: new and old images (DESIGN §4).
const StreamView = types.StreamViewTypeNewAndOldImages

// KeySchema is the primary key of the table.
func KeySchema() []types.KeySchemaElement {
	return []types.KeySchemaElement{
		{AttributeName: aws.String(PK), KeyType: types.KeyTypeHash},
		{AttributeName: aws.String(SK), KeyType: types.KeyTypeRange},
	}
}

// GSI1KeySchema is the key of index GSI1.
func GSI1KeySchema() []types.KeySchemaElement {
	return []types.KeySchemaElement{
		{AttributeName: aws.String(GSI1PK), KeyType: types.KeyTypeHash},
		{AttributeName: aws.String(GSI1SK), KeyType: types.KeyTypeRange},
	}
}

// AttributeDefinitions lists the key attributes of the table and its index (all strings).
func AttributeDefinitions() []types.AttributeDefinition {
	names := []string{PK, SK, GSI1PK, GSI1SK}
	defs := make([]types.AttributeDefinition, len(names))
	for i, n := range names {
		defs[i] = types.AttributeDefinition{AttributeName: aws.String(n), AttributeType: types.ScalarAttributeTypeS}
	}
	return defs
}

// CreateTableInput is the CreateTable request for a table named name: on-demand billing, GSI1
// projecting all attributes, and the stream with new and old images. The local stack and the
// tests create their tables with it; the CDK stack declares the same shape.
func CreateTableInput(name string) *dynamodb.CreateTableInput {
	return &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          types.BillingModePayPerRequest,
		KeySchema:            KeySchema(),
		AttributeDefinitions: AttributeDefinitions(),
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName:  aws.String(GSI1),
			KeySchema:  GSI1KeySchema(),
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}},
		StreamSpecification: &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: StreamView},
	}
}

// TimeToLiveInput enables TTL on attribute TTLAttribute for table name.
func TimeToLiveInput(name string) *dynamodb.UpdateTimeToLiveInput {
	return &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(TTLAttribute), Enabled: aws.Bool(true)},
	}
}
