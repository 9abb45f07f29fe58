#!/usr/bin/env bash
# Build a pinacle pod image: pinacle/<name>:<inputs-hash12>, also tagged pinacle/<name>:latest.
#
#   docker/build-image.sh NAME [--mode auto|dockerfile|debootstrap] [--force] [--no-cache] [--prune]
#                              [--print-hash]
#
# NAME is a directory under docker/images/: base (pinacle/base, Debian bookworm) or workstation
# (pinacle/workstation, Debian trixie: code-server, Claude Code, Vibe Kanban). Each has image.conf
# (suite, services, title, optional Alpine Dockerfile), packages-debian.txt, and optionally setup.sh
# (run in the chroot after the packages), node/ and rootfs/ (files added on top of docker/rootfs/).
#
# The inputs hash is a sha256 over this script, lib/, ttyd/, rootfs/, images/NAME/ and the image's
# Dockerfile (path, executable bit, content; sorted). If an image carrying the label
# pinacle.NAME.inputs=<hash> exists, the script only (re)tags :latest and exits: that is the cache,
# cheap enough to call on every CI run.
#
# Modes:
#   dockerfile   docker build of the image's Dockerfile (base only: Dockerfile.base, Alpine 3.21);
#                needs alpine:3.21 or a reachable registry
#   debootstrap  no registry needed: debootstrap Debian (minbase), provision it in a chroot
#                (lib/provision.sh: packages, user dev, ttyd, the image's setup.sh), add rootfs/,
#                docker import
#   auto         dockerfile when the image has one and alpine:3.21 is already present locally,
#                debootstrap otherwise (default)
#
# --force rebuilds even on a cache hit, --no-cache also skips the cached rootfs and ttyd build,
# --prune removes other pinacle/NAME:<hash> tags afterwards (images still used by containers stay).
#
# Environment:
#   PINACLE_<NAME>_IMAGE            image repository (default pinacle/<name>; e.g. PINACLE_BASE_IMAGE)
#   PINACLE_DEBIAN_MIRROR           Debian mirror (default http://deb.debian.org/debian)
#   PINACLE_DEBIAN_SECURITY_MIRROR  security mirror (default http://deb.debian.org/debian-security);
#                                   set to "none" to skip applying security/point updates
#   PINACLE_CACHE_DIR               where provisioned rootfs tarballs and ttyd builds are kept
#                                   (default /var/cache/pinacle)
#   PINACLE_CACHE_MAX_DAYS          a cached rootfs older than this is rebuilt (default 7)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR

usage() {
    sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}"
}

name="${1:-}"
case "$name" in
    -h | --help) usage; exit 0 ;;
    "" | -*) usage >&2; printf 'error: the image name comes first (one of: %s)\n' \
        "$(cd "$SCRIPT_DIR/images" && echo *)" >&2; exit 2 ;;
esac
shift
[[ "$name" =~ ^[a-z0-9][a-z0-9-]*$ && -f "$SCRIPT_DIR/images/$name/image.conf" ]] || {
    printf 'error: unknown image %s (one of: %s)\n' "$name" "$(cd "$SCRIPT_DIR/images" && echo *)" >&2
    exit 2
}
readonly name
readonly IMAGE_DIR="$SCRIPT_DIR/images/$name"

IMAGE_SUITE=""
IMAGE_SERVICES=""
IMAGE_TITLE="pinacle-$name"
IMAGE_DOCKERFILE=""
# shellcheck source=images/base/image.conf
source "$IMAGE_DIR/image.conf"
[[ -n "$IMAGE_SUITE" ]] || { echo "error: $IMAGE_DIR/image.conf sets no IMAGE_SUITE" >&2; exit 2; }
readonly SUITE="$IMAGE_SUITE" SERVICES="$IMAGE_SERVICES" TITLE="$IMAGE_TITLE" DOCKERFILE="$IMAGE_DOCKERFILE"

repo_var="PINACLE_${name^^}_IMAGE"
repo_var="${repo_var//-/_}"
readonly IMAGE="${!repo_var:-pinacle/$name}"
readonly ALPINE_IMAGE="alpine:3.21"
readonly MIRROR="${PINACLE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
readonly SECURITY_MIRROR="${PINACLE_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
readonly CACHE_DIR="${PINACLE_CACHE_DIR:-/var/cache/pinacle}"
readonly CACHE_MAX_DAYS="${PINACLE_CACHE_MAX_DAYS:-7}"
readonly LABEL_INPUTS="pinacle.$name.inputs"
readonly LABEL_FLAVOR="pinacle.$name.flavor"
readonly LABEL_SERVICES="pinacle.services"
readonly DEV_UID=1000
# Directories every image has (Dockerfile.base creates the same list).
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

log() { printf '[%s-image] %s\n' "$name" "$*"; }
die() {
    printf '[%s-image] error: %s\n' "$name" "$*" >&2
    exit 1
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
    auto | debootstrap) ;;
    dockerfile) [[ -n "$DOCKERFILE" ]] || die "image $name has no Dockerfile: use --mode debootstrap" ;;
    *) die "--mode must be auto, dockerfile or debootstrap (got '$mode')" ;;
esac

# --- inputs hash --------------------------------------------------------------------------------

sha256_of() { sha256sum | cut -d' ' -f1; }

# One line per file under the given paths (relative to docker/): kind, path, content hash.
tree_lines() {
    local f kind
    find "$@" \( -type f -o -type l \) -print0 | LC_ALL=C sort -z |
        while IFS= read -r -d '' f; do
            if [[ -L "$f" ]]; then
                printf 'link %s -> %s\n' "$f" "$(readlink "$f")"
            else
                kind="file"
                [[ -x "$f" ]] && kind="exec"
                printf '%s %s %s\n' "$kind" "$f" "$(sha256_of <"$f")"
            fi
        done
}

inputs_hash() {
    (
        cd "$SCRIPT_DIR"
        printf 'pinacle-image-inputs v2 %s\n' "$name"
        local paths=(build-image.sh lib ttyd rootfs "images/$name")
        [[ -n "$DOCKERFILE" ]] && paths+=("$DOCKERFILE")
        tree_lines "${paths[@]}"
    ) | sha256_of
}

# What the provisioned (cached) rootfs depends on: everything that runs in the chroot.
rootfs_key() {
    (
        cd "$SCRIPT_DIR"
        printf 'pinacle-rootfs v2 %s %s %s %s %s\n' "$name" "$SUITE" "$1" "$MIRROR" "$SECURITY_MIRROR"
        tree_lines lib ttyd rootfs/etc/dpkg "images/$name" | grep -v " images/$name/rootfs/" |
            grep -v " images/$name/image.conf "
    ) | sha256_of
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
    echo "$name image up to date: $tag ($flavor)"
}

# Removes pinacle/NAME:<hash> tags other than the current one; in-use images are left alone.
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

# Unmounts whatever is mounted below $1 (deepest first).
umount_below() {
    local mnt
    while read -r mnt; do
        umount -l "$mnt" 2>/dev/null || true
    done < <(awk -v w="$1/" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r)
}

cleanup() {
    local rc=$?
    if [[ -n "${child}" ]]; then
        kill -TERM -- "-${child}" 2>/dev/null || true
        wait "${child}" 2>/dev/null || true
    fi
    if [[ -n "$work" && -d "$work" ]]; then
        # debootstrap and the chroot steps mount /proc (and more) into the target.
        umount_below "$work"
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
        log "waiting for another image build to finish"
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
    if [[ -n "$DOCKERFILE" ]] && docker image inspect "$ALPINE_IMAGE" >/dev/null 2>&1; then
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
        --file "$SCRIPT_DIR/$DOCKERFILE" \
        --label "$LABEL_INPUTS=$hash" \
        --label "$LABEL_FLAVOR=$flavor" \
        --label "$LABEL_SERVICES=$SERVICES" \
        --tag "$tmp_tag" \
        "$SCRIPT_DIR"
}

# Runs a command inside the rootfs $1 with a clean environment (plus the build's own variables).
in_chroot() {
    local rootfs="$1"
    shift
    local env=(PATH="$IMAGE_PATH" HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive
        SUITE="$SUITE" MIRROR="$MIRROR" SECURITY_MIRROR="$SECURITY_MIRROR" DEV_UID="$DEV_UID")
    # A TLS-intercepting proxy's CA (the host trusts it; the image must not): npm and node get the
    # host's bundle for the build only. apt uses plain http and checks signatures.
    if [[ -f "$rootfs/tmp/pinacle-build/host-ca.crt" ]]; then
        env+=(NODE_EXTRA_CA_CERTS=/tmp/pinacle-build/host-ca.crt npm_config_cafile=/tmp/pinacle-build/host-ca.crt)
    fi
    local v
    for v in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
        [[ -n "${!v:-}" ]] && env+=("$v=${!v}")
    done
    run_killable chroot "$rootfs" /usr/bin/env -i "${env[@]}" "$@"
}

# Debootstraps $SUITE into $1 and provisions it (lib/provision.sh in the chroot); $2: ttyd cache dir.
provision_rootfs() {
    local rootfs="$1" ttyd_cache="$2" b="$1/tmp/pinacle-build"
    log "debootstrap $SUITE (minbase) from $MIRROR"
    if ! run_killable debootstrap --variant=minbase "$SUITE" "$rootfs" "$MIRROR" >"$work/debootstrap.log" 2>&1; then
        tail -n 40 "$work/debootstrap.log" >&2
        [[ -f "$rootfs/debootstrap/debootstrap.log" ]] && tail -n 40 "$rootfs/debootstrap/debootstrap.log" >&2
        die "debootstrap failed (mirror: $MIRROR)"
    fi
    # Packages installed from here on skip docs, man pages and translations.
    install -m 0644 "$SCRIPT_DIR/rootfs/etc/dpkg/dpkg.cfg.d/pinacle-slim" "$rootfs/etc/dpkg/dpkg.cfg.d/pinacle-slim"

    mkdir -p "$b"
    cp -a "$SCRIPT_DIR/lib" "$SCRIPT_DIR/ttyd" "$b/"
    cp -a "$IMAGE_DIR" "$b/image"
    rm -rf "$b/image/rootfs"
    if [[ -n "$ttyd_cache" && -x "$ttyd_cache/ttyd" ]]; then
        log "ttyd: using the cached build $ttyd_cache"
        cp -a "$ttyd_cache" "$b/ttyd-cache"
    fi
    [[ -f /etc/ssl/certs/ca-certificates.crt ]] && cp /etc/ssl/certs/ca-certificates.crt "$b/host-ca.crt"
    cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
    mount -t proc proc "$rootfs/proc"

    log "provisioning in the chroot (log: $work/provision.log)"
    local rc=0
    in_chroot "$rootfs" /tmp/pinacle-build/lib/provision.sh >"$work/provision.log" 2>&1 || rc=$?
    umount_below "$rootfs"
    if ((rc != 0)); then
        tail -n 60 "$work/provision.log" >&2
        die "provisioning the rootfs failed (exit $rc)"
    fi
    grep -E '^\[(provision|ttyd|workstation)\]|^ttyd version' "$work/provision.log" | sed 's/^/    /' || true
    if [[ -n "$ttyd_cache" && ! -x "$ttyd_cache/ttyd" && -x "$b/ttyd-cache/ttyd" ]]; then
        log "caching the ttyd build as $ttyd_cache"
        rm -rf "$ttyd_cache.tmp.$$"
        cp -a "$b/ttyd-cache" "$ttyd_cache.tmp.$$"
        mv "$ttyd_cache.tmp.$$" "$ttyd_cache"
    fi
    rm -rf "$b"

    log "cleaning apt lists and caches"
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin \
        "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/archives/partial/* \
        "$rootfs"/var/cache/debconf/*-old "$rootfs"/var/lib/dpkg/*-old \
        "$rootfs"/var/log/apt/* "$rootfs"/var/log/dpkg.log "$rootfs"/var/log/alternatives.log \
        "$rootfs"/var/log/bootstrap.log "$rootfs"/root/.npm "$rootfs"/root/.cache
    # Docker bind-mounts these at run time; don't ship the build host's.
    : >"$rootfs/etc/resolv.conf"
    echo pinacle >"$rootfs/etc/hostname"
}

build_debootstrap() {
    ((EUID == 0)) || die "debootstrap mode needs root"
    command -v debootstrap >/dev/null || die "debootstrap not found (apt-get install debootstrap)"
    [[ -f "/usr/share/debootstrap/scripts/$SUITE" ]] || die "this debootstrap does not know $SUITE (upgrade debootstrap)"
    work="$(mktemp -d "${TMPDIR:-/tmp}/pinacle-$name.XXXXXX")"
    local rootfs="$work/rootfs" arch key ttyd_key ttyd_cache="" cached=""
    mkdir -p "$rootfs"
    arch="$(dpkg --print-architecture 2>/dev/null || uname -m)"
    key="$(rootfs_key "$arch")"
    if ((use_cache)); then
        # The ttyd build depends on the suite, the arch and ttyd/ (the pinned tarball sha256 is in it).
        ttyd_key="$(cd "$SCRIPT_DIR" && { echo "$SUITE $arch"; tree_lines ttyd lib/build-deps.sh; } | sha256_of)"
        ttyd_cache="$CACHE_DIR/ttyd-$SUITE-$arch-${ttyd_key:0:16}"
        cached="$CACHE_DIR/rootfs-$name-$SUITE-$arch-${key:0:16}.tar"
        if [[ -n "$(find "$cached" -maxdepth 0 -mtime "-$CACHE_MAX_DAYS" 2>/dev/null)" ]]; then
            log "using cached rootfs $cached"
            tar --numeric-owner -xpf "$cached" -C "$rootfs"
        else
            provision_rootfs "$rootfs" "$ttyd_cache"
            log "caching rootfs as $cached"
            rm -f "$CACHE_DIR"/rootfs-"$name"-"$SUITE"-"$arch"-*.tar
            tar --numeric-owner -cf "$cached.tmp.$$" -C "$rootfs" .
            mv "$cached.tmp.$$" "$cached"
        fi
    else
        provision_rootfs "$rootfs" ""
    fi

    log "stripping docs, man pages and translations (copyright files stay)"
    find "$rootfs/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
    find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
    rm -rf "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
    find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +

    log "adding rootfs/${IMAGE_DIR#"$SCRIPT_DIR/"}/rootfs"
    # root-owned, never group/world-writable, whatever the checkout's owner and umask.
    local overlay
    for overlay in "$SCRIPT_DIR/rootfs" "$IMAGE_DIR/rootfs"; do
        [[ -d "$overlay" ]] || continue
        tar -C "$overlay" --owner=0 --group=0 --numeric-owner --mode=go-w -cf - . |
            tar -C "$rootfs" --no-overwrite-dir -xpf -
    done
    local d
    for d in "${IMAGE_DIRS[@]}"; do
        mkdir -p "$rootfs/$d"
    done
    # A fresh named volume mounted on /workspace takes this ownership.
    chown "$DEV_UID:$DEV_UID" "$rootfs/workspace"

    log "importing into docker"
    tar --numeric-owner -C "$rootfs" -cf - . | docker import \
        --change "CMD $IMAGE_CMD" \
        --change "ENV PATH=$IMAGE_PATH" \
        --change "ENV LANG=C.UTF-8" \
        --change "WORKDIR /workspace" \
        --change "EXPOSE 80" \
        --change "LABEL $LABEL_INPUTS=$hash" \
        --change "LABEL $LABEL_FLAVOR=$flavor" \
        --change "LABEL $LABEL_SERVICES=$SERVICES" \
        --change "LABEL org.opencontainers.image.title=$TITLE" \
        --message "pinacle $name image ($flavor), inputs $hash" \
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
