#!/usr/bin/env bash
# Installs what paygate needs from Debian's packages, only when something is missing.
# usage: scripts/deps.sh [build|demo|test|coverage|bench]
#   demo: build's, and Node.js with the sandbox chain's npm packages (`make demo` starts the
#     chain: docs/chain.md)
#   test: adds what the test suites need (browsers, node, abigail-tools for the SDK's ABI check,
#     the PostgreSQL server for the pg suite, Patroni, etcd and HAProxy for its failover test,
#     debhelper and mmdebstrap for the Debian package's)
#     and the sandbox chain's npm packages (chain/package-lock.json: ganache, solc)
#   coverage: test's, and gcovr for `make coverage`
#   bench: the references bench/e2e measures against (PostgreSQL, nginx, wrk)
set -euo pipefail
want=${1:-build}

pkgs=(build-essential meson ninja-build pkg-config
      libmicrohttpd-dev libgnutls28-dev libjansson-dev libsqlite3-dev libsodium-dev libssl-dev
      libcurl4-openssl-dev libinih-dev libqrencode-dev libpq-dev libcmocka-dev libcbor-dev
      libsecp256k1-dev
      sqlite3 openssl ca-certificates curl tzdata)
if [ "$want" = test ] || [ "$want" = coverage ]; then
  # postgresql: the pg suite's throwaway clusters (tests/lib/pg_cluster.sh; installing it also
  # starts Debian's own cluster on port 5432, which the tests never use)
  pkgs+=(clang-format clang chromium testssl.sh abigail-tools gettext postgresql
         fonts-wqy-zenhei # CJK fonts: screenshots
         python3-cryptography # the receipts' verifier (docs/receipts.md); tests/integration/merchant_client.py
         debhelper mmdebstrap systemd # tests/deb: build the package, a Debian 12 tree, units
         patroni etcd-server haproxy) # scripts/cluster: the failover test's HA cluster
  command -v node >/dev/null 2>&1 || pkgs+=(nodejs npm)
fi
if [ "$want" = demo ]; then command -v node >/dev/null 2>&1 || pkgs+=(nodejs npm); fi
if [ "$want" = coverage ]; then pkgs+=(gcovr); fi
if [ "$want" = bench ]; then
  pkgs+=(postgresql nginx-light wrk iproute2)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "paygate: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The sandbox chain (docs/chain.md): its node and compiler, as pinned by the lock file.
if [ "$want" = test ] || [ "$want" = coverage ] || [ "$want" = demo ]; then
  chain="$(dirname "$0")/../chain"
  if [ ! -d "$chain/node_modules/ganache" ]; then
    echo "paygate: npm ci in chain/ (ganache, solc)" >&2
    (cd "$chain" && npm ci --no-audit --no-fund >/dev/null)
  fi
fi
