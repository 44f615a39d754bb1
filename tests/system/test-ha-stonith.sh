#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# STONITH with tandem's fence-peer handler, for real: Pacemaker + Corosync on two namespace nodes with
# stonith-enabled=true and a fence device per node (stonith:fence_tandemlab, the lab's power switch: the test
# kills the node the cluster asks to power off; tests/system/lib/ha.sh). tandem runs as a promotable clone
# with `fencing resource-and-stonith` and tandem-fence-peer; a filesystem follows the Primary, and a writer
# on the active node appends numbered lines with fsync, recording each one acknowledged.
#   1. the passive node loses power   -> the Primary's writes freeze: its fence-peer handler cannot tell a
#      dead peer from a cut-off one, so it waits for the cluster to fence the peer (the STONITH branch of
#      tandem-fence-peer, exit 7), then the writes go on; the node boots, rejoins, resyncs
#   2. the active node is cut off     -> both nodes ask to fence the other; the device that fences the
#      passive side waits 10 s (pcmk_delay_base), so the isolated node is powered off first; the other node
#      is promoted and mounts the filesystem with every acknowledged line; the node boots, resyncs
# At the end, with every resource stopped, both backing files' data regions are byte-identical.
set -euo pipefail

LIB=$(cd "$(dirname "$0")/lib" && pwd)
TS_NAME=ha-stonith
# shellcheck source=lib/common.sh
. "$LIB/common.sh"
# shellcheck source=lib/ha.sh
. "$LIB/ha.sh"
# shellcheck source=lib/tandem.sh
. "$LIB/tandem.sh"

require_root
require_fuse_loop
require_netns
require_tools corosync pacemakerd crm crm_mon crm_attribute cibadmin corosync-keygen iptables xmllint mkfs.ext4
[ -x /usr/lib/ocf/resource.d/heartbeat/Filesystem ] || skip "resource-agents (ocf:heartbeat:Filesystem) not installed"
[ -d /usr/sbin ] || skip "no /usr/sbin for the lab's fence agent"
tandem_binaries

WRITER_PID=""
DIAG_DONE=""
on_exit() {
  local rc=$?
  set +eu
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ -z "$DIAG_DONE" ] && [ -n "$HA_WORK" ]; then
    DIAG_DONE=1
    echo "=== diagnostics (exit status $rc)"
    ha_diagnostics
  fi
  stop_writer
  ha_cleanup
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The writer: numbered lines appended to a file on the replicated filesystem of node N, each fsync'd
# (`sync FILE`) before it counts as acknowledged (printed to HA_WORK/acked, outside the replicated disk).
start_writer() {
  local n=$1 first
  first=$(( $(tail -n 1 "$HA_WORK/acked" 2>/dev/null || echo 0) + 1000 ))
  nsx "$n" sh -c "i=$first; while :; do echo \$i >> '$HA_WORK/mnt/lines' && sync '$HA_WORK/mnt/lines' || exit 1;
    echo \$i; i=\$((i + 1)); sleep 0.02; done" >>"$HA_WORK/acked" 2>/dev/null &
  WRITER_PID=$!
  info "writer on n$n appends lines from $first on"
}
stop_writer() {
  [ -n "$WRITER_PID" ] || return 0
  kill "$WRITER_PID" 2>/dev/null || true
  # The shell inside the node is a child of nsenter: end it too (it may be stuck in a frozen write).
  pkill -f "echo \\\$i >> '$HA_WORK/mnt/lines'" 2>/dev/null || true
  timeout 10 tail --pid="$WRITER_PID" -f /dev/null || true
  WRITER_PID=""
}
acked_count() { wc -l <"$HA_WORK/acked" 2>/dev/null || echo 0; }
acked_at_least() { [ "$(acked_count)" -ge "$1" ]; }
fenced_at_least() { [ "$(ha_pdu_fenced "$1")" -ge "$2" ]; }
# check_acked N: every acknowledged line is in the file on node N's filesystem.
check_acked() {
  local n=$1 missing
  missing=$(comm -23 <(sort -u "$HA_WORK/acked") <(nsx "$n" cat "$HA_WORK/mnt/lines" | sort -u) | head -n 5)
  [ -z "$missing" ] || fail "acknowledged lines missing on n$n (first: $(echo "$missing" | tr '\n' ' '))"
  info "all $(acked_count) acknowledged lines are on n$n"
}
fs_on() { ha_started_on "$1" fs "n$1"; }
active_fs_node() { ha_resource_line 1 fs | grep -oE 'Started n[12]' | grep -oE '[12]$' || true; }
frozen() { ha_adm "$1" status "$HA_RES" 2>/dev/null | grep -q "suspended:fencing"; }
# boot N: the node's power comes back; its cluster stack starts and it rejoins.
boot() {
  rm -f "$HA_WORK/pdu/off.n$1"
  ha_cluster_start "$1"
  wait_until 90 "both nodes Online" ha_both_online "$1" || fail "n$1 did not rejoin"
}

# ------------------------------------------------------------------------------------------------------
step "two cluster nodes as namespaces, a tandem resource with a filesystem"
ha_setup stn 26 stdisk
ha_write_configs "stonith-test-$$"
ha_new_resource 256M
nsx 1 mkfs.ext4 -q -F "$HA_DEV_DIR/$HA_RES" || fail "mkfs.ext4"
ha_adm 1 secondary "$HA_RES" || fail "secondary"
for n in $HA_NODES; do ha_adm "$n" down "$HA_RES" || fail "down on n$n"; done

step "Pacemaker with STONITH: a lab fence device per node, tandem promotable, the filesystem on the Primary"
ha_pdu_start
ha_cluster_up "tandemst$$"
{
  echo "property stonith-enabled=true stonith-timeout=60s dc-deadtime=5s"
  ha_tandem_clone_crm
  cat <<CRM
primitive fence_n1 stonith:fence_tandemlab params lab_dir=$HA_WORK pcmk_host_list=n1 op monitor interval=60s
primitive fence_n2 stonith:fence_tandemlab params lab_dir=$HA_WORK pcmk_host_list=n2 pcmk_delay_base=10s \\
  op monitor interval=60s
primitive fs ocf:heartbeat:Filesystem \\
  params device=$HA_DEV_DIR/$HA_RES directory=$HA_WORK/mnt fstype=ext4 \\
  op monitor interval=10s timeout=40s op start timeout=60s interval=0 op stop timeout=60s interval=0
colocation fs-with-promoted inf: fs tandem_${HA_RES}_clone:Promoted
order promote-then-fs Mandatory: tandem_${HA_RES}_clone:promote fs:start
location fs-prefers-n1 fs 50: n1
CRM
} >"$HA_WORK/cluster.crm"
ha_load_crm "$HA_WORK/cluster.crm"
wait_until 180 "the filesystem started on n1" fs_on 1 || fail "the filesystem did not start on n1"
ha_wait_resynced 2

step "1. the passive node n2 loses power: the Primary freezes until the cluster has fenced n2"
start_writer 1
wait_until 30 "lines acknowledged" acked_at_least 20 || fail "the writer does not write"
ha_node_crash 2
info "n2 powered off at $(date +%T) with $(acked_count) lines acknowledged"
# fence_n2 waits 10 s before it powers anything off, so the freeze is long enough to be seen.
wait_until 30 "n1's writes frozen (suspended:fencing)" frozen 1 || fail "n1 did not freeze its writes"
info "n1 froze its writes at $(date +%T) with $(acked_count) lines acknowledged"
wait_until 60 "the switch fenced n2 for the cluster" fenced_at_least 2 1 ||
  fail "the cluster did not fence n2"
before=$(acked_count)
wait_until 90 "writes go on after the fencing" acked_at_least $((before + 20)) ||
  fail "the Primary's writes did not resume after n2 was fenced: $(ha_adm 1 status "$HA_RES" | tr '\n' ' ')"
frozen 1 && fail "n1 still shows suspended:fencing"
grep -q "peer n2 was fenced" "$(ha_state 1)/run_tandem/$HA_RES.log" 2>/dev/null ||
  info "(the handler's 'peer n2 was fenced' line is not in the daemon log; checking the constraint instead)"
has_fence_constraint 1 || fail "no fencing constraint while n2 is away"
info "n1: $(ha_adm 1 status "$HA_RES" | tr '\n' ' ' | tr -s ' ')"
boot 2
ha_wait_resynced 1
stop_writer
check_acked 1

step "2. the active node n1 is cut off: it is fenced first, n2 takes over with every acknowledged line"
before=$(acked_count)
start_writer 1
wait_until 30 "lines acknowledged" acked_at_least $((before + 20)) || fail "the writer does not write"
ha_cut 1
info "n1 cut off at $(date +%T)"
wait_until 120 "the filesystem started on n2" fs_on 2 || fail "no failover to n2"
stop_writer
[ "$(ha_pdu_fenced 1)" -ge 1 ] || fail "n1 was not fenced"
[ "$(ha_pdu_fenced 2)" -eq 1 ] || fail "n2 was fenced too: $(cat "$HA_WORK/pdu/log")"
check_acked 2
info "n2: $(ha_adm 2 status "$HA_RES" | tr '\n' ' ' | tr -s ' ')"
boot 1
ha_wait_resynced 2

step "all resources stopped: both replicas identical"
nsx 2 crm_attribute -t crm_config -n stop-all-resources -v true
all_stopped() { ! ha_adm 1 role "$HA_RES" >/dev/null 2>&1 && ! ha_adm 2 role "$HA_RES" >/dev/null 2>&1; }
wait_until 120 "tandem stopped on both nodes" all_stopped || fail "resources did not stop"
size1=$(data_size_of "$HA_WORK/n1.img")
size2=$(data_size_of "$HA_WORK/n2.img")
[ "$size1" = "$size2" ] || fail "data sizes differ: $size1 vs $size2"
timeout 120 cmp -n "$size1" "$HA_WORK/n1.img" "$HA_WORK/n2.img" || fail "the replicas differ"
info "data regions identical; $(acked_count) acknowledged lines in all; switch log: $(tr '\n' ';' <"$HA_WORK/pdu/log")"
echo "PASS"
