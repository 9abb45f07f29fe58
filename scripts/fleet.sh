#!/usr/bin/env bash
# A test fleet of pod hosts on this machine: each one a set of namespaces (network, mount, PID, UTS,
# IPC) with an address of its own, its own /etc/docker, /var/lib/docker, /var/lib/pinacle, /run, ...
# and an sshd on port 22, so that every SSH session lands in that host. The hosts start bare, as a
# fresh machine would: the project's own host deploy (`provision`) installs their Docker engines.
#
#   scripts/fleet.sh up [N]         start hosts 1..N (default 3); idempotent: running hosts are kept,
#                                   a stopped sshd is started again
#   scripts/fleet.sh provision      the host deploy on every host (inventory/fleet-test.py), then the
#                                   pod images loaded into each engine (`images`)
#   scripts/fleet.sh images [IMG]   load IMG (default pinacle/base:latest) into each host's engine
#                                   where its ID differs from this machine's
#   scripts/fleet.sh status         what runs, per host
#   scripts/fleet.sh exec N CMD...  run CMD inside host N (all its namespaces), as its sshd would
#   scripts/fleet.sh stop-sshd N    make host N unreachable (its engine keeps running)
#   scripts/fleet.sh down           remove every host and everything the fleet made
#
# Host N: name fleet-hostN, address 10.250.N.2 (this machine's side of its veth: 10.250.N.1, the
# link pfleetN), state under /var/lib/pinacle-fleet/hostN, runtime files (its /run, with the Docker
# socket) under /run/pinacle-fleet/hostN. One process per host holds its namespaces: `unshare`,
# whose pid is /run/pinacle-fleet/hostN.pid, with tini as the hosts's PID 1 (it reaps what the
# deploy daemonizes). Killing it ends the host: its processes, mounts, network and veth go with it.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
SELF="$REPO/scripts/fleet.sh"
STATE_ROOT=/var/lib/pinacle-fleet
RUN_ROOT=/run/pinacle-fleet
INVENTORY="$REPO/inventory/fleet-test.py"
CLIENT_KEY="$STATE_ROOT/client_key"
KNOWN_HOSTS="$STATE_ROOT/known_hosts"
BOOT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# What each host has of its own: every path the host deploy and pinacle write, and what a real
# machine never shares (its logs, temporary files, sshd config). The rest (/usr, /etc, dpkg's
# database, the kernel) is this machine's.
PRIVATE_DIRS=(
    /etc/docker /etc/pinacle /etc/ssh
    /var/lib/docker /var/lib/containerd /var/lib/pinacle /var/log
    /usr/local/lib/pinacle /tmp /var/tmp
)
# Inherited mounts under these belong to this machine's engine (container rootfs, netns files):
# a fresh host must not hold them.
INHERITED_MOUNT_ROOTS='^(/run|/var/lib/docker|/var/lib/containerd|/tmp|/var/tmp)(/|$)'

die() {
    echo "fleet: $*" >&2
    exit 1
}

host_name() { echo "fleet-host$1"; }
host_address() { echo "10.250.$1.2"; }
machine_address() { echo "10.250.$1.1"; }
host_link() { echo "pfleet$1"; }
host_state() { echo "$STATE_ROOT/host$1"; }
host_run() { echo "$RUN_ROOT/host$1"; }
host_pidfile() { echo "$RUN_ROOT/host$1.pid"; }
host_socket() { echo "$RUN_ROOT/host$1/docker.sock"; }

# The pid of host N's namespace holder, if it is alive (and really ours: a stale pidfile after a
# reboot may name another process).
holder_pid() {
    local pidfile pid
    pidfile=$(host_pidfile "$1")
    [ -r "$pidfile" ] || return 1
    pid=$(cat "$pidfile")
    [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "fleet.sh _boot $1 " || return 1
    echo "$pid"
}

# The host's PID 1 (tini), whose namespaces nsenter enters.
init_pid() {
    local holder
    holder=$(holder_pid "$1") || return 1
    pgrep -P "$holder" | head -n 1
}

in_host() {
    local n=$1 pid
    shift
    pid=$(init_pid "$n") || die "host $n is not running (scripts/fleet.sh up)"
    nsenter -t "$pid" -m -u -i -n -p --wd=/ -- env -i PATH="$BOOT_PATH" HOME=/root "$@" 9<&-
}

# Runs as the host's first process (under tini), inside its fresh namespaces: make the file system
# the host's own, then hold the namespaces until killed.
boot() {
    local n=$1 state run dir stash
    state=$(host_state "$n")
    run=$(host_run "$n")
    hostname "$(host_name "$n")"
    # Deepest first; lazily, as nothing of this host uses them.
    findmnt -rn -o TARGET | grep -E "$INHERITED_MOUNT_ROOTS" | sort -r | while read -r target; do
        umount -l "$target" 2>/dev/null || true  # gone with a parent already
    done
    # A sysfs of the host's own network namespace (/sys/class/net lists its links), keeping cgroups.
    stash="$run/.cgroup"
    mkdir -p "$stash"
    mount --rbind /sys/fs/cgroup "$stash"
    umount -l /sys
    mount -t sysfs sysfs /sys
    mount --move "$stash" /sys/fs/cgroup
    rmdir "$stash"
    for dir in "${PRIVATE_DIRS[@]}"; do
        mkdir -p "$state/fs$dir"
        mount --bind "$state/fs$dir" "$dir"
    done
    chmod 1777 /tmp /var/tmp
    mount --bind "$run" /run
    mkdir -p /run/lock /run/sshd
    # The fleet's own files (other hosts' state, the client key) are not this host's business.
    mount -t tmpfs -o ro,size=4k,mode=755 tmpfs "$STATE_ROOT"
    touch /run/fleet-booted
    exec sleep infinity
}

write_sshd_files() {
    local n=$1 etc_ssh
    etc_ssh="$(host_state "$n")/fs/etc/ssh"
    mkdir -p "$etc_ssh/authorized_keys"
    [ -f "$etc_ssh/ssh_host_ed25519_key" ] ||
        ssh-keygen -q -t ed25519 -N "" -C "$(host_name "$n")" -f "$etc_ssh/ssh_host_ed25519_key"
    cp "$CLIENT_KEY.pub" "$etc_ssh/authorized_keys/root"
    cat >"$etc_ssh/sshd_config" <<EOF
# Written by scripts/fleet.sh: host $(host_name "$n") of the test fleet.
Port 22
HostKey /etc/ssh/ssh_host_ed25519_key
PidFile /run/sshd.pid
AuthorizedKeysFile /etc/ssh/authorized_keys/%u
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
LogLevel VERBOSE
Subsystem sftp internal-sftp
EOF
}

start_holder() {
    local n=$1 run holder
    run=$(host_run "$n")
    # A new boot: nothing of a previous one survives in its /run.
    [ ! -d "$run" ] || rm -rf --one-file-system "$run"
    mkdir -p "$run"
    setsid env -i PATH="$BOOT_PATH" \
        unshare --net --mount --uts --ipc --pid --fork --mount-proc --propagation private --kill-child \
        -- tini -s -- "$SELF" _boot "$n" >"$RUN_ROOT/host$n.log" 2>&1 </dev/null 9<&- &
    holder=$!
    echo "$holder" >"$(host_pidfile "$n")"
    for _ in $(seq 100); do
        [ -e "$run/fleet-booted" ] && return 0
        kill -0 "$holder" 2>/dev/null || break
        sleep 0.1
    done
    die "host $n did not boot: $(cat "$RUN_ROOT/host$n.log")"
}

wire_network() {
    local n=$1 link pid
    link=$(host_link "$n")
    pid=$(init_pid "$n")
    if ! ip link show "$link" >/dev/null 2>&1; then
        ip link add "$link" type veth peer name eth0 netns "$pid"
    fi
    ip addr replace "$(machine_address "$n")/24" dev "$link"
    ip link set "$link" up
    in_host "$n" ip link set lo up
    in_host "$n" ip addr replace "$(host_address "$n")/24" dev eth0
    in_host "$n" ip link set eth0 up
    in_host "$n" ip route replace default via "$(machine_address "$n")"
}

# Host-to-host traffic (one host's edge forwarding to another's, as on a real fleet) crosses this
# machine, whose FORWARD policy Docker sets to DROP: let the fleet's links talk to each other.
FORWARD_RULE=(FORWARD -i pfleet+ -o pfleet+ -j ACCEPT)

allow_host_to_host() {
    iptables -C "${FORWARD_RULE[@]}" 2>/dev/null || iptables -I "${FORWARD_RULE[@]}"
    [ "$(cat /proc/sys/net/ipv4/ip_forward)" = 1 ] || echo 1 >/proc/sys/net/ipv4/ip_forward
}

sshd_answers() {
    timeout 2 bash -c "exec 3<>/dev/tcp/$(host_address "$1")/22" 2>/dev/null
}

start_sshd() {
    local n=$1
    sshd_answers "$n" && return 0
    in_host "$n" /usr/sbin/sshd -E /var/log/sshd.log
    for _ in $(seq 50); do
        sshd_answers "$n" && return 0
        sleep 0.1
    done
    die "sshd of host $n does not answer on $(host_address "$n"):22"
}

write_known_hosts() {
    local dir n
    : >"$KNOWN_HOSTS.new"
    for dir in "$STATE_ROOT"/host*; do
        [ -d "$dir" ] || continue
        n=${dir##*/host}
        echo "$(host_address "$n") $(cut -d ' ' -f 1-2 "$dir/fs/etc/ssh/ssh_host_ed25519_key.pub")" >>"$KNOWN_HOSTS.new"
    done
    mv "$KNOWN_HOSTS.new" "$KNOWN_HOSTS"
}

cmd_up() {
    local count=${1:-3} n
    [[ "$count" =~ ^[1-9][0-9]?$ ]] || die "N must be a host count from 1 to 99, got '$count'"
    for tool in unshare nsenter tini ip sshd ssh-keygen findmnt pgrep; do
        command -v "$tool" >/dev/null || die "$tool is missing (util-linux, iproute2, tini, openssh-server, procps)"
    done
    mkdir -p "$STATE_ROOT" "$RUN_ROOT"
    chmod 700 "$STATE_ROOT"
    [ -f "$CLIENT_KEY" ] || ssh-keygen -q -t ed25519 -N "" -C pinacle-fleet-client -f "$CLIENT_KEY"
    for n in $(seq "$count"); do
        write_sshd_files "$n"
        holder_pid "$n" >/dev/null || start_holder "$n"
        wire_network "$n"
        start_sshd "$n"
    done
    allow_host_to_host
    write_known_hosts
    cmd_status
}

cmd_stop_sshd() {
    local n=${1:?usage: fleet.sh stop-sshd N}
    # shellcheck disable=SC2016 # expanded by the host's own shell
    in_host "$n" sh -c '[ ! -s /run/sshd.pid ] || kill "$(cat /run/sshd.pid)"; rm -f /run/sshd.pid'
    for _ in $(seq 50); do
        sshd_answers "$n" || return 0
        sleep 0.1
    done
    die "sshd of host $n still answers"
}

host_numbers() {
    local dir
    for dir in "$STATE_ROOT"/host* "$RUN_ROOT"/host*.pid; do
        [ -e "$dir" ] || continue
        dir=${dir##*/host}
        echo "${dir%.pid}"
    done | sort -nu
}

engine() {
    local n=$1
    shift
    docker -H "unix://$(host_socket "$n")" "$@"
}

engine_answers() {
    [ -S "$(host_socket "$1")" ] && timeout 10 docker -H "unix://$(host_socket "$1")" version >/dev/null 2>&1
}

stop_host() {
    local n=$1 holder
    if holder=$(holder_pid "$n"); then
        if engine_answers "$n"; then
            # Containers first, through the engine, so runsc and dockerd clean up after them.
            engine "$n" ps -aq | xargs -r docker -H "unix://$(host_socket "$n")" rm -f >/dev/null || true
        fi
        # shellcheck disable=SC2016 # expanded by the host's own shell
        in_host "$n" sh -c 'for p in dockerd containerd; do pid=$(pidof "$p") && kill $pid; done
            for _ in $(seq 100); do pidof dockerd containerd >/dev/null || exit 0; sleep 0.2; done' || true
        # The end of a PID namespace's init ends every process in it (unshare ignores SIGTERM).
        kill -KILL "$(init_pid "$n")" 2>/dev/null || true
        for _ in $(seq 100); do
            kill -0 "$holder" 2>/dev/null || break
            sleep 0.1
        done
        ! kill -0 "$holder" 2>/dev/null || die "host $n (pid $holder) did not stop"
    fi
    ! ip link show "$(host_link "$n")" >/dev/null 2>&1 || ip link del "$(host_link "$n")"
    rm -rf --one-file-system "$(host_run "$n")" "$(host_pidfile "$n")" "$RUN_ROOT/host$n.log" "$(host_state "$n")"
}

cmd_down() {
    local n
    for n in $(host_numbers); do
        stop_host "$n"
        echo "fleet: host $n removed"
    done
    while iptables -D "${FORWARD_RULE[@]}" 2>/dev/null; do :; done
    rm -rf --one-file-system "$STATE_ROOT" "$RUN_ROOT"
}

cmd_status() {
    local n sshd engine_state pods
    printf '%-12s %-12s %-8s %-6s %-10s %s\n' HOST ADDRESS HOLDER SSHD ENGINE CONTAINERS
    for n in $(host_numbers); do
        sshd=down engine_state=down pods=-
        sshd_answers "$n" && sshd=up
        if engine_answers "$n"; then
            engine_state=up
            pods=$(engine "$n" ps -q | wc -l)
        fi
        printf '%-12s %-12s %-8s %-6s %-10s %s\n' "$(host_name "$n")" "$(host_address "$n")" \
            "$(holder_pid "$n" || echo -)" "$sshd" "$engine_state" "$pods"
    done
}

images_of() {
    if [ "$#" -eq 0 ]; then
        echo pinacle/base:latest
    else
        printf '%s\n' "$@"
    fi
}

# `docker save` once per image ID (kept under the fleet's state), then one `docker load` per host
# that lacks that ID, in parallel.
cmd_images() {
    local image id archive n pids=()
    mkdir -p "$STATE_ROOT/images"
    while read -r image; do
        id=$(docker image inspect -f '{{.Id}}' "$image") || die "$image is not on this machine"
        archive="$STATE_ROOT/images/${id#sha256:}.tar"
        for n in $(host_numbers); do
            engine_answers "$n" || die "the engine of host $n is not running (scripts/fleet.sh provision)"
            [ "$(engine "$n" image inspect -f '{{.Id}}' "$image" 2>/dev/null)" != "$id" ] || continue
            [ -f "$archive" ] || { docker save -o "$archive.part" "$image" && mv "$archive.part" "$archive"; }
            engine "$n" load -q -i "$archive" >/dev/null &
            pids+=("$!")
        done
        for pid in "${pids[@]}"; do wait "$pid"; done
        pids=()
        echo "fleet: $image ($id) is in every engine"
    done < <(images_of "$@")
}

cmd_provision() {
    local pyinfra="$REPO/.venv/bin/pyinfra"
    [ -x "$pyinfra" ] || pyinfra=pyinfra
    "$pyinfra" -y "$INVENTORY" "$REPO/deploys/vm.py"
    cmd_images
}

[ "$(id -u)" -eq 0 ] || die "run as root: the fleet makes namespaces, links and mounts"
case "${1:-}" in
    up | down | provision | images)
        # One fleet command at a time (the test session and a user may both run `up`); the lock is
        # this script itself, so nothing is left behind. Daemons started meanwhile do not inherit it.
        exec 9<"$SELF"
        flock -w 600 9 || die "another scripts/fleet.sh has held the fleet for 10 minutes"
        ;;
esac
case "${1:-}" in
    up) cmd_up "${2:-3}" ;;
    down) cmd_down ;;
    status) cmd_status ;;
    provision) cmd_provision ;;
    images) shift && cmd_images "$@" ;;
    exec) shift && n=${1:?usage: fleet.sh exec N CMD...} && shift && in_host "$n" "$@" ;;
    stop-sshd) cmd_stop_sshd "${2:-}" ;;
    _boot) boot "$2" ;;
    *) echo "usage: $0 up [N] | provision | images [IMAGE...] | status | exec N CMD... | stop-sshd N | down" >&2; exit 64 ;;
esac
