#!/usr/bin/env bash
# What the benchmarks need beyond scripts/setup.sh: HAProxy (Debian's 2.6) for `npm run bench -- scale`.
set -euo pipefail
if ! command -v haproxy >/dev/null 2>&1; then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq haproxy >/dev/null
fi
haproxy -v | head -1
