package local

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// processSpec says how process.start starts a local tool and when it is ready.
type processSpec struct {
	Name     string        // what messages call it, e.g. "DynamoDB Local"
	Cmd      *exec.Cmd     // the command, with its Dir; start sets its output and process group
	Output   io.Writer     // where its own output goes besides the tail; nil discards it
	Port     int           // the port it listens on, for messages
	ReadyURL string        // it is ready once this answers HTTP (WaitHTTP)
	Ready    time.Duration // how long to wait until it is ready
	ExitHint string        // added to the message when it exits before it is ready, e.g. "; it needs Java 17+"
}

// process is a child process started by start in its own process group. DynamoDB and SES embed
// it (by value, so that Done, Err and Stop are methods of the pointer only).
type process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, valid once done is closed
	tail *tailBuffer   // the end of its output
	once sync.Once
}

// start starts spec.Cmd in its own process group and waits until spec.ReadyURL answers HTTP from
// this process (or ctx ends, or spec.Ready passes). It refuses a port that something else already
// listens on, before starting and again once an answer comes (the answer must come from the
// process started): that is a *PortTakenError naming the port and the process on it. When the
// process is not ready it stops it and returns an error: with the end of its output when it
// exited first. p must be the zero process.
func (p *process) start(ctx context.Context, spec processSpec) error {
	if err := CheckPort(spec.Port); err != nil {
		return err
	}
	p.name, p.cmd, p.done, p.tail = spec.Name, spec.Cmd, make(chan struct{}), &tailBuffer{max: 4096}
	out := io.Writer(p.tail)
	if spec.Output != nil {
		out = io.MultiWriter(p.tail, spec.Output)
	}
	p.cmd.Stdout, p.cmd.Stderr = out, out
	p.cmd.SysProcAttr = processGroup() // so that Stop ends it and anything it started
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()

	wctx, cancel := context.WithTimeout(ctx, spec.Ready)
	defer cancel()
	if err := WaitHTTP(wctx, spec.ReadyURL, p.done); err != nil {
		_ = p.Stop()
		select {
		case <-p.done:
			if bindFailed(p.tail.String()) {
				socks, _ := listeners(spec.Port)
				return &PortTakenError{Port: spec.Port, By: socks}
			}
			return fmt.Errorf("%s exited before it was ready (%v)%s. Its output:\n%s", p.name, p.err, spec.ExitHint, p.tail)
		default:
		}
		return fmt.Errorf("%s on port %d: %w", p.name, spec.Port, err)
	}
	if mine, socks := portHeldBy(spec.Port, p.cmd.Process.Pid); !mine {
		_ = p.Stop() // something else took the port between the check and the start
		return &PortTakenError{Port: spec.Port, By: socks}
	}
	return nil
}

// bindFailed reports whether a tool's output says it could not listen on its port (Java's
// BindException, Node's EADDRINUSE).
func bindFailed(out string) bool {
	return strings.Contains(out, "BindException") || strings.Contains(out, "Address already in use") ||
		strings.Contains(out, "EADDRINUSE")
}

// Done is closed when the process has exited, expectedly or not.
func (p *process) Done() <-chan struct{} { return p.done }

// Err returns how the process ended, with the end of its output; call it once Done is closed.
func (p *process) Err() error {
	return fmt.Errorf("%s exited (%v):\n%s", p.name, p.err, p.tail)
}

// Stop ends the process and everything it started: SIGTERM to its process group, SIGKILL after
// 5 s. It waits until the process has exited and may be called more than once.
func (p *process) Stop() error {
	p.once.Do(func() {
		pid := p.cmd.Process.Pid
		_ = syscall.Kill(-pid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			<-p.done
		}
	})
	return nil
}

// tailBuffer keeps the last max bytes written to it, for error messages.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.TrimSpace(t.b))
}
