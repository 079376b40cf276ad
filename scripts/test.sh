#!/usr/bin/env bash
# The whole test suite, from a fresh machine: type-check, unit tests on Node 20 and Node 24, then the real local stack
# (installed and started if it is not up) and the integration tests against it.
set -euo pipefail
cd "$(dirname "$0")/.."
export PEREGRINE_LOG_FORMAT=json
step() { printf '\n== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }

step "npm dependencies"
[ -x node_modules/.bin/vitest ] || npm ci --no-audit --no-fund

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

step "unit tests (Node 24)"
node24_dir="${XDG_CACHE_HOME:-$HOME/.cache}/peregrine/node24"
if [ ! -x "$node24_dir/node_modules/.bin/node" ]; then
  mkdir -p "$node24_dir"
  npm install --no-save --no-audit --no-fund --prefix "$node24_dir" node@24 >/dev/null
fi
"$node24_dir/node_modules/.bin/node" node_modules/vitest/vitest.mjs run --project unit

step "local stack"
node bin/peregrine.js stack up

step "integration tests"
npx vitest run --project integration

step "done"
