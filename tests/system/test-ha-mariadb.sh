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
REPO=$TANDEM_SOURCE_DIR

DIAG_DONE=""
on_exit() {
  local rc=$?
  set +eu
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ -z "$DIAG_DONE" ] && [ -n "$HA_WORK" ]; then
    DIAG_DONE=1
    echo "=== diagnostics (exit status $rc)"
    for n in $HA_NODES; do
      echo "--- n$n crm_mon"; nsx "$n" crm_mon -1 2>&1 | sed 's/^/    /'
      echo "--- n$n tandem status"; ha_adm "$n" status "$HA_RES" 2>&1 | sed 's/^/    /'
      echo "--- n$n tandem log"; tail -n 40 "$(ha_state "$n")/run_tandem/$HA_RES.log" 2>/dev/null | sed 's/^/    /'
      echo "--- n$n pacemaker (tandem/fence lines)"
      grep -hE "tandem|fence" "$(ha_state "$n")"/var_log_pacemaker/pacemaker.log 2>/dev/null | tail -n 25 | sed 's/^/    /'
    done
  fi
  stop_client
  ha_cleanup
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

CLIENT_PID=""
# ---- the client: numbered commits through the VIP, each acknowledged one recorded ----
client_loop() {
  local n=$1 i=$2
  while [ ! -e "$HA_WORK/client.stop" ]; do
    if nsx "$n" timeout 5 mariadb --connect-timeout=2 -h "$HA_VIP" -uprobe -pprobe probe \
      -e "insert into t(n) values ($i)" >/dev/null 2>&1; then
      echo "$i" >>"$HA_WORK/acked"
    fi
    i=$((i + 1))
    sleep 0.05
  done
}
start_client() {
  rm -f "$HA_WORK/client.stop"
  local next
  next=$(( $(tail -n 1 "$HA_WORK/acked" 2>/dev/null || echo 0) + 1000 ))
  client_loop "$1" "$next" &
  CLIENT_PID=$!
  info "client on n$1 commits rows from $next on through $HA_VIP"
}
stop_client() {
  [ -n "$CLIENT_PID" ] || return 0
  touch "$HA_WORK/client.stop"
  timeout 15 tail --pid="$CLIENT_PID" -f /dev/null || true
  kill "$CLIENT_PID" 2>/dev/null || true
  CLIENT_PID=""
}

# check_acked N: every commit the client saw acknowledged is in the database on node N.
check_acked() {
  local n=$1 acked present missing
  nsx "$n" mariadb -N -e "select n from probe.t" >"$HA_WORK/present" || fail "cannot query the database on n$n"
  acked=$(sort -n -u "$HA_WORK/acked" | wc -l)
  present=$(wc -l <"$HA_WORK/present")
  missing=$(comm -23 <(sort -u "$HA_WORK/acked") <(sort -u "$HA_WORK/present") | head -n 5)
  [ -z "$missing" ] || fail "acknowledged commits missing on n$n (first: $(echo "$missing" | tr '\n' ' '))"
  info "all $acked acknowledged commits are on n$n ($present rows)"
}

active_node() { ha_resource_line "$1" db | grep -oE 'Started n[12]' | grep -oE '[12]$' || true; }

tandem_dstate() { ha_adm "$1" dstate "$HA_RES" 2>/dev/null; }
both_uptodate_on() { [ "$(tandem_dstate "$1")" = UpToDate/UpToDate ]; }
no_fence_constraint() { ! nsx "$1" cibadmin -Q -o constraints 2>/dev/null | grep -q "tandem-fence-by-handler"; }
has_fence_constraint() { nsx "$1" cibadmin -Q -o constraints 2>/dev/null | grep -q "tandem-fence-by-handler"; }

# wait_resynced N: node N's tandem is back, resynced, and the fencing constraint is gone.
wait_resynced() {
  local n=$1
  wait_until 180 "tandem UpToDate/UpToDate on n$n" both_uptodate_on "$n" ||
    fail "n$n: tandem dstate '$(tandem_dstate "$n")'"
  wait_until 60 "fencing constraint removed" no_fence_constraint "$n" || fail "the fencing constraint stayed"
  info "n$n: $(ha_adm "$n" status "$HA_RES" | tr '\n' ' ' | tr -s ' ')"
}

# ------------------------------------------------------------------------------------------------------
step "two cluster nodes as namespaces"
ha_setup ha 20 hadb
info "work dir $HA_WORK, n1 $(ha_ip 1), n2 $(ha_ip 2), VIP $HA_VIP"

cat >"$HA_CONF" <<CONF
# Written by ${0##*/}: MariaDB's replicated disk.
resource $HA_RES {
    net {
        protocol      C;
        fencing       resource-and-stonith;
        cram-hmac-alg sha256;
        shared-secret "ha-test-$$";
        ping-int      1;
        ping-timeout  5;
        connect-int   1;
    }
    handlers {
        fence-peer          "$REPO/tools/ha/tandem-fence-peer";
        unfence-peer        "$REPO/tools/ha/tandem-unfence-peer";
        after-resync-target "$REPO/tools/ha/tandem-unfence-peer";
    }
    on n1 {
        node-id   0;
        address   $(ha_ip 1):7789;
        device    $HA_DEV_DIR/$HA_RES minor 0;
        disk      $HA_WORK/n1.img;
        meta-disk internal;
    }
    on n2 {
        node-id   1;
        address   $(ha_ip 2):7789;
        device    $HA_DEV_DIR/$HA_RES minor 1;
        disk      $HA_WORK/n2.img;
        meta-disk internal;
    }
}
CONF
cat >"$HA_WORK/my.cnf" <<CNF
[mysqld]
user=mysql
datadir=$HA_WORK/mnt/data
socket=/run/mysqld/mysqld.sock
pid-file=/run/mysqld/mysqld.pid
log-error=$HA_WORK/mnt/log/error.log
bind-address=0.0.0.0
port=3306
skip-name-resolve
innodb_buffer_pool_size=64M
innodb_log_file_size=16M
[client]
socket=/run/mysqld/mysqld.sock
CNF

step "tandem resource: metadata, first sync skipped (both disks zero), filesystem and database on n1"
for n in $HA_NODES; do
  truncate -s 512M "$HA_WORK/n$n.img"
  ha_adm "$n" create-md "$HA_RES" >/dev/null || fail "create-md on n$n"
  ha_adm "$n" up "$HA_RES" || fail "up on n$n"
done
ha_adm 1 wait-connect "$HA_RES" --timeout 30 >/dev/null || fail "the nodes did not connect"
ha_adm 1 new-current-uuid "$HA_RES" --clear-bitmap || fail "new-current-uuid --clear-bitmap"
wait_until 20 "both UpToDate" both_uptodate_on 1 || fail "not UpToDate: $(tandem_dstate 1)"
ha_adm 1 primary "$HA_RES" || fail "primary on n1"
nsx 1 mkfs.ext4 -q -F "$HA_DEV_DIR/$HA_RES" || fail "mkfs.ext4"
nsx 1 mount "$HA_DEV_DIR/$HA_RES" "$HA_WORK/mnt" || fail "mount"
nsx 1 mkdir -p "$HA_WORK/mnt/data" "$HA_WORK/mnt/log"
nsx 1 chown mysql:mysql "$HA_WORK/mnt/data" "$HA_WORK/mnt/log"
nsx 1 mariadb-install-db --no-defaults --user=mysql --datadir="$HA_WORK/mnt/data" \
  --auth-root-authentication-method=socket --skip-test-db >"$HA_WORK/install-db.out" 2>&1 ||
  fail "mariadb-install-db: $(tail -n 5 "$HA_WORK/install-db.out")"
ha_daemon_start 1 mariadbd mariadbd --defaults-file="$HA_WORK/my.cnf"
wait_until 60 "mariadbd answers" nsx 1 mariadb-admin ping || fail "mariadbd did not start"
nsx 1 mariadb -e "create database probe; create table probe.t(n int primary key);
  create user 'probe'@'%' identified by 'probe'; grant all on probe.* to 'probe'@'%';" || fail "create database"
ha_stop_pidfile 1 mariadbd
nsx 1 umount "$HA_WORK/mnt" || fail "umount"
ha_adm 1 secondary "$HA_RES" || fail "secondary"
for n in $HA_NODES; do ha_adm "$n" down "$HA_RES" || fail "down on n$n"; done

step "Corosync + Pacemaker on both nodes, tandem as a promotable clone, the database group on the promoted one"
ha_cluster_config "tandemha$$"
for n in $HA_NODES; do ha_cluster_start "$n"; done
wait_until 90 "both nodes Online" ha_both_online 1 || fail "the cluster did not form"
HA_OCF_LINK=/usr/lib/ocf/resource.d/tandem
if [ -e "$HA_OCF_LINK" ] || [ -L "$HA_OCF_LINK" ]; then
  HA_OCF_LINK=""  # installed by someone else: use it as it is
  info "using the installed /usr/lib/ocf/resource.d/tandem"
else
  ln -s "$REPO/tools/ha/ocf" "$HA_OCF_LINK"
fi
cat >"$HA_WORK/cluster.crm" <<CRM
property stonith-enabled=false dc-deadtime=5s
rsc_defaults resource-stickiness=100
primitive tandem_$HA_RES ocf:tandem:tandem \\
  params tandem_resource=$HA_RES tandemconf=$HA_CONF tandemadm=$TANDEMADM \\
  op monitor interval=5s role=Promoted timeout=20s op monitor interval=6s role=Unpromoted timeout=20s \\
  op start timeout=60s interval=0 op stop timeout=60s interval=0 \\
  op promote timeout=110s interval=0 op demote timeout=60s interval=0 op notify timeout=30s interval=0
clone tandem_${HA_RES}_clone tandem_$HA_RES \\
  meta promotable=true promoted-max=1 promoted-node-max=1 clone-max=2 clone-node-max=1 notify=true
primitive fs ocf:heartbeat:Filesystem \\
  params device=$HA_DEV_DIR/$HA_RES directory=$HA_WORK/mnt fstype=ext4 \\
  op monitor interval=10s timeout=40s op start timeout=60s interval=0 op stop timeout=60s interval=0
primitive vip ocf:heartbeat:IPaddr2 params ip=$HA_VIP cidr_netmask=24 op monitor interval=5s
primitive db ocf:heartbeat:mysql \\
  params binary=/usr/sbin/mariadbd client_binary=/usr/bin/mariadb config=$HA_WORK/my.cnf \\
  datadir=$HA_WORK/mnt/data socket=/run/mysqld/mysqld.sock pid=/run/mysqld/mysqld.pid \\
  log=$HA_WORK/mnt/log/error.log user=mysql group=mysql \\
  op start timeout=120s interval=0 op stop timeout=120s interval=0 op monitor interval=10s timeout=30s
group gdb fs vip db
colocation gdb-with-promoted inf: gdb tandem_${HA_RES}_clone:Promoted
order promote-then-gdb Mandatory: tandem_${HA_RES}_clone:promote gdb:start
CRM
nsx 1 crm configure load update "$HA_WORK/cluster.crm" >"$HA_WORK/crm-load.out" 2>&1 ||
  fail "crm configure load: $(cat "$HA_WORK/crm-load.out")"
db_started() { [ -n "$(active_node 1)" ]; }
wait_until 180 "the database started" db_started || fail "the database did not start"
A=$(active_node 1)
B=$((3 - A))
info "database active on n$A"
nsx 1 crm_mon -1 | sed -n '/Node List/,$p' | sed 's/^/    /'
wait_resynced "$B"

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
wait_resynced "$A"

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
wait_resynced "$A"

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
wait_resynced "$A"

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
