#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# `make demo`, part 2: MariaDB on tandem under Pacemaker + Corosync, and a host crash that loses nothing.
# Two cluster nodes, n1 and n2 (network + mount + hostname namespaces on this machine), mirror MariaDB's
# disk with tandem; Pacemaker runs tandem as a promotable clone and the database on the Primary. A client
# commits numbered rows; we kill every process of the active host, Pacemaker moves the database, and we count
# the client's acknowledged commits on the survivor. Everything is removed at the end, also on failure.
#
# Usage: tools/examples/demo-ha.sh [BUILD_DIR]   (default: build; needs root, FUSE, loop devices and the
# packages scripts/install-deps.sh installs: pacemaker, corosync, crmsh, resource-agents, mariadb-server)
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
LIB=$REPO/tests/system/lib
BUILD_ARG=${1:-build}
case $BUILD_ARG in /*) TANDEM_BUILD_DIR=$BUILD_ARG ;; *) TANDEM_BUILD_DIR=$REPO/$BUILD_ARG ;; esac
TANDEM_SOURCE_DIR=$REPO
export TANDEM_BUILD_DIR TANDEM_SOURCE_DIR

TS_NAME=demo-ha
# shellcheck source=../../tests/system/lib/common.sh
. "$LIB/common.sh"
# shellcheck source=../../tests/system/lib/ha.sh
. "$LIB/ha.sh"
on_exit() {
  local rc=$?
  stop_client
  ha_cleanup
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -t 1 ]; then BOLD=$'\e[1m' DIM=$'\e[2m' OFF=$'\e[0m'; else BOLD="" DIM="" OFF=""; fi
CHAPTER=0
chapter() {
  CHAPTER=$((CHAPTER + 1))
  printf '\n%s%d. %s%s\n' "$BOLD" "$CHAPTER" "$1" "$OFF"
  shift
  local line
  for line in "$@"; do printf '   %s\n' "$line"; done
}
info() { printf '   %s-- %s%s\n' "$BOLD" "$*" "$OFF"; }
# show N COMMAND...: the command as typed on node N, then its output.
show() {
  local n=$1
  shift
  printf '%s[n%s]#%s %s\n' "$DIM" "$n" "$OFF" "$*"
  nsx "$n" "$@" 2>&1 | sed 's/^/   /'
}
show_status() {
  printf '%s[n%s]#%s tandemadm status %s\n' "$DIM" "$1" "$OFF" "$HA_RES"
  ha_adm "$1" status "$HA_RES" 2>&1 | sed 's/^/   /'
}
show_cluster() { nsx "$1" crm_mon -1 2>&1 | sed -n '/Node List/,$p' | sed 's/^/   /'; }

require_root
require_fuse_loop
require_netns
require_tools corosync pacemakerd crm crm_mon cibadmin mariadbd mariadb mariadb-install-db iptables xmllint
tandem_binaries
START_S=$SECONDS

printf '\n%standem demo, part 2%s: MariaDB on a tandem mirror, failover with Pacemaker, nothing lost.\n' "$BOLD" "$OFF"

chapter "Two cluster hosts" \
  "n1 and n2 are namespaces with their own network, mounts and hostname, joined by a virtual cable." \
  "Each has its own 512 MiB backing file for tandem."
ha_setup demo-ha 22 hadb
info "n1: $(ha_ip 1)   n2: $(ha_ip 2)   the database's virtual IP: $HA_VIP"

chapter "The resource file" \
  "Protocol C (a write is acknowledged once both disks have it) and 'fencing resource-and-stonith': a host" \
  "that carries on alone first has the fence-peer handler keep the other from being promoted (a Pacemaker" \
  "constraint), and an isolated Primary freezes its writes until that is settled."
ha_write_configs "demo-ha-$$"
sed 's/^/   | /' "$HA_CONF"

chapter "A filesystem and an empty MariaDB on the mirror" \
  "create-md and up on both hosts, first sync skipped (both disks are zero), then on n1: mkfs.ext4," \
  "mariadb-install-db and a database 'probe'. Then both daemons stop again: Pacemaker takes over."
ha_prepare_database
info "done: $(du -sh "$HA_WORK/n1.img" | cut -f1) written to each backing file"

chapter "Pacemaker and Corosync" \
  "tandem runs as a promotable clone (ocf:tandem:tandem); filesystem, virtual IP and MariaDB run on the" \
  "promoted host, after the promotion. The cluster configuration, in crmsh syntax:"
ha_start_cluster "tandemdemo$$"
sed 's/^/   | /' "$HA_WORK/cluster.crm"
db_started() { [ -n "$(active_node 1)" ]; }
wait_until 180 "the database started" db_started || fail "the database did not start"
A=$(active_node 1)
B=$((3 - A))
wait_until 60 "n$B in sync" both_uptodate_on "$B" || fail "n$B is not UpToDate: $(tandem_dstate "$B")"
show_cluster 1
show_status "$A"
show_status "$B"

chapter "A client writes" \
  "From n$B, a client commits numbered rows through the virtual IP and writes down every commit MariaDB" \
  "acknowledged."
start_client "$B"
sleep 8
info "$(sort -u "$HA_WORK/acked" | wc -l) commits acknowledged so far"

chapter "n$A, the active host, crashes" \
  "Every process on n$A is killed with SIGKILL (Corosync, Pacemaker, MariaDB, tandemd): a power failure."
ha_node_crash "$A"
T0=$SECONDS
info "n$A is down; Pacemaker on n$B notices, tandem on n$B fences n$A and is promoted, then the database starts"
wait_until 120 "db Started on n$B" ha_started_on "$B" db "n$B" || fail "no failover to n$B"
info "the database answers on n$B after $((SECONDS - T0)) s"
sleep 3
stop_client
show_cluster "$B"
show_status "$B"
info "the fencing constraint tandem-fence-peer placed (n$A may not be promoted while its data is stale):"
nsx "$B" cibadmin -Q -o constraints 2>/dev/null | grep -o '<rsc_location id="tandem-fence[^>]*>' | sed 's/^/   | /'

chapter "Every acknowledged commit is on n$B"
check_acked "$B"
show "$B" mariadb -e "select count(*) as \`rows\`, min(n), max(n) from probe.t"

chapter "n$A comes back" \
  "It boots, rejoins the cluster, and its tandem resyncs from n$B; after-resync-target lifts the constraint."
ha_cluster_start "$A"
wait_until 90 "both hosts online" ha_both_online "$B" || fail "n$A did not rejoin"
wait_until 180 "n$A in sync" both_uptodate_on "$A" || fail "n$A: $(tandem_dstate "$A")"
wait_until 60 "constraint removed" no_fence_constraint "$B" || fail "the fencing constraint stayed"
show_status "$A"
show_status "$B"
show_cluster "$B"

chapter "Clean up" \
  "Cluster stopped, namespaces, loop devices and files removed."
printf '\n%sDone%s in %d s. More: docs/ha.md.\n' "$BOLD" "$OFF" $((SECONDS - START_S))
