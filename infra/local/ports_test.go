package local

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// listen takes a free port on 127.0.0.1 for the test.
func listen(t *testing.T) (net.Listener, int) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, l.Addr().(*net.TCPAddr).Port
}

// TestCheckPortNamesTheProcess: a taken port is one line naming the port and the process on it.
func TestCheckPortNamesTheProcess(t *testing.T) {
	l, port := listen(t)
	err := CheckPort(port)
	var taken *PortTakenError
	if !errors.As(err, &taken) {
		t.Fatalf("CheckPort(%d) while this test listens on it = %v, want a *PortTakenError", port, err)
	}
	msg := err.Error()
	for _, want := range []string{"port " + strconv.Itoa(port), "pid " + strconv.Itoa(os.Getpid()), "127.0.0.1"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("message %q is more than one line", msg)
	}
	l.Close()
	if err := CheckPort(port); err != nil {
		t.Errorf("CheckPort(%d) once free = %v", port, err)
	}
}

func TestPortHeldBy(t *testing.T) {
	_, port := listen(t)
	if mine, socks := portHeldBy(port, os.Getpid()); !mine || len(socks) != 1 || socks[0].PID != os.Getpid() {
		t.Errorf("portHeldBy(%d, this process) = %v, %+v; want true and this process", port, mine, socks)
	}
	if mine, _ := portHeldBy(port, 1); mine {
		t.Errorf("portHeldBy(%d, pid 1) = true for a port this test holds", port)
	}
}

// TestStartRefusesATakenPort: DynamoDB Local and the SES emulator refuse a port something else
// answers HTTP on (another DynamoDB Local, say) at once, with one line, instead of taking that
// answer for "ready".
func TestStartRefusesATakenPort(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(srv.Close)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	start := time.Now()
	for name, startIt := range map[string]func() error{
		"DynamoDB Local": func() error {
			d, err := StartDynamoDB(ctx, DynamoDBOptions{Root: repoRoot(t), Port: port})
			if err == nil {
				d.Stop()
			}
			return err
		},
		"SES": func() error {
			s, err := StartSES(ctx, SESOptions{Root: repoRoot(t), Port: port})
			if err == nil {
				s.Stop()
			}
			return err
		},
	} {
		err := startIt()
		var taken *PortTakenError
		if !errors.As(err, &taken) || taken.Port != port || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s on a taken port: %v, want a one-line *PortTakenError for port %d", name, err, port)
		}
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("refusing a taken port took %v: it should not start the tool", d)
	}
}

func TestHexAddr(t *testing.T) {
	for in, want := range map[string]string{
		"0100007F":                         "127.0.0.1",
		"00000000":                         "0.0.0.0",
		"00000000000000000000000000000000": "::",
		"0000000000000000FFFF00000100007F": "127.0.0.1",
		"00000000000000000000000001000000": "0:0:0:0:0:0:0:1",
	} {
		if got := hexAddr(in); got != want {
			t.Errorf("hexAddr(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestShortCommand(t *testing.T) {
	got := shortCommand([]string{"/usr/bin/java", "-Djava.library.path=/x/lib", "-cp", "/x/a.jar:/x/lib/*",
		"/repo/.local/LoopbackDynamoDBLocal.java", "-port", "8000", "-inMemory"})
	if want := "java LoopbackDynamoDBLocal.java -port 8000 -inMemory"; got != want {
		t.Errorf("shortCommand = %q, want %q", got, want)
	}
}

func TestLockAndResetDataDir(t *testing.T) {
	dir := t.TempDir() + "/data"
	unlock, err := LockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/shared-local-instance.db", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LockDataDir(dir); !errors.Is(err, ErrDataDirInUse) || !strings.Contains(err.Error(), strconv.Itoa(os.Getpid())) {
		t.Errorf("a second lock: %v, want ErrDataDirInUse naming pid %d", err, os.Getpid())
	}
	if _, err := ResetDataDir(dir); !errors.Is(err, ErrDataDirInUse) {
		t.Errorf("reset while locked: %v, want ErrDataDirInUse", err)
	}
	if _, err := os.Stat(dir + "/shared-local-instance.db"); err != nil {
		t.Errorf("reset while locked removed the data: %v", err)
	}
	unlock()
	removed, err := ResetDataDir(dir)
	if err != nil || len(removed) != 1 || removed[0] != "shared-local-instance.db" {
		t.Errorf("reset = %v, %v; want the database file removed", removed, err)
	}
	if removed, err := ResetDataDir(t.TempDir() + "/missing"); err != nil || len(removed) != 0 {
		t.Errorf("reset of a missing folder = %v, %v", removed, err)
	}
}
