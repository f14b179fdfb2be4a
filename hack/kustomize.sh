#!/usr/bin/env bash
# Provide kustomize for deploy/ and its tests, and print the binary's path.
#
# Pinned below; built from the Go module proxy with `go install` (no prebuilt
# download) into ${XDG_CACHE_HOME:-~/.cache}/eni-pool/tools/kustomize-<version>/,
# then reused. Cold build 34-41 s on 2 cores (bench/RESULTS.md). Progress goes to
# stderr, the path alone to stdout:   kustomize=$(hack/kustomize.sh)
set -euo pipefail

version=v5.8.2
dir="${XDG_CACHE_HOME:-$HOME/.cache}/eni-pool/tools/kustomize-$version"
binary="$dir/kustomize"

if [[ -x "$binary" ]]; then
	echo "$binary"
	exit 0
fi

go=$(command -v go || echo /usr/local/go/bin/go)
if [[ ! -x "$go" ]]; then
	echo "kustomize: Go is not installed and $binary is not built" >&2
	exit 1
fi

mkdir -p "$dir"
exec 9>"$dir/.lock"  # one builder at a time; a second caller waits, then reuses
flock 9
if [[ -x "$binary" ]]; then
	echo "$binary"
	exit 0
fi

start=$SECONDS
echo "kustomize: building sigs.k8s.io/kustomize/kustomize/v5@$version ..." >&2
CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false" GOMAXPROCS=2 GOTOOLCHAIN=local \
	GOBIN="$dir/.build" "$go" install -trimpath -ldflags "-s -w" \
	"sigs.k8s.io/kustomize/kustomize/v5@$version"
mv "$dir/.build/kustomize" "$binary"
rmdir "$dir/.build"
echo "kustomize: built $version in $((SECONDS - start))s" >&2
echo "$binary"
