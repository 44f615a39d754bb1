#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# MariaDB on tandem under Pacemaker + Corosync, failing over with no acknowledged commit lost (issue 5).
#
# Two cluster nodes n1 and n2 (network + mount + UTS namespaces, tests/system/lib/ha.sh), a tandem resource
# with protocol C and `fencing resource-and-stonith` whose fence-peer/unfence-peer handlers are tandem's
# Pacemaker ones, run by ocf:tandem:tandem as a promotable clone; Filesystem + IPaddr2 + ocf:heartbeat:mysql
# colocated with the promoted instance and ordered after promotion. A client on the passive node commits
# numbered rows through the virtual IP and records every commit MariaDB acknowledged. Then:
#   1. standby of the active node          -> the database moves; every acknowledged row is there
#   2. kill -9 of everything on the active -> the same after failover; the crashed node rejoins and resyncs
#   3. the active node's link is cut       -> the isolated Primary's writes freeze (its fence-peer cannot
#      prove the peer down: no STONITH here), the peer fences it through the cluster and takes over with
#      every acknowledged row; then we power-cycle the isolated node, as STONITH would, and it resyncs
# After each, tandem reconnects, resyncs and the fencing constraint is removed; at the end, with every
# resource stopped, both backing files' data regions are byte-identical.
set -euo pipefail

LIB=$(cd "$(dirname "$0")/lib" && pwd)
TS_NAME=ha-mariadb
# shellcheck source=lib/common.sh
. "$LIB/common.sh"
# shellcheck source=lib/ha.sh
. "$LIB/ha.sh"
# shellcheck source=lib/tandem.sh
. "$LIB/tandem.sh"

require_root
require_fuse_loop
require_netns
require_tools corosync pacemakerd crm crm_mon crm_attribute cibadmin corosync-keygen mariadbd mariadb \
  mariadb-install-db mariadb-admin iptables xmllint mkfs.ext4
[ -x /usr/lib/ocf/resource.d/heartbeat/mysql ] || skip "resource-agents (ocf:heartbeat:mysql) not installed"
id mysql >/dev/null 2>&1 || skip "no mysql user (mariadb-server not installed)"
tandem_binaries


DIAG_DONE=""
on_exit() {
  local rc=$?
  set +eu
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ -z "$DIAG_DONE" ] && [ -n "$HA_WORK" ]; then
    DIAG_DONE=1
    echo "=== diagnostics (exit status $rc)"
    ha_diagnostics
  fi
  stop_client
  ha_cleanup
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------------------------------------------
step "two cluster nodes as namespaces"
ha_setup ha 20 hadb
info "work dir $HA_WORK, n1 $(ha_ip 1), n2 $(ha_ip 2), VIP $HA_VIP"

ha_write_configs "ha-test-$$"

step "tandem resource: metadata, first sync skipped (both disks zero), filesystem and database on n1"
ha_prepare_database

step "Corosync + Pacemaker on both nodes, tandem as a promotable clone, the database group on the promoted one"
ha_start_cluster "tandemha$$"
db_started() { [ -n "$(active_node 1)" ]; }
wait_until 180 "the database started" db_started || fail "the database did not start"
A=$(active_node 1)
B=$((3 - A))
info "database active on n$A"
nsx 1 crm_mon -1 | sed -n '/Node List/,$p' | sed 's/^/    /'
ha_wait_resynced "$B"

step "1. standby of the active node n$A"
start_client "$B"
sleep 4
nsx "$B" crm_attribute -N "n$A" -n standby -v on
wait_until 120 "db Started on n$B" ha_started_on "$B" db "n$B" || fail "no failover to n$B"
sleep 3
stop_client
check_acked "$B"
info "n$B: $(ha_adm "$B" status "$HA_RES" | tr '\n' ' ' | tr -s ' ')"
has_fence_constraint "$B" && info "fencing constraint in place while n$A is away"
nsx "$B" crm_attribute -N "n$A" -n standby -v off
ha_wait_resynced "$A"

A=$B
B=$((3 - A))
step "2. kill -9 of everything on the active node n$A"
start_client "$B"
sleep 4
ha_node_crash "$A"
info "n$A crashed at $(date +%T)"
wait_until 120 "db Started on n$B" ha_started_on "$B" db "n$B" || fail "no failover to n$B"
sleep 3
stop_client
check_acked "$B"
info "n$B: $(ha_adm "$B" status "$HA_RES" | tr '\n' ' ' | tr -s ' ')"
info "n$A boots again and rejoins"
ha_cluster_start "$A"
wait_until 90 "both nodes Online" ha_both_online "$B" || fail "n$A did not rejoin"
ha_wait_resynced "$A"

A=$B
B=$((3 - A))
step "3. the active node n$A loses its link (cluster and replication)"
start_client "$B"
sleep 4
ha_cut "$A"
info "n$A cut off at $(date +%T)"
wait_until 120 "db Started on n$B" ha_started_on "$B" db "n$B" || fail "no failover to n$B"
sleep 3
stop_client
check_acked "$B"
status_a=$(ha_adm "$A" status "$HA_RES" 2>&1 | tr '\n' ' ' | tr -s ' ')
info "isolated n$A: $status_a"
case $status_a in *suspended:fencing*) ;; *) fail "the isolated Primary n$A is not frozen: $status_a" ;; esac
info "power-cycling n$A (what STONITH would do), then it rejoins"
ha_node_crash "$A"
ha_cluster_start "$A"
wait_until 90 "both nodes Online" ha_both_online "$B" || fail "n$A did not rejoin"
ha_wait_resynced "$A"

step "all resources stopped: both replicas identical"
nsx "$B" crm_attribute -t crm_config -n stop-all-resources -v true
all_stopped() { ! ha_adm 1 role "$HA_RES" >/dev/null 2>&1 && ! ha_adm 2 role "$HA_RES" >/dev/null 2>&1; }
wait_until 120 "tandem stopped on both nodes" all_stopped || fail "resources did not stop"
size1=$(data_size_of "$HA_WORK/n1.img")
size2=$(data_size_of "$HA_WORK/n2.img")
[ "$size1" = "$size2" ] || fail "data sizes differ: $size1 vs $size2"
timeout 120 cmp -n "$size1" "$HA_WORK/n1.img" "$HA_WORK/n2.img" || fail "the replicas differ"
info "data regions identical ($size1 bytes); $(sort -u "$HA_WORK/acked" | wc -l) acknowledged commits in all"
echo "PASS"
