#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian machine; idempotent and
# quick when everything is already there.
#   - Debian's prometheus (prometheus + promtool) for the real-Prometheus tests
#   - a kubectl (Debian's kubernetes-client, unless one is on PATH) for the test that
#     pipes `recommend -o kubectl` into sh against the real API server
#   - this package with its [test] extra, every dependency at its requirements.lock version
#   - kube-apiserver and etcd for tests/k8s, built from the Go module proxy on first use
#     (~8 minutes on 2 cores) and cached in ~/.cache/eni-pool/k8s/<version>/
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
  echo "install-test-deps: installing Debian's prometheus" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi

if ! command -v kubectl >/dev/null; then
  echo "install-test-deps: installing Debian's kubernetes-client (kubectl)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends kubernetes-client >/dev/null
fi

echo "install-test-deps: pip install -r requirements.lock -e .[test]" >&2
# requirements.lock pins every runtime and test dependency (refresh: README, Development)
python3 -m pip install -q --disable-pip-version-check -r requirements.lock -e '.[test]'

if command -v go >/dev/null; then
  echo "install-test-deps: kube-apiserver + etcd for tests/k8s (cold build ~8 min)" >&2
  hack/k8s-binaries.sh >/dev/null
  echo "install-test-deps: kustomize for the deploy tests (cold build ~40 s)" >&2
  hack/kustomize.sh >/dev/null
else
  echo "install-test-deps: no Go toolchain: tests/k8s will skip (and fail under CI=true)" >&2
fi
