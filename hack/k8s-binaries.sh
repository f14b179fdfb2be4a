#!/usr/bin/env bash
# Provide kube-apiserver and etcd for the tests/k8s harness and print the
# directory that holds them.
#
# The versions are pinned by the build modules in hack/k8s-build/ (go.mod and
# go.sum, fetched through the Go module proxy). Binaries are cached outside the
# repo in ${XDG_CACHE_HOME:-~/.cache}/eni-pool/k8s/<kube>-etcd-<etcd>/; when
# both are there the script only prints the path. Progress goes to stderr, the
# path alone to stdout:  bin_dir=$(hack/k8s-binaries.sh)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir="$repo/hack/k8s-build"

# pinned_version <go.mod> <module>: the version go.mod requires for module.
pinned_version() {
	awk -v m="$2" '$1 == m { print $2; exit } $1 == "require" && $2 == m { print $3; exit }' "$1"
}

kube_version=$(pinned_version "$build_dir/kube-apiserver/go.mod" k8s.io/kubernetes)
etcd_version=$(pinned_version "$build_dir/etcd/go.mod" go.etcd.io/etcd/server/v3)
bin_dir="${XDG_CACHE_HOME:-$HOME/.cache}/eni-pool/k8s/${kube_version}-etcd-${etcd_version}"

have_binaries() {
	[[ -x "$bin_dir/kube-apiserver" && -x "$bin_dir/etcd" ]]
}

if have_binaries; then
	echo "$bin_dir"
	exit 0
fi

go=$(command -v go || echo /usr/local/go/bin/go)
if [[ ! -x "$go" ]]; then
	echo "k8s-binaries: Go is not installed and $bin_dir is empty" >&2
	exit 1
fi

mkdir -p "$bin_dir"
# One builder at a time; a second caller waits, then finds the binaries.
exec 9>"$bin_dir/.lock"
flock 9
if have_binaries; then
	echo "$bin_dir"
	exit 0
fi

# Reproducible, memory-bounded builds on small CI machines: static binaries,
# no VCS stamping, go.sum as committed, at most two compile jobs.
export CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false" GOMAXPROCS=2 GOTOOLCHAIN=local

# build <module dir> <package> <output name> [ldflags]
build() {
	local start=$SECONDS
	echo "k8s-binaries: building $3 ($kube_version / etcd $etcd_version) ..." >&2
	(cd "$1" && "$go" build -p 2 -trimpath -ldflags "-s -w ${4:-}" -o "$bin_dir/.$3.tmp" "$2")
	mv "$bin_dir/.$3.tmp" "$bin_dir/$3"
	echo "k8s-binaries: built $3 in $((SECONDS - start))s" >&2
}

version_pkg=k8s.io/component-base/version
minor=${kube_version#v1.}
minor=${minor%%.*}
[[ -x "$bin_dir/kube-apiserver" ]] || build "$build_dir/kube-apiserver" \
	k8s.io/kubernetes/cmd/kube-apiserver kube-apiserver \
	"-X $version_pkg.gitVersion=$kube_version -X $version_pkg.gitMajor=1 -X $version_pkg.gitMinor=$minor -X $version_pkg.gitTreeState=clean"
[[ -x "$bin_dir/etcd" ]] || build "$build_dir/etcd" . etcd

echo "$bin_dir"
