#!/usr/bin/env bash
# Build the pinacle pod base image: pinacle/base:<inputs-hash12>, also tagged pinacle/base:latest.
#
#   docker/build-base-image.sh [--mode auto|dockerfile|debootstrap] [--force] [--no-cache] [--prune]
#                              [--print-hash]
#
# The inputs hash is a sha256 over this script, Dockerfile.base, packages-debian.txt and every file
# under docker/rootfs/ (path, executable bit, content; sorted). If an image carrying the label
# pinacle.base.inputs=<hash> exists, the script only (re)tags :latest and exits: that is the cache,
# cheap enough to call on every CI run.
#
# Modes:
#   dockerfile   docker build of Dockerfile.base (Alpine 3.21); needs alpine:3.21 or a reachable registry
#   debootstrap  no registry needed: debootstrap Debian bookworm (minbase) + docker/rootfs, docker import
#   auto         dockerfile when alpine:3.21 is already present locally, debootstrap otherwise (default)
#
# --force rebuilds even on a cache hit, --no-cache also skips the cached debootstrap rootfs,
# --prune removes other pinacle/base:<hash> tags afterwards (images still used by containers stay).
#
# Environment:
#   PINACLE_BASE_IMAGE              image repository (default pinacle/base)
#   PINACLE_DEBIAN_MIRROR           Debian mirror (default http://deb.debian.org/debian)
#   PINACLE_DEBIAN_SECURITY_MIRROR  security mirror (default http://deb.debian.org/debian-security);
#                                   set to "none" to skip applying security/point updates
#   PINACLE_CACHE_DIR               where debootstrapped rootfs tarballs are kept (default /var/cache/pinacle)
#   PINACLE_CACHE_MAX_DAYS          a cached rootfs older than this is rebuilt (default 7)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
readonly IMAGE="${PINACLE_BASE_IMAGE:-pinacle/base}"
readonly SUITE="bookworm"
readonly ALPINE_IMAGE="alpine:3.21"
readonly MIRROR="${PINACLE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
readonly SECURITY_MIRROR="${PINACLE_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
readonly CACHE_DIR="${PINACLE_CACHE_DIR:-/var/cache/pinacle}"
readonly CACHE_MAX_DAYS="${PINACLE_CACHE_MAX_DAYS:-7}"
readonly LABEL_INPUTS="pinacle.base.inputs"
readonly LABEL_FLAVOR="pinacle.base.flavor"
# Directories every flavour has (Dockerfile.base creates the same list).
readonly IMAGE_DIRS=(workspace var/log/pinacle etc/pinacle/supervisor etc/pinacle/router)
readonly IMAGE_PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
readonly IMAGE_CMD='["tini", "--", "supervisord", "-n", "-c", "/etc/supervisor/supervisord.conf"]'

mode="auto"
force=0
use_cache=1
print_hash=0
prune=0
work=""
tmp_tag=""
child=""

log() { printf '[base-image] %s\n' "$*"; }
die() {
    printf '[base-image] error: %s\n' "$*" >&2
    exit 1
}

usage() {
    sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}"
}

while (($#)); do
    case "$1" in
        --mode) mode="${2:-}"; shift 2 || die "--mode needs a value" ;;
        --mode=*) mode="${1#--mode=}"; shift ;;
        --force) force=1; shift ;;
        --no-cache) use_cache=0; shift ;;
        --print-hash) print_hash=1; shift ;;
        --prune) prune=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done
case "$mode" in
    auto | dockerfile | debootstrap) ;;
    *) die "--mode must be auto, dockerfile or debootstrap (got '$mode')" ;;
esac

# --- inputs hash --------------------------------------------------------------------------------

sha256_of() { sha256sum | cut -d' ' -f1; }

inputs_hash() {
    (
        cd "$SCRIPT_DIR"
        printf 'pinacle-base-inputs v1\n'
        local f kind
        for f in build-base-image.sh Dockerfile.base packages-debian.txt; do
            printf 'input %s %s\n' "$f" "$(sha256_of <"$f")"
        done
        find rootfs \( -type f -o -type l \) -print0 | LC_ALL=C sort -z |
            while IFS= read -r -d '' f; do
                if [[ -L "$f" ]]; then
                    printf 'link %s -> %s\n' "$f" "$(readlink "$f")"
                else
                    kind="file"
                    [[ -x "$f" ]] && kind="exec"
                    printf '%s %s %s\n' "$kind" "$f" "$(sha256_of <"$f")"
                fi
            done
    ) | sha256_of
}

debian_packages() {
    sed -e 's/#.*//' -e 's/[[:space:]]//g' "$SCRIPT_DIR/packages-debian.txt" | grep -v '^$'
}

hash="$(inputs_hash)"
readonly hash
readonly tag="${IMAGE}:${hash:0:12}"
if ((print_hash)); then
    echo "$hash"
    exit 0
fi

command -v docker >/dev/null || die "docker CLI not found"

# --- cache --------------------------------------------------------------------------------------

# Prints the flavor label of an image whose inputs label is $hash ("" if the image doesn't match).
matching_flavor() {
    docker image inspect \
        --format "{{ index .Config.Labels \"$LABEL_INPUTS\" }} {{ index .Config.Labels \"$LABEL_FLAVOR\" }}" \
        "$1" 2>/dev/null | awk -v h="$hash" '$1 == h { print $2 }'
}

wanted_flavor() {
    case "$1" in
        dockerfile) echo "alpine-3.21" ;;
        debootstrap) echo "debian-$SUITE" ;;
        *) echo "" ;; # auto: any flavor will do
    esac
}

# Succeeds (and prints the cache line) when an image for $hash exists; re-tags :latest.
cache_hit() {
    local ref="$tag" flavor want ids
    flavor="$(matching_flavor "$ref")"
    if [[ -z "$flavor" ]]; then
        # The tag may be gone while the image is still there (e.g. retagged by hand).
        ids="$(docker image ls -q --no-trunc --filter "label=$LABEL_INPUTS=$hash")"
        ref="${ids%%$'\n'*}"
        [[ -n "$ref" ]] || return 1
        flavor="$(matching_flavor "$ref")"
        [[ -n "$flavor" ]] || return 1
    fi
    want="$(wanted_flavor "$mode")"
    [[ -z "$want" || "$want" == "$flavor" ]] || return 1
    [[ "$ref" == "$tag" ]] || docker tag "$ref" "$tag"
    docker tag "$tag" "$IMAGE:latest"
    echo "base image up to date: $tag ($flavor)"
}

# Removes pinacle/base:<hash> tags other than the current one; in-use images are left alone.
prune_old() {
    local ref
    while read -r ref; do
        [[ "${ref}" == "${tag}" || "${ref}" == "${IMAGE}:latest" ]] && continue
        if docker image rm "${ref}" >/dev/null 2>&1; then
            log "pruned ${ref}"
        else
            log "kept ${ref} (in use)"
        fi
    done < <(docker image ls --format '{{.Repository}}:{{.Tag}}' "${IMAGE}")
}

if ((!force)) && cache_hit; then
    if ((prune)); then prune_old; fi
    exit 0
fi

# --- build --------------------------------------------------------------------------------------

# Runs a long step in its own process group, so that a signal to this script can stop all of it
# (bash defers traps until a foreground child returns, but `wait` is interruptible).
run_killable() {
    local rc=0
    setsid "$@" &
    child=$!
    wait "${child}" || rc=$?
    child=""
    return "${rc}"
}

cleanup() {
    local rc=$? mnt
    if [[ -n "${child}" ]]; then
        kill -TERM -- "-${child}" 2>/dev/null || true
        wait "${child}" 2>/dev/null || true
    fi
    if [[ -n "$work" && -d "$work" ]]; then
        # debootstrap mounts /proc and /sys into the target; a killed run can leave them behind.
        while read -r mnt; do
            umount -l "$mnt" 2>/dev/null || true
        done < <(awk -v w="$work/" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r)
        rm -rf --one-file-system "$work"
    fi
    if [[ -n "$tmp_tag" ]]; then
        docker image rm "$tmp_tag" >/dev/null 2>&1 || true
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# One build at a time per host; a concurrent run that finishes first turns this one into a cache hit.
if mkdir -p "$CACHE_DIR" 2>/dev/null && [[ -w "$CACHE_DIR" ]] && command -v flock >/dev/null; then
    exec 9>"$CACHE_DIR/.build.lock"
    if ! flock -n 9; then
        log "waiting for another build of the base image to finish"
        flock 9
    fi
    if ((!force)) && cache_hit; then
        if ((prune)); then prune_old; fi
        exit 0
    fi
else
    use_cache=0
fi

if [[ "$mode" == "auto" ]]; then
    if docker image inspect "$ALPINE_IMAGE" >/dev/null 2>&1; then
        mode="dockerfile"
    else
        mode="debootstrap"
    fi
    log "mode auto -> $mode"
fi
flavor="$(wanted_flavor "$mode")"
readonly flavor
tmp_tag="${IMAGE}-build:${hash:0:12}-$$"
log "building $tag ($flavor), inputs $hash"

build_dockerfile() {
    docker build \
        --file "$SCRIPT_DIR/Dockerfile.base" \
        --label "$LABEL_INPUTS=$hash" \
        --label "$LABEL_FLAVOR=$flavor" \
        --tag "$tmp_tag" \
        "$SCRIPT_DIR"
}

# Debootstraps bookworm with the package list into $1, applies point/security updates, cleans up.
debootstrap_rootfs() {
    local rootfs="$1" packages
    packages="$(debian_packages | paste -sd, -)"
    log "debootstrap $SUITE (minbase) from $MIRROR: ${packages//,/ }"
    if ! run_killable debootstrap --variant=minbase --include="$packages" "$SUITE" "$rootfs" "$MIRROR" \
        >"$work/debootstrap.log" 2>&1; then
        tail -n 40 "$work/debootstrap.log" >&2
        [[ -f "$rootfs/debootstrap/debootstrap.log" ]] && tail -n 40 "$rootfs/debootstrap/debootstrap.log" >&2
        die "debootstrap failed (mirror: $MIRROR)"
    fi

    {
        echo "deb $MIRROR $SUITE main"
        echo "deb $MIRROR $SUITE-updates main"
        [[ "$SECURITY_MIRROR" == "none" ]] || echo "deb $SECURITY_MIRROR $SUITE-security main"
    } >"$rootfs/etc/apt/sources.list"
    if [[ "$SECURITY_MIRROR" != "none" ]]; then
        log "applying $SUITE-updates and $SUITE-security"
        # No daemon may start inside the chroot while packages are upgraded.
        printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
        chmod 755 "$rootfs/usr/sbin/policy-rc.d"
        cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
        if ! run_killable chroot "$rootfs" /usr/bin/env -i PATH="$IMAGE_PATH" DEBIAN_FRONTEND=noninteractive \
            sh -c 'apt-get -q update && apt-get -q -y -o Dpkg::Options::=--force-confold dist-upgrade' \
            >"$work/upgrade.log" 2>&1; then
            tail -n 40 "$work/upgrade.log" >&2
            die "apt-get dist-upgrade in the new rootfs failed"
        fi
        rm -f "$rootfs/usr/sbin/policy-rc.d"
    fi

    log "cleaning apt lists and caches"
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin \
        "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/archives/partial/* \
        "$rootfs"/var/cache/debconf/*-old "$rootfs"/var/lib/dpkg/*-old \
        "$rootfs"/var/log/apt/* "$rootfs"/var/log/dpkg.log "$rootfs"/var/log/alternatives.log \
        "$rootfs"/var/log/bootstrap.log
    # Docker bind-mounts these at run time; don't ship the build host's.
    : >"$rootfs/etc/resolv.conf"
    echo pinacle >"$rootfs/etc/hostname"
}

build_debootstrap() {
    ((EUID == 0)) || die "debootstrap mode needs root"
    command -v debootstrap >/dev/null || die "debootstrap not found (apt-get install debootstrap)"
    work="$(mktemp -d "${TMPDIR:-/tmp}/pinacle-base.XXXXXX")"
    local rootfs="$work/rootfs" arch key cached=""
    mkdir -p "$rootfs"
    arch="$(dpkg --print-architecture 2>/dev/null || uname -m)"
    key="$(
        {
            echo "$SUITE $arch $SECURITY_MIRROR"
            debian_packages
        } | sha256_of
    )"
    if ((use_cache)); then
        cached="$CACHE_DIR/rootfs-$SUITE-$arch-${key:0:16}.tar"
        if [[ -n "$(find "$cached" -maxdepth 0 -mtime "-$CACHE_MAX_DAYS" 2>/dev/null)" ]]; then
            log "using cached rootfs $cached"
            tar --numeric-owner -xpf "$cached" -C "$rootfs"
        else
            debootstrap_rootfs "$rootfs"
            log "caching rootfs as $cached"
            rm -f "$CACHE_DIR"/rootfs-"$SUITE"-"$arch"-*.tar
            tar --numeric-owner -cf "$cached.tmp.$$" -C "$rootfs" .
            mv "$cached.tmp.$$" "$cached"
        fi
    else
        debootstrap_rootfs "$rootfs"
    fi

    log "stripping docs, man pages and translations (copyright files stay)"
    find "$rootfs/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
    find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
    rm -rf "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
    find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +

    log "adding docker/rootfs"
    # root-owned, never group/world-writable, whatever the checkout's owner and umask.
    tar -C "$SCRIPT_DIR/rootfs" --owner=0 --group=0 --numeric-owner --mode=go-w -cf - . |
        tar -C "$rootfs" --no-overwrite-dir -xpf -
    local d
    for d in "${IMAGE_DIRS[@]}"; do
        mkdir -p "$rootfs/$d"
    done

    log "importing into docker"
    tar --numeric-owner -C "$rootfs" -cf - . | docker import \
        --change "CMD $IMAGE_CMD" \
        --change "ENV PATH=$IMAGE_PATH" \
        --change "ENV LANG=C.UTF-8" \
        --change "WORKDIR /workspace" \
        --change "EXPOSE 80" \
        --change "LABEL $LABEL_INPUTS=$hash" \
        --change "LABEL $LABEL_FLAVOR=$flavor" \
        --change "LABEL org.opencontainers.image.title=pinacle-base" \
        --message "pinacle base image ($flavor), inputs $hash" \
        - "$tmp_tag" >/dev/null
}

case "$mode" in
    dockerfile) build_dockerfile ;;
    debootstrap) build_debootstrap ;;
    *) die "unknown mode: ${mode}" ;;
esac

docker tag "$tmp_tag" "$tag"
docker tag "$tag" "$IMAGE:latest"
docker image rm "$tmp_tag" >/dev/null
tmp_tag=""
size="$(docker image inspect --format '{{ .Size }}' "$tag")"
log "built $tag and $IMAGE:latest ($((size / 1000000)) MB) in ${SECONDS}s"
if ((prune)); then prune_old; fi
