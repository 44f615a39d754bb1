#!/bin/sh
# Installs every build and test dependency of tandem with apt-get (Debian 12).
# Idempotent and quiet when everything is present, so `make demo` and `make check` can call it every time.
set -eu
PKGS="build-essential cmake pkg-config git
liburing-dev libnl-3-dev libnl-genl-3-dev libboost-program-options-dev libfmt-dev libgtest-dev libssl-dev
libfuse3-dev fuse3 libblkid-dev
fio nbdkit libnbd-bin qemu-utils
e2fsprogs util-linux iproute2 iptables procps kmod psmisc"
# The VM tests (tests/vm/) boot a test kernel under QEMU; they skip themselves without it.
PKGS="$PKGS qemu-system-x86 busybox-static cpio"
# The HA test and `make demo` run a Pacemaker + Corosync cluster with MariaDB (tests/system/test-ha-mariadb.sh).
PKGS="$PKGS pacemaker corosync pacemaker-cli-utils crmsh resource-agents mariadb-server mariadb-client libxml2-utils heartbeat"
# drbd-utils cross-checks our example config with `drbdadm dump` and drives the in-kernel DRBD of `make bench-vm`,
# which also builds md RAID1 with a kernel NBD leg (mdadm, nbd-client; qemu-nbd serves it) and times the link (socat).
PKGS="$PKGS drbd-utils mdadm nbd-client socat"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "install-deps: missing packages:$missing; run as root (apt-get install)" >&2
  exit 1
fi
echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# Packages must not start their services (corosync, pacemaker, mariadb) on this machine: the tests start
# their own, inside namespaces. A temporary policy-rc.d says so to invoke-rc.d, unless the admin has one.
POLICY=/usr/sbin/policy-rc.d
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$POLICY" && chmod 755 "$POLICY"
  trap 'rm -f "$POLICY"' EXIT
fi
apt-get update -qq || apt-get update
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null || apt-get install -y --no-install-recommends $missing
