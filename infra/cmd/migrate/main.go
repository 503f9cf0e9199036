// Command migrate brings a table's data up to the layout the store writes (store.Migrate, which
// says what changes) and records the layout in the table, so that a second run costs one read.
// `make migrate STAGE=…` runs it against a deployed stage's table with the operator's
// credentials (and `make deploy` runs it after every deploy); the local stack runs the same
// migration itself at every start. Credentials and region come from the environment
// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION), or -endpoint names a
// DynamoDB Local. Exit status 1 when the migration fails; running it again resumes it.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"rollcall/infra/local"
	"rollcall/shared/awsenv"
	"rollcall/shared/catalog"
	"rollcall/shared/store"
)

func main() {
	tableName := flag.String("table", "", "the table, e.g. rollcall-prod (stack output TableName; make migrate STAGE=… passes it)")
	endpoint := flag.String("endpoint", "", "a DynamoDB Local to use instead of AWS, e.g. http://127.0.0.1:8000")
	verbose := flag.Bool("v", false, "log every account that needed work")
	flag.Parse()
	if *tableName == "" {
		fmt.Fprintln(os.Stderr, "migrate: -table is required (make migrate STAGE=… passes it)")
		os.Exit(2)
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	var db *dynamodb.Client
	if *endpoint != "" {
		db = local.DynamoDBClient(*endpoint)
	} else {
		cfg, err := awsenv.Config()
		if err != nil {
			fmt.Fprintln(os.Stderr, "migrate:", err)
			os.Exit(1)
		}
		db = dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.RetryMaxAttempts = 10 })
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The migration reads and writes the layout only; it consults no catalog.
	s := store.New(db, *tableName, catalog.Default(), func() time.Time { return time.Now().UTC() })
	start := time.Now()
	rep, err := s.Migrate(ctx, log)
	if err != nil {
		fmt.Fprintf(os.Stderr, "migrate %s: %v (run it again to resume: what is done stays done)\n", *tableName, err)
		os.Exit(1)
	}
	if rep.Current {
		fmt.Printf("%s: already at layout %d, nothing to do\n", *tableName, rep.To)
		return
	}
	fmt.Printf("%s: layout %d -> %d in %s: %d accounts; %d moved their recipient counts to counter items, %d memberships given the account's name and type, %d accounts given their owner's login email, %d contacts indexed, %d writes redone after losing to a concurrent change\n",
		*tableName, rep.From, rep.To, time.Since(start).Round(time.Millisecond), rep.Accounts, rep.Counters, rep.Memberships, rep.OwnerLogins, rep.Contacts, rep.Retries)
}
