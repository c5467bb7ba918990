#!/usr/bin/env bash
# Host packages sandboxd needs: busybox-static (the test image), debootstrap (the default image
# on hosts without a registry), iptables (the host guard), wrk (the bench's --wrk cross-check,
# exercised by the tests), nginx-light (the bench's nginx peer in the proxy figures, which the
# suite's quick bench then exercises), python3 with venv (the E2B SDK conformance suite makes its own
# virtualenvs and installs `e2b` from PyPI into them). Idempotent; needs root for apt.
set -euo pipefail
need=()
command -v busybox >/dev/null 2>&1 || need+=(busybox-static)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
command -v iptables >/dev/null 2>&1 || need+=(iptables)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
[ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v python3 >/dev/null 2>&1 || need+=(python3)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: need root to install ${need[*]} (apt-get)" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  # The bench runs nginx itself; a service the package may have started is not wanted.
  if [[ " ${need[*]} " == *" nginx-light "* ]] && command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now nginx >/dev/null 2>&1 || true
  fi
fi
docker info >/dev/null 2>&1 || { echo "setup: the Docker engine is not reachable" >&2; exit 1; }
echo "setup: ok"
