#!/usr/bin/env bash
# Provisions a freshly debootstrapped rootfs; runs inside it (chroot), called by build-image.sh.
# Everything done here ends up in the cached rootfs tarball; its cache key covers this directory,
# ttyd/ and the image's packages-debian.txt and setup files.
#
#   /tmp/pinacle-build/lib/provision.sh        with /tmp/pinacle-build/{lib,ttyd,image} in place
#
# Environment: SUITE, MIRROR, SECURITY_MIRROR ("none": no -updates/-security), DEV_UID.
set -euo pipefail

readonly B=/tmp/pinacle-build
readonly SUITE="${SUITE:?}" MIRROR="${MIRROR:?}" SECURITY_MIRROR="${SECURITY_MIRROR:?}"
readonly DEV_UID="${DEV_UID:-1000}"

log() { printf '[provision] %s\n' "$*"; }

{
    echo "deb $MIRROR $SUITE main"
    if [[ "$SECURITY_MIRROR" != "none" ]]; then
        echo "deb $MIRROR $SUITE-updates main"
        echo "deb $SECURITY_MIRROR $SUITE-security main"
    fi
} >/etc/apt/sources.list
# No daemon may start inside the chroot while packages are installed.
printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
chmod 755 /usr/sbin/policy-rc.d

mapfile -t packages < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$B/image/packages-debian.txt" | grep -v '^$')
log "apt: upgrade, then install ${packages[*]}"
apt-get -q update
apt-get -q -y -o Dpkg::Options::=--force-confold dist-upgrade
apt-get -q -y -o Dpkg::Options::=--force-confold install --no-install-recommends "${packages[@]}"

log "user dev (uid $DEV_UID)"
groupadd --gid "$DEV_UID" dev
useradd --uid "$DEV_UID" --gid "$DEV_UID" --create-home --home-dir /home/dev --shell /bin/bash dev

log "ttyd"
"$B/ttyd/build-ttyd.sh"

if [[ -x "$B/image/setup.sh" ]]; then
    log "image setup: $B/image/setup.sh"
    "$B/image/setup.sh"
fi

apt-get -q clean
rm -f /usr/sbin/policy-rc.d
log "done"
