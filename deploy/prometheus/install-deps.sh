#!/usr/bin/env bash
# Installs Debian's prometheus package (Prometheus 2.42 + promtool on bookworm) for the Prometheus integration test.
# Idempotent; non-interactive; run as root (CI: scripts/test.sh calls it before the tests). The package's service is
# not started: the test runs its own Prometheus on a free loopback port and stops it.
set -euo pipefail

if dpkg-query -W -f='${Status}' prometheus 2>/dev/null | grep -q 'install ok installed'; then
  echo "deploy/prometheus/install-deps.sh: prometheus $(dpkg-query -W -f='${Version}' prometheus) already installed"
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "deploy/prometheus/install-deps.sh: must run as root (apt-get install prometheus)" >&2
  exit 1
fi

# Without systemd, the package's postinst would start its init script (Prometheus on 0.0.0.0:9090). A policy-rc.d
# answering 101 forbids that; one already in place (Docker images ship one) is left as it is.
policy=/usr/sbin/policy-rc.d
created_policy=
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  created_policy=1
fi
remove_policy() { if [[ -n $created_policy ]]; then rm -f "$policy"; fi; }
trap remove_policy EXIT

echo "deploy/prometheus/install-deps.sh: installing prometheus"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends prometheus >/dev/null
echo "deploy/prometheus/install-deps.sh: installed prometheus $(dpkg-query -W -f='${Version}' prometheus)"
