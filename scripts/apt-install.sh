#!/bin/bash
# Install the Debian packages named in $1 that are missing (used by scripts/setup.sh).
#
# Another package manager at work (unattended-upgrades, a second setup) holds the dpkg and apt
# locks: wait for it, up to $WORKBENCH_APT_LOCK_WAIT seconds (default 600), instead of failing.
# apt-get install waits by itself with DPkg::Lock::Timeout; apt-get update takes the lists lock
# without that wait (apt 2.6), so it is tried again here while the lock is held.
set -euo pipefail

apt_wait="${WORKBENCH_APT_LOCK_WAIT:-600}"
missing=""
for pkg in $1; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
[ -n "$missing" ] || exit 0

SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
apt_get() {
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout="$apt_wait" "$@"
}

echo "installing Debian packages:$missing" >&2
waited=0 told=""
until out=$(apt_get update -qq 2>&1); do
    case "$out" in
        *"Could not get lock"*|*"Unable to lock"*) ;;
        *) echo "$out" >&2; exit 1 ;;
    esac
    if [ "$waited" -ge "$apt_wait" ]; then
        echo "$out" >&2
        echo "another package manager held the apt lock for $apt_wait s (WORKBENCH_APT_LOCK_WAIT)" >&2
        exit 1
    fi
    [ -n "$told" ] || echo "waiting for another package manager to finish (apt lock)" >&2
    told=1
    sleep "${WORKBENCH_APT_RETRY:-5}"
    waited=$((waited + ${WORKBENCH_APT_RETRY:-5}))
done
apt_get install -y -qq --no-install-recommends $missing >/dev/null
