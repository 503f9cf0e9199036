# infra/invoke.mk: run one function's real bootstrap locally, included by the Makefile.
#
#   make invoke FN=get-catalog EVENT=events/http/get-catalog.json
#   make invoke FN=send-emails EVENT=events/stream/invitation-insert.json [SEED=1] [TIMEOUT=60s]
#
# Builds functions/$(FN) for this machine (GOOS/GOARCH of the host, -tags lambda.norpc, trimmed
# and stripped as for Lambda) into .local/invoke/$(FN)/bootstrap and runs it once under a small
# Lambda Runtime API emulator (infra/cmd/invoke), which prints the function's answer on stdout
# and Lambda's REPORT line (init duration, duration, memory, binary size) on stderr. The
# function talks to the local stack (make dev): DynamoDB Local on :8000, table rollcall-local,
# the SES v2 emulator on :8005; any ROLLCALL_* or AWS_* variable set in the environment wins.
# SEED=1 first writes a stream event's new images to the table, so that the email function finds
# the invitations the sample names.

GO ?= go
INVOKE_DIR := .local/invoke
INVOKE_GOFLAGS := -tags lambda.norpc -trimpath -buildvcs=false -ldflags "-s -w"

.PHONY: invoke

invoke:
	@test -n "$(FN)" -a -n "$(EVENT)" || { echo 'usage: make invoke FN=<function> EVENT=<event file> [SEED=1] [TIMEOUT=60s]' >&2; \
		echo "functions: $(notdir $(patsubst %/main.go,%,$(wildcard functions/*/main.go)))" >&2; exit 2; }
	@test -f functions/$(FN)/main.go || { echo "make invoke: no function functions/$(FN)" >&2; exit 2; }
	@test -f "$(EVENT)" || { echo "make invoke: no event file $(EVENT) (samples: events/http/, events/stream/)" >&2; exit 2; }
	@test -x $(INVOKE_DIR)/$(FN)/bootstrap || echo "building functions/$(FN) and the Runtime API emulator for this machine (the first build takes about a minute)..." >&2
	@GOOS=$$($(GO) env GOHOSTOS) GOARCH=$$($(GO) env GOHOSTARCH) CGO_ENABLED=0 \
		$(GO) build $(INVOKE_GOFLAGS) -o $(INVOKE_DIR)/$(FN)/bootstrap ./functions/$(FN)
	@GOOS=$$($(GO) env GOHOSTOS) GOARCH=$$($(GO) env GOHOSTARCH) $(GO) build -o $(INVOKE_DIR)/invoke ./infra/cmd/invoke
	@$(INVOKE_DIR)/invoke -fn $(FN) -event $(EVENT) -bootstrap $(INVOKE_DIR)/$(FN)/bootstrap \
		$(if $(TIMEOUT),-timeout $(TIMEOUT)) $(if $(filter 1 true yes,$(SEED)),-seed)
