package table

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// Create creates table name from this definition (as CreateTableInput describes), waits until
// it is active and turns TTL on. The local stack and the tests create their tables with it.
func Create(ctx context.Context, db *dynamodb.Client, name string) error {
	if _, err := db.CreateTable(ctx, CreateTableInput(name)); err != nil {
		return fmt.Errorf("create table %s: %w", name, err)
	}
	w := dynamodb.NewTableExistsWaiter(db, func(o *dynamodb.TableExistsWaiterOptions) { o.MinDelay = 50 * time.Millisecond })
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 30*time.Second); err != nil {
		return fmt.Errorf("wait for table %s: %w", name, err)
	}
	if _, err := db.UpdateTimeToLive(ctx, TimeToLiveInput(name)); err != nil {
		return fmt.Errorf("enable ttl on %s: %w", name, err)
	}
	return nil
}
