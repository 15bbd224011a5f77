# llm-workbench: `make provision` brings the stack up for $(PROFILE); `make test` proves it.
PROFILE ?= default
export PROFILE
# Node 20 from PyPI lands here when the machine has no Node.js 20.5+ (scripts/bootstrap.sh).
export PATH := $(CURDIR)/.cache/node/bin:$(PATH)
TSX := node --import tsx
NODE_MODULES := node_modules/.package-lock.json
BOOTSTRAP := bash scripts/bootstrap.sh
# `make server DRY_RUN=1`: say what a step would do and why, change nothing.
STEP_FLAGS := $(if $(DRY_RUN),--dry-run)

.PHONY: rpc-worker architecture models models-rm models-pull open service-install service-remove service-status system-deps test-deps test-fresh-machine deps plan compose-up compose-down kube-up kube-down help provision render doctor server-build python-env model image server jupyter shell smoke-test status logs down clean schema test test-unit typecheck bench

help:
	@echo "make deps [CONTAINERS=1]       system packages and Node.js now (provision and test install what they need anyway)"
	@echo "make provision [PROFILE=name]  bring up the model server and JupyterLab (env/<name>.yml; default: default)"
	@echo "make smoke-test [CHECKS=guide] call every endpoint of the running stack (guide: only what the guide calls)"
	@echo "make status | logs | down      see, read or stop what provision started"
	@echo "make doctor                    check this machine for the profile (WSL: idle shutdown, memory, /mnt, Docker Desktop, networking)"
	@echo "make open [CHAT=1]             JupyterLab in your browser (Windows' on WSL), the token never on a command line; CHAT=1: llama.cpp's chat page"
	@echo "make service-install | -remove | -status   the profile's services as systemd user units: back at boot and after a crash"
	@echo "make plan [JSON=1]             what provision would change, step by step, and why (JSON=1: the resolved plan)"
	@echo "make <step> DRY_RUN=1          what one step (render, server-build, python-env, model, image, server, jupyter, shell) would do"
	@echo "make render                    only render build/<profile>/ (Dockerfile, environment.yml, bashrc.sh, compose.yaml, kube.yaml)"
	@echo "make clean [MODELS=1] [BUILDS=1] remove state and build output (and cached models, compiled builds)"
	@echo "make models [JSON=1]           the cached models: source, size, sha256, last used, which profiles use them"
	@echo "make models-rm MODEL=<name>    remove one cached model (an alias, a model.source or an id); not one a running profile serves"
	@echo "make models-pull [PROFILE=..]  fetch the profile's models (hf: looked up and pinned), start nothing"
	@echo "make bench                     served vs raw engine speed, concurrency sweep; reports in build/<profile>/bench/"
	@echo "make rpc-worker [RPC_HOST=addr] this machine as an RPC worker of a profile with distributed: (rpc-server on one address)"
	@echo "make compose-up | compose-down  run build/<profile>/compose.yaml (model server + JupyterLab in containers)"
	@echo "make kube-up | kube-down        run build/<profile>/kube.yaml under podman kube play"
	@echo "make architecture              the house rules (dependency-cruiser): what breaks them, and the rooms as a graph"
	@echo "make test                      unit and end-to-end tests"

$(NODE_MODULES): package.json package-lock.json
	@$(BOOTSTRAP) node
	npm ci --no-audit --no-fund
	@touch $@

# Every command runs from one bundle of scripts/ and checks/ with their packages (scripts/bundle.ts):
# it starts in 0.3 s where `node --import tsx` takes 2. Rebuilt when a file it was made of changes
# (cli.d lists them); DEBUG=1 maps a stack back to the sources.
CLI := .cache/dist/cli.mjs
RUN := node $(if $(filter 1,$(DEBUG)),--enable-source-maps )$(CLI)
-include .cache/dist/cli.d
$(CLI): $(NODE_MODULES)
	@$(TSX) scripts/bundle.ts $@

# Compilers and Python's venv: installed (apt-get, as root or through sudo) when missing.
system-deps:
	@$(BOOTSTRAP) native

# What the end-to-end tests run, installed by scripts/bootstrap.sh when missing: podman, runc,
# catatonit, debootstrap, Debian's docker.io (docker, dockerd), docker-compose, podman-compose, chromium
# (the chat page in a browser), systemd-container (systemd-nspawn boots a tree for the units),
# shellcheck. (conda is never run: its route is unit-tested by argv only.)
test-deps:
	@$(BOOTSTRAP) test

provision: system-deps $(CLI)
	@$(RUN) scripts/provision.ts

plan: $(CLI)
	@$(RUN) scripts/plan.ts $(if $(JSON),--json)

deps:
	@$(BOOTSTRAP) native node $(if $(CONTAINERS),test)

doctor: $(CLI)
	@$(RUN) scripts/00-preflight.ts $(STEP_FLAGS)

render: $(CLI)
	@$(RUN) scripts/10-render.ts $(STEP_FLAGS)

server-build: system-deps $(CLI)
	@$(RUN) scripts/15-server-build.ts $(STEP_FLAGS)

python-env: system-deps $(CLI)
	@$(RUN) scripts/20-python-env.ts $(STEP_FLAGS)

model: $(CLI)
	@$(RUN) scripts/30-model.ts $(STEP_FLAGS)

models-pull: model

models: $(CLI)
	@$(RUN) scripts/models.ts $(if $(JSON),--json)

# MODEL reaches the script through the environment, never through the shell line.
models-rm: $(CLI)
	@$(RUN) scripts/models.ts rm

image: $(CLI)
	@$(RUN) scripts/35-image.ts $(STEP_FLAGS)

server: system-deps $(CLI)
	@$(RUN) scripts/40-model-server.ts $(STEP_FLAGS)

jupyter: system-deps $(CLI)
	@$(RUN) scripts/50-jupyter.ts $(STEP_FLAGS)

shell: $(CLI)
	@$(RUN) scripts/60-shell.ts $(STEP_FLAGS)

smoke-test: $(CLI)
	@$(RUN) scripts/70-smoke.ts $(STEP_FLAGS)

open: $(CLI)
	@$(RUN) scripts/open.ts

status: $(CLI)
	@$(RUN) scripts/status.ts

# RPC_HOST / RPC_PORT reach the script through the environment (held to the profile's rules there).
rpc-worker: system-deps $(CLI)
	@$(RUN) scripts/rpc-worker.ts $(STEP_FLAGS)

service-install service-remove service-status: $(CLI)
	@$(RUN) scripts/service.ts $(patsubst service-%,%,$@)

logs: $(CLI)
	@$(RUN) scripts/logs.ts

down: $(CLI)
	@$(RUN) scripts/down.ts

clean: $(CLI)
	@$(RUN) scripts/clean.ts

compose-up compose-down kube-up kube-down: $(CLI)
	@$(RUN) scripts/deploy.ts $@

bench: system-deps $(CLI)
	@$(RUN) checks/bench.ts

schema: $(CLI)
	@$(RUN) scripts/schema.ts

typecheck: $(NODE_MODULES)
	node node_modules/typescript/bin/tsc --noEmit

# The unit tests mirror the code: test/unit/<room>/<module>.test.ts.
UNIT_TESTS = $(shell find test/unit -name '*.test.ts' | sort)

test-unit: $(NODE_MODULES)
	node --import tsx --test --test-concurrency=1 $(UNIT_TESTS)

# The house rules (.dependency-cruiser.cjs; test/unit/architecture/ runs them in make test):
# what breaks them, and the rooms drawn as a graph in build/architecture.svg when dot is here.
architecture: $(NODE_MODULES)
	npx depcruise scripts checks --output-type err-long
	@mkdir -p build && npx depcruise scripts checks --output-type archi > build/architecture.dot && echo "rooms: build/architecture.dot" && (command -v dot >/dev/null && dot -Tsvg build/architecture.dot > build/architecture.svg && echo "       build/architecture.svg" || true)

# Each file in order, then its wall time, and a check that git status is as before. The host's
# builds first (native: llama-server and the wheel; gpu: the Vulkan build, then its image): the
# images' compiles then find the host's objects in the shared compiler cache.
E2E_FIRST := test/e2e/native.test.ts test/e2e/gpu.test.ts
test: test-deps $(NODE_MODULES) typecheck
	@$(TSX) test/run.ts $(UNIT_TESTS) $(E2E_FIRST) $(filter-out $(E2E_FIRST),$(wildcard test/e2e/*.test.ts))

# A clean Debian container with only make and this repo's files runs the README's first command.
test-fresh-machine: test-deps $(NODE_MODULES)
	@$(TSX) test/fresh-machine.ts
