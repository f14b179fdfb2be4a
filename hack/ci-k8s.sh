# shellcheck shell=bash
# Source from .ci/run before pytest:   source hack/ci-k8s.sh
#
# Builds (cold: ~8 min on 2 cores) or reuses (cached: well under a second)
# kube-apiserver and etcd through hack/k8s-binaries.sh, and exports
# ENI_POOL_K8S_BIN_DIR so that the tests/k8s harness uses exactly these.
# Keeping ${XDG_CACHE_HOME:-~/.cache} between CI runs keeps the fast path
# (it holds the binaries and Go's build cache).
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
	echo "ci-k8s: source this file (source hack/ci-k8s.sh); running it cannot export" >&2
	exit 2
fi
ENI_POOL_K8S_BIN_DIR=$("$(dirname "${BASH_SOURCE[0]}")/k8s-binaries.sh")
export ENI_POOL_K8S_BIN_DIR
echo "ci-k8s: ENI_POOL_K8S_BIN_DIR=$ENI_POOL_K8S_BIN_DIR" >&2
