# shellcheck shell=bash
# Sourced inside the image chroot by provision.sh, ttyd/build-ttyd.sh and images/*/setup.sh.
# Build-only packages: install them, build, then purge exactly the ones that were not there before,
# keeping the shared libraries the built files link against (marked manual so autoremove keeps them).

# Packages installed (any state but "not-installed"), one per line.
installed_packages() {
    dpkg-query -W -f '${db:Status-Abbrev} ${Package}\n' | awk '$1 ~ /^i/ { print $2 }' | sort -u
}

# build_deps_install NAME PKG...: installs PKG... and remembers which of them were not installed
# before, in /tmp/pinacle-build/build-deps.NAME (their dependencies are marked auto by apt).
build_deps_install() {
    local name="$1"
    shift
    printf '%s\n' "$@" | sort -u | comm -23 - <(installed_packages) >"/tmp/pinacle-build/build-deps.$name"
    apt-get -q -y install --no-install-recommends "$@"
}

# runtime_packages FILE...: the packages owning the shared libraries FILE... load (via ldd).
runtime_packages() {
    local f lib
    for f in "$@"; do
        ldd "$f" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 }'
    done | sort -u | while read -r lib; do
        dpkg-query -S "$(readlink -f "$lib")" 2>/dev/null || dpkg-query -S "$lib" 2>/dev/null || true
    done | cut -d: -f1 | sort -u
}

# build_deps_purge NAME KEEP...: marks KEEP... manual, purges the build packages of NAME that are
# not kept, and autoremoves what only they needed (kept packages are manual, so their own
# dependencies stay). Packages that were installed before build_deps_install are left alone.
build_deps_purge() {
    local name="$1" purge
    shift
    if (($#)); then
        apt-mark manual "$@" >/dev/null
    fi
    purge="$(printf '%s\n' "$@" | sort -u | comm -23 "/tmp/pinacle-build/build-deps.$name" -)"
    if [[ -n "$purge" ]]; then
        # shellcheck disable=SC2086 # one package name per word
        apt-get -q -y purge --auto-remove $purge
    fi
    apt-get -q -y autoremove --purge
    rm -f "/tmp/pinacle-build/build-deps.$name"
}
