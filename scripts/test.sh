#!/usr/bin/env bash
# The whole test suite, from a fresh machine: type-check, unit tests, then the real local stack (installed and started
# if it is not up) and the integration tests against it. Everything runs on the project's own Node (the npm package
# `node`, pinned in package.json: node_modules/.bin/node), whatever Node the machine has.
set -euo pipefail
cd "$(dirname "$0")/.."
export PEREGRINE_LOG_FORMAT=json
step() { printf '\n== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }

step "npm dependencies"
[ -x node_modules/.bin/vitest ] && [ -x node_modules/.bin/node ] || npm ci --no-audit --no-fund
export PATH="$PWD/node_modules/.bin:$PATH"

if [ "$(id -u)" = 0 ] && [ -x ebpf/install-deps.sh ]; then
  step "system packages for the eBPF sensor"
  ebpf/install-deps.sh
  step "eBPF sensor build"
  make -C ebpf
fi

if [ "$(id -u)" = 0 ]; then
  step "Prometheus for the monitoring test"
  deploy/prometheus/install-deps.sh
fi

step "type-check"
npx tsc --noEmit -p .

step "unit tests (Node $(node -v))"
npx vitest run --project unit

step "local stack"
node bin/peregrine.js stack up

if [ "$(id -u)" = 0 ]; then
  step "chromium for the console's browser test"
  console/install-chromium.sh
fi

step "integration tests"
npx vitest run --project integration

step "done"
