// Command cdk is rollcall's CDK app, run by the CDK CLI through cdk.json ("go run ./infra/cdk").
// It reads the stage configurations from the context key rollcall:stages and adds one stack per
// stage, or only the stage named by -c stage=<name>; the functions' bootstraps are taken from
// the folder in -c assetDir (default build/, written by `make build`).
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"rollcall/infra/stack"
)

func main() {
	err := run()
	if err != nil {
		fmt.Fprintln(os.Stderr, "rollcall cdk:", err)
	}
	closeJSII()
	if err != nil {
		os.Exit(1)
	}
}

// closeJSII stops the jsii runtime (the node child process) and removes its temporary files.
// jsii-runtime-go v1.139.0 waits for the child twice, from Close and from a watcher goroutine,
// and the loser prints "Runtime process exited abnormally: waitid: no child processes" after a
// clean exit; nothing else is left to report once the app has synthesised, so stderr is
// discarded from here on.
func closeJSII() {
	if devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0); err == nil {
		os.Stderr = devNull
	}
	jsii.Close()
}

func run() error {
	app := awscdk.NewApp(nil)
	stages, err := stack.ParseStages(app.Node().TryGetContext(jsii.String(stack.ContextStages)))
	if err != nil {
		return err
	}
	names := make([]string, 0, len(stages))
	for name := range stages {
		names = append(names, name)
	}
	slices.Sort(names)
	if only := contextString(app, stack.ContextStage); only != "" {
		if _, ok := stages[only]; !ok {
			return fmt.Errorf("unknown stage %q: cdk.json configures %s", only, strings.Join(names, ", "))
		}
		names = []string{only}
	}
	assetDir := contextString(app, stack.ContextAssetDir)
	if assetDir == "" {
		assetDir = "build"
	}
	consoleDir := contextString(app, stack.ContextConsoleDir)
	if consoleDir == "" {
		consoleDir = filepath.Join("web", "dist")
	}
	for _, name := range names {
		if _, err := stack.New(app, stages[name], stack.Props{AssetDir: assetDir, ConsoleDir: consoleDir}); err != nil {
			return err
		}
	}
	app.Synth(nil)
	return nil
}

// contextString returns the string context value key, or "" when it is unset.
func contextString(app awscdk.App, key string) string {
	v, _ := app.Node().TryGetContext(jsii.String(key)).(string)
	return v
}
