#!/bin/sh
# Builds kube-apiserver and kubectl (Kubernetes 1.20.2) from Debian bookworm's `kubernetes` source
# package, once, into a cache outside the repository. The Kubernetes tests run the server with
# etcd on 127.0.0.1, and kubectl (with its built-in kustomize) to apply the shipped manifests.
#
# No kube-apiserver binary is published in a registry we can reach, but Debian ships the whole
# source tree (vendor/ included) and a Go toolchain that builds it. Takes about 5 minutes on two
# cores the first time; afterwards it only checks that the binary is there.
#
# Usage: build-apiserver.sh            prints the directory holding kube-apiserver and kubectl
# Environment: HOOKSERVER_KUBE_CACHE   cache directory (default: ~/.cache/hookserver-kube)
#
# Needs root for apt-get (golang-1.19-go, rsync, etcd-server) when those are missing.
set -eu

cache=${HOOKSERVER_KUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hookserver-kube}
version=1.20.2
bindir="$cache/bin-$version"
log() { echo "build-apiserver.sh: $*" >&2; }

install_packages() {
    missing=""
    [ -x /usr/lib/go-1.19/bin/go ] || missing="$missing golang-1.19-go"
    command -v rsync >/dev/null 2>&1 || missing="$missing rsync"
    command -v etcd >/dev/null 2>&1 || missing="$missing etcd-server"
    command -v openssl >/dev/null 2>&1 || missing="$missing openssl"
    [ -z "$missing" ] && return 0
    log "installing$missing"
    if [ "$(id -u)" != 0 ]; then
        log "need root to apt-get install$missing; install them and run again"
        exit 1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || true
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >&2
    # etcd-server starts a system etcd on 2379 when it can; the tests run their own.
    if command -v systemctl >/dev/null 2>&1; then systemctl stop etcd >/dev/null 2>&1 || true; fi
    pkill -x etcd >/dev/null 2>&1 || true
}

install_packages

if [ -x "$bindir/kube-apiserver" ] && [ -x "$bindir/kubectl" ]; then
    echo "$bindir"
    exit 0
fi

mkdir -p "$cache/apt/lists/partial" "$cache/apt/archives/partial" "$cache/src" "$bindir"

# 1. The source package, through a private apt configuration: its own deb-src list and state,
#    so the machine's apt setup is neither needed nor changed.
printf 'deb-src http://deb.debian.org/debian bookworm main\n' >"$cache/apt/sources.list"
apt_private() {
    apt-get -q \
        -o Dir::Etc::SourceList="$cache/apt/sources.list" \
        -o Dir::Etc::SourceParts=/nonexistent \
        -o Dir::State::Lists="$cache/apt/lists" \
        -o Dir::Cache="$cache/apt" \
        -o Dir::Cache::archives="$cache/apt/archives" \
        -o APT::Sandbox::User=root \
        "$@"
}
cd "$cache/src"
if ! ls kubernetes_*.orig.tar.* >/dev/null 2>&1; then
    log "downloading Debian's kubernetes source package"
    apt_private update >&2
    apt_private source --download-only kubernetes >&2
fi
tree="$cache/src/kubernetes-$version"
if [ ! -f "$tree/.unpacked" ]; then
    log "unpacking"
    rm -rf "$tree"
    mkdir -p "$tree"
    for tarball in kubernetes_*.orig.tar.*; do
        tar -xf "$tarball" -C "$tree" --strip-components=1
    done
    touch "$tree/.unpacked"
fi

export PATH="/usr/lib/go-1.19/bin:$PATH"
export GOPATH="$cache/gopath" GO111MODULE=off CGO_ENABLED=0 GOFLAGS=
export GOCACHE="$cache/go-build"
mkdir -p "$GOPATH/src/k8s.io"
ln -sfn "$tree" "$GOPATH/src/k8s.io/kubernetes"

# 2. reflect2 1.0.1 (vendored) crashes the server on its first write under Go 1.19; use 1.0.2
#    from Debian's golang-github-modern-go-reflect2-dev sources.
if [ ! -f "$tree/.reflect2" ]; then
    log "replacing vendored reflect2 with 1.0.2"
    cd "$cache/src"
    if ! ls golang-github-modern-go-reflect2_*.orig.tar.* >/dev/null 2>&1; then
        apt_private source --download-only golang-github-modern-go-reflect2 >&2
    fi
    rm -rf "$cache/src/reflect2" && mkdir -p "$cache/src/reflect2"
    tar -xf golang-github-modern-go-reflect2_*.orig.tar.* -C "$cache/src/reflect2" --strip-components=1
    rm -rf "$tree/vendor/github.com/modern-go/reflect2"
    mkdir -p "$tree/vendor/github.com/modern-go/reflect2"
    cp "$cache/src/reflect2"/*.go "$tree/vendor/github.com/modern-go/reflect2/"
    rm -f "$tree/vendor/github.com/modern-go/reflect2"/*_test.go
    touch "$tree/.reflect2"
fi

# 3. The generated OpenAPI definitions are not in the tarball.
cd "$GOPATH/src/k8s.io/kubernetes"
if [ ! -f pkg/generated/openapi/zz_generated.openapi.go ]; then
    log "generating OpenAPI definitions"
    make gen_openapi >&2
fi

# 4. The server and kubectl, with the version they report.
ldflags=""
for pkg in k8s.io/kubernetes/vendor/k8s.io/component-base/version \
           k8s.io/kubernetes/vendor/k8s.io/client-go/pkg/version; do
    ldflags="$ldflags -X $pkg.gitVersion=v$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=20"
    ldflags="$ldflags -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done
for cmd in kube-apiserver kubectl; do
    [ -x "$bindir/$cmd" ] && continue
    log "building $cmd $version (kube-apiserver takes about 5 minutes on two cores)"
    go build -o "$bindir/$cmd.tmp" -ldflags "-s -w $ldflags" "k8s.io/kubernetes/cmd/$cmd" >&2
    mv "$bindir/$cmd.tmp" "$bindir/$cmd"
done
log "built kube-apiserver and kubectl in $bindir"
echo "$bindir"
