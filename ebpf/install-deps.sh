#!/usr/bin/env bash
# Installs what `make -C ebpf` and `peregrine sensor` need on a Debian (bookworm) host, and mounts
# tracefs when it is missing. Idempotent; non-interactive; run as root (CI calls it before the tests).
set -euo pipefail

packages=(clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev make pkg-config gcc libc6-dev)

if [[ $(id -u) -ne 0 ]]; then
  echo "ebpf/install-deps.sh: must run as root (apt-get install, mount tracefs)" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "ebpf/install-deps.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "ebpf/install-deps.sh: packages already installed"
fi

# Tracepoint attachment goes through tracefs (the event ids live there).
if [[ ! -e /sys/kernel/tracing/events ]]; then
  mount -t tracefs nodev /sys/kernel/tracing
  echo "ebpf/install-deps.sh: mounted tracefs on /sys/kernel/tracing"
fi

if [[ ! -r /sys/kernel/btf/vmlinux ]]; then
  echo "ebpf/install-deps.sh: warning: /sys/kernel/btf/vmlinux is missing: this kernel has no BTF, CO-RE programs cannot load" >&2
fi
