#!/usr/bin/env bash
# Installs ttyd (the web terminal, with xterm.js compiled into the binary) as /usr/local/bin/ttyd.
# Runs inside the image chroot (called by lib/provision.sh), as root, with network.
#
# Source: Debian's ttyd source package from sid (neither bookworm nor trixie package ttyd), fetched
# with `apt-get source` from a deb-src entry, so apt checks it against the signed Sources index; the
# orig tarball must also match TTYD_ORIG_SHA256 below. Built with cmake against this suite's own
# libwebsockets/libjson-c/libuv/zlib/openssl; the build packages are purged afterwards and the
# runtime libraries kept (marked manual).
#
# Cache: /tmp/pinacle-build/ttyd-cache/ (the build script copies it in from and back out to
# $PINACLE_CACHE_DIR/ttyd-<version>-<suite>-<arch>-<key>/ on the host). With `ttyd` and `ttyd.deps`
# there, only the runtime packages are installed and the binary is copied: no compiler run.
set -euo pipefail

readonly TTYD_VERSION="1.7.7"
readonly TTYD_ORIG="ttyd_${TTYD_VERSION}.orig.tar.xz"
readonly TTYD_ORIG_SHA256="48eba3f76af237f4c09cceb5ddbe0f845832557819f7e5c60c88285f8822af88"
readonly TTYD_SOURCE_SUITE="sid"
readonly MIRROR="${MIRROR:?MIRROR (the Debian mirror) must be set}"
readonly CACHE="/tmp/pinacle-build/ttyd-cache"
# cmake, a C compiler and the -dev packages CMakeLists.txt looks for (libwebsockets-dev pulls in
# libssl-dev, libuv1-dev, zlib1g-dev, libev-dev, libcap-dev); pkg-config is not used.
readonly BUILD_PACKAGES=(cmake make gcc libc6-dev libwebsockets-dev libjson-c-dev libuv1-dev zlib1g-dev libssl-dev)

# shellcheck source-path=SCRIPTDIR source=../lib/build-deps.sh
source /tmp/pinacle-build/lib/build-deps.sh

log() { printf '[ttyd] %s\n' "$*"; }

# libwebsockets loads its libuv event loop as a plugin (dlopen), which ldd cannot see.
runtime_deps() {
    {
        runtime_packages /usr/local/bin/ttyd
        dpkg-query -W -f '${db:Status-Abbrev} ${Package}\n' 'libwebsockets-evlib-uv' 2>/dev/null |
            awk '$1 ~ /^i/ { print $2 }'
    } | sort -u
}

if [[ -x "$CACHE/ttyd" && -s "$CACHE/ttyd.deps" ]]; then
    log "using the cached ttyd build"
    mapfile -t deps <"$CACHE/ttyd.deps"
    apt-get -q -y install --no-install-recommends "${deps[@]}"
    apt-mark manual "${deps[@]}" >/dev/null
    install -m 0755 "$CACHE/ttyd" /usr/local/bin/ttyd
else
    log "building ttyd $TTYD_VERSION from Debian's $TTYD_SOURCE_SUITE source package"
    # check-valid-until=no: sid's Release file is valid for a week only, and a mirror snapshot that
    # lags behind (as the one here does) would refuse it. The signature is still checked, and the
    # tarball must match the sha256 pinned above.
    echo "deb-src [check-valid-until=no] $MIRROR $TTYD_SOURCE_SUITE main" >/etc/apt/sources.list.d/pinacle-ttyd-src.list
    apt-get -q update
    src="$(mktemp -d /tmp/pinacle-build/ttyd.XXXXXX)"
    chmod 755 "$src"
    # apt verifies every file it fetches against the signed Sources index. Some mirrors carry only
    # the orig tarball (the .dsc / debian.tar.xz of the current revision answer 404): the upstream
    # build needs nothing else, so a partial download is accepted when the orig tarball is there.
    if ! (cd "$src" && apt-get -q source --download-only ttyd); then
        log "apt-get source did not fetch every file of the source package; checking the orig tarball"
    fi
    rm -f /etc/apt/sources.list.d/pinacle-ttyd-src.list
    [[ -f "$src/$TTYD_ORIG" ]] || {
        echo "[ttyd] error: $TTYD_ORIG was not downloaded" >&2
        exit 1
    }
    echo "$TTYD_ORIG_SHA256  $src/$TTYD_ORIG" | sha256sum -c --quiet - || {
        echo "[ttyd] error: $TTYD_ORIG does not match the pinned sha256 $TTYD_ORIG_SHA256" >&2
        exit 1
    }
    tar -xJf "$src/$TTYD_ORIG" -C "$src"

    build_deps_install ttyd "${BUILD_PACKAGES[@]}"
    cmake -S "$src/ttyd-$TTYD_VERSION" -B "$src/build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr/local
    cmake --build "$src/build" --parallel "$(nproc)"
    install -m 0755 "$src/build/ttyd" /usr/local/bin/ttyd
    strip /usr/local/bin/ttyd 2>/dev/null || true
    mapfile -t deps < <(runtime_deps)
    build_deps_purge ttyd "${deps[@]}"
    rm -rf "$src"

    mkdir -p "$CACHE"
    cp /usr/local/bin/ttyd "$CACHE/ttyd"
    printf '%s\n' "${deps[@]}" >"$CACHE/ttyd.deps"
fi

/usr/local/bin/ttyd --version
log "runtime packages: ${deps[*]}"
