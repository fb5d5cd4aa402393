# deploy.mk: packaging and deployment targets; the top-level Makefile does `include deploy.mk`.
# Scripts hold the logic (scripts/*.sh); these targets stay thin.

DEPLOY_FUNCTIONS := StreamFunction ApiFunction StageFunction ReviewFunction
DEPLOY_ARTIFACT  ?= build/lambda

.PHONY: build-StreamFunction build-ApiFunction build-StageFunction build-ReviewFunction package zip sam-venv lint-template sam-build sam-deploy empty-root-run

# SAM's makefile builder (`sam build`) runs these with ARTIFACTS_DIR set. One binary serves both
# functions (_HANDLER picks the handler); the second Swift build is a no-op.
build-StreamFunction build-ApiFunction build-StageFunction build-ReviewFunction:
	scripts/package-lambda.sh "$(ARTIFACTS_DIR)"

# build/lambda/ (the package) and build/<Function>.zip for each function, with sizes.
package:
	scripts/package-lambda.sh "$(DEPLOY_ARTIFACT)"
	@for fn in $(DEPLOY_FUNCTIONS); do scripts/zip-lambda.sh "$(DEPLOY_ARTIFACT)" "build/$$fn.zip" || exit 1; done
zip: package

# aws-sam-cli in .venv-sam (created when missing).
sam-venv:
	@scripts/sam-venv.sh

lint-template:
	scripts/lint-template.sh

sam-build:
	scripts/sam-build.sh

sam-deploy: sam-build
	"$$(scripts/sam-venv.sh)" deploy --guided

# Runs the package in an empty root (Runtime API emulator on loopback; env inherited).
empty-root-run:
	scripts/run-in-empty-root.sh "$(DEPLOY_ARTIFACT)"
