# infra/cdk.mk: the Lambda binaries and the CDK CLI, included by the Makefile.
#
#   make build                  build/<function>/bootstrap for every functions/<function>/main.go
#                               (linux/arm64, lambda.norpc, trimmed, stripped) and a size table
#   make sizes                  the same, failing when a bootstrap is over the 10 MiB budget
#   make synth  STAGE=dev       synthesise Rollcall-<stage> into cdk.out (cdk-nag errors fail it)
#   make bootstrap STAGE=prod   bootstrap the stage's pinned account and region for the CDK (once)
#   make diff   STAGE=staging   compare Rollcall-<stage> with what is deployed
#   make deploy STAGE=prod      deploy Rollcall-<stage>
#   make smoke  STAGE=prod URL=https://…   read-only checks against the deployed API (TOKEN=… adds reads)
#   make rotate-signing-key STAGE=prod      new invitation signing key; links made with the previous one still work
#   make redrive STAGE=prod                 re-drive the email dead-letter queue (never twice what SES accepted)
#   make migrate STAGE=prod                 bring the stage's table up to the layout the code writes (make deploy runs it)
#
# Every target that talks to AWS checks the stage name and then the credentials before building
# anything, and says what to set (docs/deploy.md is the guide).
# STAGE is one of the stages configured in cdk.json (dev, staging, prod). The CDK CLI is the one
# pinned in infra/package-lock.json; notices and telemetry are off, so synth works offline.

STAGE ?= dev
GO ?= go
NODE_DIR ?= infra
CDK_CLI := $(NODE_DIR)/node_modules/.bin/cdk
CDK_ENV := JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 CDK_DISABLE_CLI_TELEMETRY=true
CDK_ARGS := --no-notices -c stage=$(STAGE) Rollcall-$(STAGE)

LAMBDA_DIR := build
LAMBDA_FUNCTIONS = $(sort $(patsubst functions/%/main.go,%,$(wildcard functions/*/main.go)))
LAMBDA_BUDGET_BYTES := 10485760
# -buildvcs=false keeps binaries byte-identical across commits, so that a deploy updates only
# the functions whose code changed (CDK hashes each bootstrap).
# -buildid= leaves Go's build id (a hash of every package compiled in, used or not) out of the
# binary, so that a function's bootstrap, and its code hash, change only when its own code does
# (issue 13 item 7: each function links only its own operation).
LAMBDA_GOFLAGS := -tags lambda.norpc -trimpath -buildvcs=false -ldflags "-s -w -buildid="

.PHONY: build sizes synth diff deploy bootstrap smoke rotate-signing-key redrive migrate check-stage check-credentials

DEPLOY_GUIDE := docs/deploy.md
STAGE_INFO := node $(NODE_DIR)/stage.js

# check-stage fails, naming the configured stages, unless STAGE is one of cdk.json's.
check-stage:
	@$(STAGE_INFO) "$(STAGE)"

# check-credentials fails unless AWS credentials are available and (with the AWS CLI) belong to
# the stage's pinned account.
check-credentials: check-stage
	@account=$$($(STAGE_INFO) $(STAGE) account) && region=$$($(STAGE_INFO) $(STAGE) region) || exit 1; \
	hint="set AWS_PROFILE (after aws sso login --profile <p>) or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for account $$account, region $$region; see $(DEPLOY_GUIDE)"; \
	if aws --version >/dev/null 2>&1; then \
		got=$$(aws sts get-caller-identity --query Account --output text 2>/dev/null) || { \
			echo "make: no working AWS credentials for stage $(STAGE): $$hint" >&2; exit 1; }; \
		[ "$$got" = "$$account" ] || { \
			echo "make: the credentials are for account $$got, but stage $(STAGE) is pinned to $$account in cdk.json: $$hint" >&2; exit 1; }; \
	elif [ -z "$$AWS_PROFILE$$AWS_ACCESS_KEY_ID$$AWS_WEB_IDENTITY_TOKEN_FILE$$AWS_CONTAINER_CREDENTIALS_FULL_URI" ] && \
		[ ! -f "$$HOME/.aws/credentials" ] && [ ! -f "$$HOME/.aws/config" ]; then \
		echo "make: no AWS credentials for stage $(STAGE): $$hint" >&2; exit 1; \
	fi

# One go build for every function (parallel compile and link), then each binary moves to
# build/<function>/bootstrap, the folder the stack takes as that function's asset. The size
# table marks binaries over the budget (DESIGN §7) without failing: `make sizes` enforces it.
build:
	@test -n "$(LAMBDA_FUNCTIONS)" || { echo "make build: no functions/*/main.go" >&2; exit 1; }
	@echo "building $(words $(LAMBDA_FUNCTIONS)) Lambda binaries for linux/arm64 (the first build takes about a minute and a half, later ones seconds)..." >&2
	@rm -rf $(LAMBDA_DIR)/.bin
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build $(LAMBDA_GOFLAGS) -o $(LAMBDA_DIR)/.bin/ \
		$(addprefix ./functions/,$(LAMBDA_FUNCTIONS))
	@for f in $(LAMBDA_FUNCTIONS); do \
		mkdir -p $(LAMBDA_DIR)/$$f && mv $(LAMBDA_DIR)/.bin/$$f $(LAMBDA_DIR)/$$f/bootstrap || exit 1; \
	done; rmdir $(LAMBDA_DIR)/.bin
	@$(call lambda_sizes,0)

# Fails when a built bootstrap is over the budget.
sizes: build
	@$(call lambda_sizes,1)

# lambda_sizes prints every bootstrap's size; with 1 it exits 1 when one is over budget.
define lambda_sizes
over=0; \
for f in $(LAMBDA_FUNCTIONS); do \
	size=$$(stat -c %s $(LAMBDA_DIR)/$$f/bootstrap); \
	flag=; if [ $$size -gt $(LAMBDA_BUDGET_BYTES) ]; then flag="  OVER the 10 MiB budget"; over=$$((over + 1)); fi; \
	awk -v f=$$f -v s=$$size -v g="$$flag" 'BEGIN { printf "%-28s %9d bytes  %5.2f MiB%s\n", f, s, s / 1048576, g }'; \
done; \
if [ $$over -gt 0 ]; then \
	echo "$$over of $(words $(LAMBDA_FUNCTIONS)) bootstraps are over the $(LAMBDA_BUDGET_BYTES)-byte budget" >&2; \
	[ $(1) = 0 ] || exit 1; \
fi
endef

synth: check-stage
diff deploy bootstrap rotate-signing-key migrate: check-credentials
synth diff deploy bootstrap: | $(NODE_DIR)/node_modules

synth:
	@$(MAKE) --no-print-directory build web
	$(CDK_ENV) $(CDK_CLI) synth --quiet $(CDK_ARGS)
	@echo "synthesised Rollcall-$(STAGE) into cdk.out (cdk-nag report: cdk.out/AwsSolutions-*Rollcall-$(STAGE)-NagReport.csv)"

diff:
	@$(MAKE) --no-print-directory build web
	$(CDK_ENV) $(CDK_CLI) diff $(CDK_ARGS)

# After the stack (and, in prod, CodeDeploy's traffic shift) is done, the table's data is brought
# up to the layout the deployed code writes: one read when it is there already (docs/deploy.md).
deploy:
	@$(MAKE) --no-print-directory build web
	$(CDK_ENV) $(CDK_CLI) deploy --require-approval broadening $(CDK_ARGS)
	@$(MAKE) --no-print-directory migrate STAGE=$(STAGE)

# The CDK's bootstrap stack (asset bucket, roles) in the stage's pinned account and region.
bootstrap:
	$(CDK_ENV) $(CDK_CLI) bootstrap --no-notices aws://$$($(STAGE_INFO) $(STAGE) account)/$$($(STAGE_INFO) $(STAGE) region)

# Read-only checks against a deployed API: URL is the stack's ApiUrl output; TOKEN (an ID token
# of any login) adds authenticated reads.
smoke: check-stage
	@test -n "$(URL)" || { echo "make smoke: set URL to the stack's ApiUrl output (make smoke STAGE=$(STAGE) URL=https://…); see $(DEPLOY_GUIDE)" >&2; exit 1; }
	@ROLLCALL_SMOKE_TOKEN="$(TOKEN)" $(GO) run ./infra/cmd/smoke -url "$(URL)" -origin "$$($(STAGE_INFO) $(STAGE) origin)"

# Puts a new random value into the stage's signing-key secret. Secrets Manager keeps the old value
# as AWSPREVIOUS, which the functions still accept, so links already sent keep working; links
# made before the rotation before this one stop working (infra/README.md has the runbook).
rotate-signing-key:
	@command -v aws >/dev/null 2>&1 || { echo "make rotate-signing-key needs the AWS CLI (aws); see $(DEPLOY_GUIDE)" >&2; exit 1; }
	@region=$$($(STAGE_INFO) $(STAGE) region); \
	arn=$$(aws cloudformation describe-stacks --region $$region --stack-name Rollcall-$(STAGE) \
		--query "Stacks[0].Outputs[?OutputKey=='SigningKeySecretArn'].OutputValue" --output text) && [ -n "$$arn" ] && [ "$$arn" != None ] || { \
		echo "make rotate-signing-key: no SigningKeySecretArn output on stack Rollcall-$(STAGE) in $$region: is the stage deployed?" >&2; exit 1; }; \
	value=$$(aws secretsmanager get-random-password --region $$region --password-length 64 --exclude-punctuation \
		--query RandomPassword --output text) && \
	aws secretsmanager put-secret-value --region $$region --secret-id "$$arn" --secret-string "$$value" \
		--query VersionId --output text >/dev/null && \
	echo "rotated the signing key of $(STAGE) ($$arn): new links use the new key; links sent before still work until the next rotation"

# Re-drives the email function's dead-letter queue (infra/redrive): the records each message names
# are read again from the stream (held 24 hours) and handed to the deployed function's live alias;
# messages it handles are deleted. Credentials come from the AWS CLI's current profile.
redrive:
	@command -v aws >/dev/null 2>&1 || { echo "make redrive needs the AWS CLI (aws); see $(DEPLOY_GUIDE)" >&2; exit 1; }
	@region=$$($(STAGE_INFO) $(STAGE) region); \
	url=$$(aws cloudformation describe-stacks --region $$region --stack-name Rollcall-$(STAGE) \
		--query "Stacks[0].Outputs[?OutputKey=='EmailDeadLetterQueueUrl'].OutputValue" --output text) && [ -n "$$url" ] && [ "$$url" != None ] || { \
		echo "make redrive: no EmailDeadLetterQueueUrl output on stack Rollcall-$(STAGE) in $$region: is the stage deployed?" >&2; exit 1; }; \
	eval "$$(aws configure export-credentials --format env)" && export AWS_REGION=$$region && \
	$(GO) run ./infra/cmd/redrive -queue-url "$$url" -function rollcall-$(STAGE)-send-emails:live

# Brings the stage's table up to the layout the code writes (store.Migrate: contact index items,
# per-type recipient counters, membership copies of the account's name and type), with the
# operator's credentials (the AWS CLI's current profile), while the deployed code serves: safe to
# run at any time, again after a failure (it resumes), and one read once done. make deploy runs it.
migrate:
	@command -v aws >/dev/null 2>&1 || { echo "make migrate needs the AWS CLI (aws); see $(DEPLOY_GUIDE)" >&2; exit 1; }
	@region=$$($(STAGE_INFO) $(STAGE) region); \
	tbl=$$(aws cloudformation describe-stacks --region $$region --stack-name Rollcall-$(STAGE) \
		--query "Stacks[0].Outputs[?OutputKey=='TableName'].OutputValue" --output text) && [ -n "$$tbl" ] && [ "$$tbl" != None ] || { \
		echo "make migrate: no TableName output on stack Rollcall-$(STAGE) in $$region: is the stage deployed?" >&2; exit 1; }; \
	eval "$$(aws configure export-credentials --format env)" && export AWS_REGION=$$region && \
	$(GO) run ./infra/cmd/migrate -table "$$tbl"
