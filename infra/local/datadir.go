package local

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// lockFile is the lock a local stack holds on its DynamoDB Local data folder while it runs.
const lockFile = "rollcall.lock"

// ErrDataDirInUse is wrapped by LockDataDir's error when another process holds the folder.
var ErrDataDirInUse = errors.New("in use")

// LockDataDir creates dir when missing and takes an exclusive lock on it (flock of
// dir/rollcall.lock, released when the process ends), so that two local stacks never run
// DynamoDB Local on the same data and `make reset` never empties it under a running stack. It
// returns the function that releases it, or an error wrapping ErrDataDirInUse naming the process
// that holds it.
func LockDataDir(dir string) (unlock func(), err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b, _ := os.ReadFile(f.Name())
		f.Close()
		holder := ""
		if pid := strings.TrimSpace(string(b)); pid != "" {
			holder = " by pid " + pid
		}
		return nil, fmt.Errorf("the data folder %s is %w%s (a running `make dev`?)", dir, ErrDataDirInUse, holder)
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// ResetDataDir empties dir, DynamoDB Local's data folder, unless a running stack holds it (an
// error wrapping ErrDataDirInUse). It returns what it removed (file names), none when the folder
// is missing or empty.
func ResetDataDir(dir string) ([]string, error) {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	unlock, err := LockDataDir(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, e := range entries {
		if e.Name() == lockFile {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return removed, err
		}
		removed = append(removed, e.Name())
	}
	return removed, nil
}
