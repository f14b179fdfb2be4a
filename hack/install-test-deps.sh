#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian machine; idempotent and
# quick when everything is already there.
#   - Debian's prometheus (prometheus + promtool) for the real-Prometheus tests
#   - this package with its [test] extra
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
  echo "install-test-deps: installing Debian's prometheus" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi

echo "install-test-deps: pip install -e .[test]" >&2
python3 -m pip install -q --disable-pip-version-check -e '.[test]'
