#!/usr/bin/env bash
# Debian's chromium for the console's browser test (playwright-core drives it; Playwright's own browser downloads are
# not reachable). Idempotent; needs root. Called by scripts/test.sh before the integration tests, and by the test
# itself when the browser is missing and it runs as root.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "chromium is missing: run as root: apt-get install -y chromium" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium >/dev/null
/usr/bin/chromium --version
