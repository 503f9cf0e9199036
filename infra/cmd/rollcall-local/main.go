// Command rollcall-local runs rollcall's local stack (DESIGN §6). The Makefile calls it:
//
//	rollcall-local dev       [-addr 127.0.0.1:3000] [-dynamodb-port 8000] [-ses-port 8005]   (make dev)
//	rollcall-local token     -sub alice [-email alice@example.com] [-operator] [-ttl 12h]   (make token)
//	rollcall-local dynamodb  [-port 8000] [-- command args...]   (make dynamodb, make test)
//	rollcall-local reset     [-data .local/dynamodb]   (make reset)
//	rollcall-local seed      [-api http://127.0.0.1:3000] [-ses http://127.0.0.1:8005]   (make seed)
//	rollcall-local invite-link -email ada@acme.example [-token] [-ses ...]   (make invite-link, make invite-token)
//
// dev starts DynamoDB Local (its data in .local/dynamodb, kept across restarts; or the one
// -dynamodb names), creates the table unless it exists, starts the SES v2 emulator and the stream
// poller, and serves every route of the API through the real handlers on 127.0.0.1:3000, checking
// tokens minted by `token` with the key kept in .local/. It never uses a service it did not start
// unless asked: a taken port stops it with one line naming the process on the port. Every service
// listens on 127.0.0.1. Ctrl-C stops everything it started.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"rollcall/infra/local"
	"rollcall/shared/config"
	"rollcall/shared/cors"
	"rollcall/shared/email"
	"rollcall/shared/handlers"
	"rollcall/shared/invitetoken"
	"rollcall/shared/reqlog"
	"rollcall/shared/sesevents"
	"rollcall/shared/signingkey"
	"rollcall/shared/store"
	"rollcall/shared/table"
)

const usage = `usage: rollcall-local <command> [flags]

commands:
  dev        run the local stack: DynamoDB Local, the table, the API on http://127.0.0.1:3000
  token      print a bearer token for the local API (flags: -sub, -email, -operator, -ttl)
  dynamodb   run DynamoDB Local in the foreground (flags: -port); with "-- command args...",
             run the command with ` + envTestDynamoDB + ` set, then stop DynamoDB Local
  reset      empty the local stack's data (DynamoDB Local's folder, the dead letters)
  seed       write a demo through the running API and print the tokens to use (flags: -api, -ses)
  redrive    send again the records of the dead-letter file (make redrive-local; flags: -dynamodb-port,
             -dynamodb, -ses-port): never twice what SES accepted
  invite-link  print the link of the latest invitation email sent to an address (flags: -email,
             -token for the token only, -ses)

Run "rollcall-local <command> -h" for a command's flags.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "dev":
		err = runDev(ctx, args)
	case "token":
		err = runToken(args)
	case "dynamodb":
		err = runDynamoDB(ctx, args)
	case "reset":
		err = runReset(args)
	case "seed":
		err = runSeed(ctx, args)
	case "invite-link":
		err = runInviteLink(ctx, args)
	case "redrive":
		err = runRedrive(ctx, args)
	case "help", "-h", "-help", "--help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "rollcall-local: unknown command %q\n\n%s", cmd, usage)
		os.Exit(2)
	}
	var exit exitCode
	switch {
	case errors.As(err, &exit):
		os.Exit(int(exit))
	case errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "rollcall-local:", err)
		os.Exit(1)
	}
}

// envTestDynamoDB points the tests at DynamoDB Local (testenv.EnvEndpoint; package testenv is
// for tests, so it is not imported here).
const envTestDynamoDB = "ROLLCALL_TEST_DYNAMODB"

// exitCode is an error that only carries the exit status of a command run by `dynamodb --`.
type exitCode int

func (e exitCode) Error() string { return "exit status " + strconv.Itoa(int(e)) }

// operatorGroup is the stage's operator group, as the handlers read it.
func operatorGroup() string {
	if g := os.Getenv(config.EnvOperatorGroup); g != "" {
		return g
	}
	return "operators"
}

// signer loads the token signing key from the repository's .local/ folder, creating it on first
// use.
func signer(root string) (*local.Signer, error) {
	s, err := local.LoadSigner(filepath.Join(root, local.StateDir))
	if err != nil {
		return nil, err
	}
	s.OperatorGroup = operatorGroup()
	return s, nil
}

// runToken prints a token for the local API and nothing else on stdout.
func runToken(args []string) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	sub := fs.String("sub", "", "the login's subject (required), e.g. alice")
	email := fs.String("email", "", "the login's email (default <sub>@example.com)")
	operator := fs.Bool("operator", false, "put the login in the operator group ("+operatorGroup()+")")
	ttl := fs.Duration("ttl", 12*time.Hour, "how long the token is valid")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *sub == "" {
		return errors.New("token: -sub is required, e.g. `make token SUB=alice EMAIL=alice@example.com`")
	}
	if *email == "" {
		*email = *sub + "@example.com"
	}
	root, err := local.RepoRoot()
	if err != nil {
		return err
	}
	s, err := signer(root)
	if err != nil {
		return err
	}
	tok, err := s.Mint(*sub, *email, *operator, *ttl)
	if err != nil {
		return err
	}
	fmt.Println(tok)
	return nil
}

// runReset empties DynamoDB Local's data folder and the dead-letter file, refusing while a
// running stack holds the folder.
func runReset(args []string) error {
	fs := flag.NewFlagSet("reset", flag.ContinueOnError)
	data := fs.String("data", DataDir, "folder of DynamoDB Local's data")
	if err := fs.Parse(args); err != nil {
		return err
	}
	root, err := local.RepoRoot()
	if err != nil {
		return err
	}
	dir := *data
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(root, dir)
	}
	removed, err := local.ResetDataDir(dir)
	if errors.Is(err, local.ErrDataDirInUse) {
		return fmt.Errorf("%w: stop it (Ctrl-C) and run make reset again", err)
	}
	if err != nil {
		return err
	}
	dl := filepath.Join(root, local.StateDir, local.DeadLetterFileName)
	if err := os.Remove(dl); err == nil {
		removed = append(removed, local.DeadLetterFileName)
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if len(removed) == 0 {
		fmt.Printf("%s is already empty.\n", relPath(root, dir))
		return nil
	}
	fmt.Printf("Local data removed (%s in %s); the next make dev starts empty. Tokens stay valid (their key is kept).\n",
		strings.Join(removed, ", "), relPath(root, dir))
	return nil
}

// runDynamoDB runs DynamoDB Local until interrupted or, given a command after "--", for as long
// as the command runs, returning the command's exit status.
func runDynamoDB(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("dynamodb", flag.ContinueOnError)
	port := fs.Int("port", 8000, "port on 127.0.0.1; 0 means any free port")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts := local.DynamoDBOptions{Port: *port, SharedDB: true}
	if fs.NArg() == 0 {
		opts.Output = os.Stderr // in the foreground its own messages are useful
	}
	ddb, err := local.StartDynamoDB(ctx, opts)
	var taken *local.PortTakenError
	if errors.As(err, &taken) {
		return fmt.Errorf("DynamoDB Local not started: %w; stop it, or choose another port (make dynamodb PORT=...)", err)
	}
	if err != nil {
		return err
	}
	defer ddb.Stop()
	if !ddb.Loopback {
		fmt.Fprintln(os.Stderr, "warning: DynamoDB Local listens on every interface: binding it to 127.0.0.1 needs a JDK (javac), found only a JRE")
	}

	if fs.NArg() == 0 {
		fmt.Fprintf(os.Stderr, "DynamoDB Local is ready on %s (in memory, shared across credentials); Ctrl-C stops it.\n"+
			"Tests: %s=%s go test ./...\n", ddb.Endpoint, envTestDynamoDB, ddb.Endpoint)
		select {
		case <-ctx.Done():
			return nil
		case <-ddb.Done():
			return ddb.Err()
		}
	}
	cmd := exec.CommandContext(ctx, fs.Arg(0), fs.Args()[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), envTestDynamoDB+"="+ddb.Endpoint)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	fmt.Fprintf(os.Stderr, "DynamoDB Local is ready on %s; running %v\n", ddb.Endpoint, fs.Args())
	err = cmd.Run()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		if code := exitErr.ExitCode(); code > 0 {
			return exitCode(code)
		}
	}
	return err
}

// stack is the local stack that `dev` runs: what its services share.
type stack struct {
	root     string
	opts     devOptions
	addr     string // the API's address, once it listens
	cfg      config.Config
	db       *dynamodb.Client
	signer   *local.Signer
	log      *slog.Logger
	level    slog.Level // LOG_LEVEL
	fail     chan error // a service that dies reports here, which stops the stack
	endpoint []string   // "name  URL" lines printed once everything runs
}

// devOptions are the flags of `dev`.
type devOptions struct {
	addr     string // the API's address
	dynPort  int    // DynamoDB Local's port, when dev starts it
	dynURL   string // a DynamoDB Local the user runs (-dynamodb): used, neither started nor stopped
	sesPort  int    // the SES v2 emulator's port
	dataDir  string // DynamoDB Local's data folder; "" keeps the data in memory
	inMemory bool
	// corsOrigins are origins allowed besides the stages' portals (cdk.json), e.g. a front end's
	// dev server.
	corsOrigins []string
}

// service is one part of the local stack. start brings it up (in ctx, which ends at shutdown)
// and returns how to stop it; it may report a later failure on s.fail.
type service struct {
	name  string
	start func(ctx context.Context, s *stack) (stop func(), err error)
}

// services are started in this order and stopped in reverse. To add one, write its start
// function, e.g. with a function of package local, and list it here; set the configuration it
// needs in localEnv.
var services = []service{
	{"ports", checkPorts},
	{"DynamoDB Local", startDynamoDB},
	{"table", createTable},
	{"migration", migrateTable},
	{"SES v2 emulator", startSES},
	{"API gateway", serveAPI},
	{"stream poller", startPoller},
}

// localEnv holds the configuration (config.Env*) of the local stack where the environment does
// not set it.
func localEnv(s *stack) map[string]string {
	dyn := s.opts.dynURL
	if dyn == "" {
		dyn = "http://127.0.0.1:" + strconv.Itoa(s.opts.dynPort)
	}
	return map[string]string{
		config.EnvStage:            "local",
		config.EnvTableName:        "rollcall-local",
		config.EnvDynamoDBEndpoint: dyn,
		config.EnvPortalURL:        "http://" + s.opts.addr,
		config.EnvSigningKeyFile:   filepath.Join(s.root, local.StateDir, "invitation-signing-key"),
		config.EnvSESEndpoint:      "http://127.0.0.1:" + strconv.Itoa(s.opts.sesPort),
	}
}

// DataDir is DynamoDB Local's data folder under the repository root, unless -data says otherwise.
var DataDir = filepath.Join(local.StateDir, "dynamodb")

func runDev(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	var o devOptions
	fs.StringVar(&o.addr, "addr", "127.0.0.1:3000", "address of the API")
	fs.IntVar(&o.dynPort, "dynamodb-port", 8000, "port of the DynamoDB Local that dev starts")
	fs.StringVar(&o.dynURL, "dynamodb", "", "URL of a DynamoDB Local you run yourself, to use instead of starting one (make dev DYNAMODB=http://...)")
	fs.IntVar(&o.sesPort, "ses-port", local.SESPort, "port of the SES v2 emulator (its inbox)")
	fs.StringVar(&o.dataDir, "data", DataDir, "folder of DynamoDB Local's data (kept across restarts; make reset empties it)")
	fs.BoolVar(&o.inMemory, "in-memory", false, "keep DynamoDB Local's data in memory: lost when dev stops")
	fs.Func("cors-origin", "an origin the API allows besides the stages' portals in cdk.json, e.g. http://localhost:5173 (repeatable, or comma-separated)", func(v string) error {
		for _, each := range strings.Split(v, ",") {
			if each = strings.TrimSpace(each); each != "" {
				origin, err := cors.Origin(each)
				if err != nil {
					return err
				}
				o.corsOrigins = append(o.corsOrigins, origin)
			}
		}
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("dev: unexpected arguments %q", fs.Args())
	}
	root, err := local.RepoRoot()
	if err != nil {
		return err
	}
	if o.inMemory || o.dynURL != "" {
		o.dataDir = ""
	} else if !filepath.IsAbs(o.dataDir) {
		o.dataDir = filepath.Join(root, o.dataDir)
	}
	s, err := newStack(root, o, os.LookupEnv)
	if err != nil {
		return err
	}
	slog.SetDefault(s.log)
	stop, err := s.start(ctx)
	defer stop()
	if err != nil {
		return err
	}
	s.printBanner()
	select {
	case <-ctx.Done():
		fmt.Fprintln(os.Stderr, "\nstopping the local stack")
		return nil
	case err := <-s.fail:
		return err
	}
}

// localLogger is the local stack's logger: the functions' JSON lines (reqlog.Logger) on stderr at
// LOG_LEVEL, so a request's log line reads as it does in Lambda. It returns an error for a level
// it does not know.
func localLogger(lookup func(string) (string, bool)) (*slog.Logger, slog.Level, error) {
	v, _ := lookup(reqlog.EnvLogLevel)
	level, ok := reqlog.ParseLevel(v)
	if !ok && strings.TrimSpace(v) != "" {
		return nil, 0, fmt.Errorf("LOG_LEVEL=%q: want DEBUG, INFO, WARN or ERROR", v)
	}
	return reqlog.Logger(os.Stderr, level), level, nil
}

// runRedrive hands the records of the dead-letter file to the email function again (with the
// running local stack's DynamoDB Local and SES emulator) and keeps only those that still fail.
func runRedrive(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("redrive", flag.ContinueOnError)
	var o devOptions
	fs.IntVar(&o.dynPort, "dynamodb-port", 8000, "port of the running stack's DynamoDB Local")
	fs.StringVar(&o.dynURL, "dynamodb", "", "URL of the DynamoDB Local to use instead")
	fs.IntVar(&o.sesPort, "ses-port", local.SESPort, "port of the running stack's SES v2 emulator")
	if err := fs.Parse(args); err != nil {
		return err
	}
	root, err := local.RepoRoot()
	if err != nil {
		return err
	}
	s, err := newStack(root, o, os.LookupEnv)
	if err != nil {
		return err
	}
	awsCfg := aws.Config{Region: local.Region, Credentials: credentials.NewStaticCredentialsProvider(local.AccessKey, local.SecretKey, "")}
	fn, err := email.FromConfig(ctx, s.cfg, awsCfg)
	if err != nil {
		return err
	}
	path := filepath.Join(root, local.StateDir, local.DeadLetterFileName)
	res, err := local.Redrive(ctx, path, fn.Handle)
	if err != nil {
		return err
	}
	fmt.Printf("%s: %d records, %d handled, %d still failing (kept)\n", path, res.Records, res.Done, res.Kept)
	return nil
}

// newStack prepares the stack: configuration from lookup (the environment) over localEnv, the
// log level from LOG_LEVEL, and the token signing key in root/.local/.
func newStack(root string, o devOptions, lookup func(string) (string, bool)) (*stack, error) {
	s := &stack{root: root, opts: o, addr: o.addr, fail: make(chan error, 1)}
	var err error
	if s.log, s.level, err = localLogger(lookup); err != nil {
		return nil, err
	}
	defaults := localEnv(s)
	if s.cfg, err = config.FromLookup(func(k string) string {
		if v, ok := lookup(k); ok {
			return v
		}
		return defaults[k]
	}); err != nil {
		return nil, err
	}
	s.cfg.DynamoDBEndpoint = defaults[config.EnvDynamoDBEndpoint] // -dynamodb-port or -dynamodb decides
	s.cfg.SESEndpoint = defaults[config.EnvSESEndpoint]           // -ses-port decides
	if s.signer, err = signer(root); err != nil {
		return nil, err
	}
	return s, nil
}

// start starts the services in order. It returns a function that stops those started, in
// reverse order, and the first error.
func (s *stack) start(ctx context.Context) (stop func(), err error) {
	return s.startServices(ctx, services)
}

// startServices is start with a list of services (tests leave some out).
func (s *stack) startServices(ctx context.Context, list []service) (stop func(), err error) {
	var stops []func()
	stop = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	for _, svc := range list {
		st, err := svc.start(ctx, s)
		var taken *local.PortTakenError
		if err != nil && !errors.As(err, &taken) { // a taken port's message says which already
			err = fmt.Errorf("%s: %w", svc.name, err)
		}
		if err != nil {
			return stop, err
		}
		stops = append(stops, st)
	}
	return stop, nil
}

func (s *stack) announce(name, url string) {
	s.endpoint = append(s.endpoint, fmt.Sprintf("  %-16s %s", name, url))
}

func (s *stack) printBanner() {
	fmt.Println("\nrollcall local stack is running:")
	for _, l := range s.endpoint {
		fmt.Println(l)
	}
	fmt.Printf(`
Every route needs a bearer token (signing key in %s/):
  any login   make -s token SUB=alice EMAIL=alice@example.com
  operator    make -s token SUB=op OPERATOR=1
For example:
  curl -sS -w '\n' -H "Authorization: Bearer $(make -s token SUB=op OPERATOR=1)" http://%s/catalog
A demo to explore: make seed. The last invitation link sent to an address: make invite-link EMAIL=...

Ctrl-C stops everything.
`, local.StateDir, s.addr)
}

// checkPorts refuses to start when a port the stack needs is taken, before starting anything:
// one line naming the port, the process on it and the flag that changes it.
func checkPorts(ctx context.Context, s *stack) (func(), error) {
	type port struct {
		flag string
		n    int
	}
	var ports []port
	if _, p, err := net.SplitHostPort(s.opts.addr); err == nil && p != "0" {
		n, _ := strconv.Atoi(p)
		ports = append(ports, port{"-addr", n})
	}
	if s.opts.dynURL == "" {
		ports = append(ports, port{"-dynamodb-port", s.opts.dynPort})
	}
	ports = append(ports, port{"-ses-port", s.opts.sesPort})
	for _, p := range ports {
		if p.n == 0 {
			continue
		}
		if err := local.CheckPort(p.n); err != nil {
			return nil, fmt.Errorf("%w; stop it, or choose another port: make dev DEV_FLAGS='%s ...'", err, p.flag)
		}
	}
	return func() {}, nil
}

// toolOutput is where the local tools' own output goes: the terminal at LOG_LEVEL=debug.
func (s *stack) toolOutput() io.Writer {
	if s.level <= slog.LevelDebug {
		return os.Stderr
	}
	return nil
}

// startDynamoDB starts DynamoDB Local on the stack's port, keeping its data in the data folder
// (locked, so that two stacks never share it), or uses the one -dynamodb names.
func startDynamoDB(ctx context.Context, s *stack) (func(), error) {
	s.db = local.DynamoDBClient(s.cfg.DynamoDBEndpoint)
	if s.opts.dynURL != "" {
		if !local.Answers(ctx, s.opts.dynURL) {
			return nil, fmt.Errorf("nothing answers at %s (DYNAMODB=): start it first, e.g. make dynamodb PORT=...", s.opts.dynURL)
		}
		s.announce("DynamoDB Local", s.opts.dynURL+" (yours, as asked: not started or stopped by dev)")
		return func() {}, nil
	}
	var unlock func()
	where := "in memory: lost when dev stops"
	if s.opts.dataDir != "" {
		var err error // the data folder is locked before DynamoDB Local starts on it
		if unlock, err = local.LockDataDir(s.opts.dataDir); err != nil {
			return nil, err
		}
		where = "data in " + relPath(s.root, s.opts.dataDir) + ", kept across restarts; make reset empties it"
	}
	tools, err := local.RepoRoot() // the npm tools are the repository's, wherever the stack keeps its state
	if err != nil {
		return nil, err
	}
	ddb, err := local.StartDynamoDB(ctx, local.DynamoDBOptions{Root: tools, Port: s.opts.dynPort, SharedDB: true,
		DBPath: s.opts.dataDir, Output: s.toolOutput()})
	if err != nil {
		if unlock != nil {
			unlock()
		}
		return nil, err
	}
	go func() {
		select {
		case <-ddb.Done():
			s.report(ddb.Err())
		case <-ctx.Done():
		}
	}()
	if !ddb.Loopback {
		s.log.Warn("DynamoDB Local listens on every interface: binding it to 127.0.0.1 needs a JDK (javac), found only a JRE")
	}
	s.announce("DynamoDB Local", ddb.Endpoint+" ("+where+")")
	return func() {
		_ = ddb.Stop()
		if unlock != nil {
			unlock()
		}
	}, nil
}

// relPath returns path relative to root when it lies under it, else path.
func relPath(root, path string) string {
	if r, err := filepath.Rel(root, path); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return path
}

// createTable creates the table from the shared definition unless it exists.
func createTable(ctx context.Context, s *stack) (func(), error) {
	_, err := s.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.cfg.TableName)})
	var notFound *types.ResourceNotFoundException
	switch {
	case errors.As(err, &notFound):
		if err := table.Create(ctx, s.db, s.cfg.TableName); err != nil {
			return nil, err
		}
		s.announce("table", s.cfg.TableName+" (created)")
	case err != nil:
		return nil, fmt.Errorf("describe table %s: %w", s.cfg.TableName, err)
	default:
		s.announce("table", s.cfg.TableName+" (exists)")
	}
	return func() {}, nil
}

// migrateTable brings a table kept from an earlier run (.local/dynamodb) up to the layout the code
// writes (store.Migrate), before the API serves it; once it is, this is one GetItem.
func migrateTable(ctx context.Context, s *stack) (func(), error) {
	st := store.New(s.db, s.cfg.TableName, s.cfg.Catalog, func() time.Time { return time.Now().UTC() })
	rep, err := st.Migrate(ctx, s.log)
	if err != nil {
		return nil, fmt.Errorf("migrate table %s: %w (start again to resume; make reset empties the local data)", s.cfg.TableName, err)
	}
	if !rep.Current && rep.Accounts > 0 { // a table kept from a run of older code
		s.announce("migration", fmt.Sprintf("table layout %d -> %d: %d accounts, %d counters moved, %d memberships, %d contacts indexed",
			rep.From, rep.To, rep.Accounts, rep.Counters, rep.Memberships, rep.Contacts))
	}
	return func() {}, nil
}

// serveAPI serves every route through the handlers on the stack's address, with the invitation
// signing key of the local key file.
func serveAPI(ctx context.Context, s *stack) (func(), error) {
	key, err := signingkey.Load(ctx, s.cfg, aws.Config{}) // the local key file, created on first use
	if err != nil {
		return nil, err
	}
	inviteSigner, err := invitetoken.NewSigner(key)
	if err != nil {
		return nil, err
	}
	api := handlers.New(s.cfg, s.db).UseSigner(inviteSigner)
	gw, err := local.NewGateway(api.Handlers(), s.signer, s.log)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		if _, p, _ := net.SplitHostPort(s.addr); p != "" {
			if n, _ := strconv.Atoi(p); n > 0 {
				if perr := local.CheckPort(n); perr != nil {
					return nil, fmt.Errorf("%w; stop it, or choose another address: make dev DEV_FLAGS='-addr 127.0.0.1:...'", perr)
				}
			}
		}
		return nil, err
	}
	// The console (web/dist, built by make web) is served on the same origin, with the local-only
	// token endpoint of its "sign in as" form.
	console := local.NewConsole(gw, filepath.Join(s.root, "web", "dist"), s.signer, s.log)
	// CORS as the deployed API answers it: the portal origins of cdk.json's stages, and -cors-origin.
	tools, err := local.RepoRoot()
	if err != nil {
		return nil, err
	}
	origins, err := local.CORSOrigins(tools)
	if err != nil {
		return nil, err
	}
	origins = append(origins, s.opts.corsOrigins...)
	// The API documents in the browser (Swagger UI over docs/openapi.json) at /docs/.
	docs := local.NewDocs(console, tools, s.log)
	srv := &http.Server{Handler: local.CORS(docs, origins), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.report(fmt.Errorf("API gateway: %w", err))
		}
	}()
	s.addr = ln.Addr().String() // the port, when the address asked for any
	s.announce("API", "http://"+s.addr+" (CORS: "+strings.Join(origins, ", ")+")")
	if docs.Installed() {
		s.announce("API docs", "http://"+s.addr+local.DocsPath+"/ (Swagger UI: Authorize with a token, then Try it out)")
	} else {
		s.announce("API docs", "not installed: run npm ci in infra/")
	}
	if console.Built() {
		s.announce("console", "http://"+s.addr+"/ (sign in as any login with the form)")
	} else {
		s.announce("console", "not built: run make web")
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// report hands a service's failure to runDev, which stops the stack; later failures are dropped.
func (s *stack) report(err error) {
	select {
	case s.fail <- err:
	default:
	}
}

// startSES starts the SES v2 emulator (its web inbox shows every email sent) on the stack's port.
func startSES(ctx context.Context, s *stack) (func(), error) {
	tools, err := local.RepoRoot() // the npm tools are the repository's, wherever the stack keeps its state
	if err != nil {
		return nil, err
	}
	ses, err := local.StartSES(ctx, local.SESOptions{Root: tools, Port: s.opts.sesPort, Output: s.toolOutput()})
	if err != nil {
		return nil, err
	}
	go func() {
		select {
		case <-ses.Done():
			s.report(ses.Err())
		case <-ctx.Done():
		}
	}()
	s.announce("SES v2 emulator", ses.Endpoint+" (the inbox: open it in a browser; in memory)")
	return func() { _ = ses.Stop() }, nil
}

// startPoller feeds the table's stream to the email function as Lambda's event source mapping
// would: batches, partial failures, retries, bisecting, then a dead-letter file.
func startPoller(ctx context.Context, s *stack) (func(), error) {
	awsCfg := aws.Config{Region: local.Region, Credentials: credentials.NewStaticCredentialsProvider(local.AccessKey, local.SecretKey, "")}
	fn, err := email.FromConfig(ctx, s.cfg, awsCfg)
	if err != nil {
		return nil, err
	}
	// SES's events of what the emulator accepts (the mailbox simulator's addresses bounce,
	// complain…), recorded by the same handler as the deployed ses-events function.
	rec := sesevents.FromConfig(s.cfg, awsCfg)
	rec.Logger = s.log
	var sim *local.MailboxSimulator
	fn.WrapSES(func(next email.SES) email.SES {
		sim = local.NewMailboxSimulator(next, rec, 0, s.log)
		return sim
	})
	p, err := local.StartPoller(ctx, local.PollerOptions{Endpoint: s.cfg.DynamoDBEndpoint, Table: s.cfg.TableName, Logger: s.log,
		DeadLetters: filepath.Join(s.root, local.StateDir, local.DeadLetterFileName)}, fn.Handle)
	if err != nil {
		return nil, err
	}
	s.announce("stream poller", "send-emails <- "+s.cfg.TableName+" stream (dead letters: "+p.DeadLetterFile()+")")
	s.announce("SES events", "ses-events <- mailbox simulator (bounce@, complaint@, suppressionlist@, ooto@"+sesevents.SimulatorDomain+"; a delivery for any other address)")
	return func() { p.Stop(); sim.Wait() }, nil
}
