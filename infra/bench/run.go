package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"strings"
	"time"
)

// Options are a run's sizes and where DynamoDB Local is.
type Options struct {
	Endpoint string    // DynamoDB Local (a fresh one: the run creates its own table there)
	Progress io.Writer // a line per measured row while running; nil: none

	Samples      int // runs per path of each read route
	WriteSamples int // runs per path of each write route
	BatchSamples int // runs per path of the 100-row batches
	ScaleSamples int // runs per path of each scaling case

	BatchRows       int   // rows of the batch routes' requests (the issue: 100)
	Relationships   int   // relationships of the contacts delete-contact deletes (the issue: 150)
	HeavyDeletes    int   // runs per path of that delete-contact
	ContactSizes    []int // list-contacts scaling (the issue: 100, 1,000, 10,000)
	MembershipSizes []int // GET /me/accounts scaling (the issue: 1, 10, 100)
	Writers         int   // concurrent writers (the issue: 50)
	WriterOps       int   // operations per writer per case

	// Only, when set, keeps the rows whose name it matches (and the writers' comparison when it
	// matches "writers"); a partial run, for profiling one case.
	Only *regexp.Regexp
}

// keep reports whether the row name is measured.
func (o Options) keep(name string) bool { return o.Only == nil || o.Only.MatchString(name) }

// Full is `make bench`: the sizes, a few minutes on a 2-core machine.
func Full() Options {
	return Options{
		Samples: 150, WriteSamples: 40, BatchSamples: 8, ScaleSamples: 40,
		BatchRows: 100, Relationships: 150, HeavyDeletes: 4,
		ContactSizes: []int{100, 1000, 10000}, MembershipSizes: []int{1, 10, 100},
		Writers: 50, WriterOps: 20,
	}
}

// Tiny runs every case at the smallest sizes (the package's test, and BENCH_SIZE=tiny).
func Tiny() Options {
	return Options{
		Samples: 3, WriteSamples: 2, BatchSamples: 1, ScaleSamples: 2,
		BatchRows: 3, Relationships: 3, HeavyDeletes: 1,
		ContactSizes: []int{10, 20}, MembershipSizes: []int{1, 3},
		Writers: 3, WriterOps: 4,
	}
}

// Report is a run's figures.
type Report struct {
	Options Options
	Start   time.Time
	Took    time.Duration
	Machine Machine
	LoadEnd string // /proc/loadavg at the end
	// The load average when each part started (the machine may be shared).
	LoadRoutes, LoadContacts, LoadMembers, LoadWriters string
	Routes                                             []Row // per route
	Contacts                                           []Row // list-contacts scaling
	Members                                            []Row // GET /me/accounts scaling
	Writers                                            Writers
}

// Run measures everything with o against the DynamoDB Local at o.Endpoint.
func Run(ctx context.Context, o Options, dynamoDBLocalVersion string) (*Report, error) {
	rep := &Report{Options: o, Start: time.Now().UTC(), Machine: DescribeMachine(dynamoDBLocalVersion)}
	e, err := newEnv(ctx, o)
	if err != nil {
		return nil, err
	}
	defer e.stop()
	start := time.Now()
	heavy := 0
	if o.keep(fmt.Sprintf("delete-contact (%d relationships)", o.Relationships)) {
		heavy = 2 * o.HeavyDeletes
	}
	f, err := e.setUpFixture(ctx, heavy)
	if err != nil {
		return nil, fmt.Errorf("bench: set-up: %w", err)
	}
	e.progress("set up the per-route account in %v", time.Since(start).Round(time.Millisecond))
	rep.LoadRoutes = loadAvg()
	for _, c := range e.routeCases(f) {
		if !o.keep(c.name) {
			continue
		}
		row, err := e.measure(ctx, c)
		if err != nil {
			return nil, err
		}
		rep.Routes = append(rep.Routes, row)
	}
	rep.LoadContacts = loadAvg()
	if rep.Contacts, err = e.contactScaling(ctx); err != nil {
		return nil, err
	}
	rep.LoadMembers = loadAvg()
	if rep.Members, err = e.membershipScaling(ctx); err != nil {
		return nil, err
	}
	rep.LoadWriters = loadAvg()
	if o.keep("writers") {
		if rep.Writers, err = e.writers(ctx); err != nil {
			return nil, err
		}
	}
	rep.Took = time.Since(start)
	rep.LoadEnd = loadAvg()
	return rep, nil
}

// Machine is what the figures were measured on.
type Machine struct {
	CPU, OS, Kernel, Memory, Go, DynamoDBLocal, Java string
	Cores                                            int
	LoadStart                                        string
}

// DescribeMachine reads the machine's CPU, memory and OS (Linux: /proc, /etc/os-release).
func DescribeMachine(dynamoDBLocal string) Machine {
	m := Machine{Cores: runtime.NumCPU(), Go: runtime.Version(), DynamoDBLocal: dynamoDBLocal, OS: runtime.GOOS, LoadStart: loadAvg()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		m.CPU = field(string(b), "model name", ":")
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int
		fmt.Sscanf(field(string(b), "MemTotal", ":"), "%d", &kb)
		m.Memory = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
	}
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		m.OS = strings.Trim(field(string(b), "PRETTY_NAME", "="), `"`)
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

func field(text, key, sep string) string {
	for _, line := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(line, sep)
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
