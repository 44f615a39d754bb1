# A two-node Pacemaker + Corosync cluster on one machine for tandem's HA test and `make demo`: each node is
# a network namespace (joined to the other by a veth pair) plus a persistent mount and UTS namespace, so it
# has its own hostname (n1, n2), /run, /etc/corosync, /var/lib/pacemaker, tandem run directory and device
# directory, while sharing the rest of this machine's filesystem. With HA_HEARTBEAT=1 also a private /etc/ha.d
# and /var/lib/heartbeat (heartbeat v1). Requires common.sh. Sourced by bash scripts.
#
# Learned from ../shared/ha-lab (see docs/ha.md for the pitfalls it lists): libqb's sockets are abstract
# unix sockets, so cluster tools work only inside a node; `ip netns exec` mounts do not persist, hence the
# persistent mount namespaces; crmsh needs the node names in /etc/hosts; `nsenter --mount` resets the working
# directory, so every path here is absolute.
#
# Layout under HA_WORK (a fresh temporary directory, world-traversable for the mysql user):
#   ns/                 private bind mount holding the namespace files n1.mnt n1.uts n2.mnt n2.uts
#   n1/, n2/            per-node state: etc_corosync var_lib_corosync var_log_corosync var_lib_pacemaker
#                       var_log_pacemaker run_tandem (bound on /run/tandem) dev (bound on HA_DEV_DIR) *.pid
#   n1.img, n2.img      tandem backing files;  tandem.conf  the resource file;  my.cnf  MariaDB's
#   mnt/                mount point of the database filesystem (inside the active node's mount namespace)
# shellcheck shell=bash

HA_WORK="" HA_TAG="" HA_X="" HA_NETNS_1="" HA_NETNS_2="" HA_VETH_1="" HA_VETH_2="" HA_DEV_DIR="" HA_RES=""
HA_CONF="" HA_VIP="" HA_OCF_LINK=""
HA_NODES="1 2"

ha_ip() { echo "10.99.$HA_X.$1"; }
ha_state() { echo "$HA_WORK/n$1"; }

# ha_setup TAG X RES: names, WORK, namespaces. X picks the subnet 10.99.X.0/24; the VIP is 10.99.X.10.
ha_setup() {
  HA_TAG=$1 HA_X=$2 HA_RES=$3
  HA_WORK=$(mktemp -d "/tmp/tandem-$HA_TAG.XXXXXX") || fail "mktemp"
  chmod 755 "$HA_WORK"
  HA_NETNS_1="tandem-$HA_TAG$$-n1" HA_NETNS_2="tandem-$HA_TAG$$-n2"
  HA_VETH_1="th$$a" HA_VETH_2="th$$b"
  HA_DEV_DIR="/dev/tandem-$HA_TAG$$"
  HA_CONF=$HA_WORK/tandem.conf
  HA_VIP=$(ha_ip 10)
  mkdir -p "$HA_WORK/ns" "$HA_WORK/mnt" "$HA_DEV_DIR"
  mount --bind "$HA_WORK/ns" "$HA_WORK/ns" && mount --make-private "$HA_WORK/ns" || fail "cannot prepare $HA_WORK/ns"
  ip netns add "$HA_NETNS_1" && ip netns add "$HA_NETNS_2" || fail "cannot create network namespaces"
  ip link add "$HA_VETH_1" type veth peer name "$HA_VETH_2" || fail "cannot create the veth pair"
  local n ns veth
  for n in $HA_NODES; do
    ns=$(ha_netns "$n") veth=$(ha_veth "$n")
    ip link set "$veth" netns "$ns"
    ip -n "$ns" addr add "$(ha_ip "$n")/24" dev "$veth"
    ip -n "$ns" link set "$veth" up
    ip -n "$ns" link set lo up
  done
  printf '127.0.0.1 localhost\n%s n1\n%s n2\n' "$(ha_ip 1)" "$(ha_ip 2)" >"$HA_WORK/hosts"
  for n in $HA_NODES; do ha_make_node_namespace "$n"; done
}

ha_netns() { local v="HA_NETNS_$1"; echo "${!v}"; }
ha_veth() { local v="HA_VETH_$1"; echo "${!v}"; }

# ha_make_node_namespace N: (re)creates node N's mount + UTS namespace: a fresh "boot" of node N.
ha_make_node_namespace() {
  local n=$1 s
  s=$(ha_state "$n")
  umount "$HA_WORK/ns/n$n.mnt" 2>/dev/null || true
  umount "$HA_WORK/ns/n$n.uts" 2>/dev/null || true
  mkdir -p "$s"/{etc_corosync,var_lib_corosync,var_log_corosync,run_tandem,dev} \
    "$s"/var_lib_pacemaker/{cib,pengine,blackbox,cores} "$s/var_log_pacemaker/bundles"
  chown hacluster:haclient "$s"/var_lib_pacemaker/{cib,pengine,blackbox,cores} "$s/var_log_pacemaker" \
    "$s/var_log_pacemaker/bundles"
  chmod 750 "$s"/var_lib_pacemaker/{cib,pengine,blackbox,cores}
  chmod 770 "$s/var_log_pacemaker" "$s/var_log_pacemaker/bundles"
  if [ -n "${HA_HEARTBEAT:-}" ] && [ ! -d "$s/etc_ha.d" ]; then
    # heartbeat v1 reads /etc/ha.d (its own scripts plus ha.cf, authkeys, haresources): a private copy.
    mkdir -p "$s/var_lib_heartbeat"
    cp -a /etc/ha.d "$s/etc_ha.d"
  fi
  touch "$HA_WORK/ns/n$n.mnt" "$HA_WORK/ns/n$n.uts"
  nsenter --net="/run/netns/$(ha_netns "$n")" unshare --mount="$HA_WORK/ns/n$n.mnt" --uts="$HA_WORK/ns/n$n.uts" \
    --propagation private sh -ec "
      hostname n$n
      mount --bind '$HA_WORK/hosts' /etc/hosts
      mount --bind '$s/etc_corosync' /etc/corosync
      mount --bind '$s/var_lib_corosync' /var/lib/corosync
      mount --bind '$s/var_log_corosync' /var/log/corosync
      mount --bind '$s/var_lib_pacemaker' /var/lib/pacemaker
      mount --bind '$s/var_log_pacemaker' /var/log/pacemaker
      mount -t tmpfs -o mode=755 tmpfs /run
      mkdir -m 1777 /run/lock /run/resource-agents
      mkdir -p /run/mysqld /run/tandem && chown mysql:mysql /run/mysqld
      mount --bind '$s/run_tandem' /run/tandem
      mount --bind '$s/dev' '$HA_DEV_DIR'
      mount -t tmpfs -o mode=1777 tmpfs /dev/shm
      umount -l /sys && mount -t sysfs sysfs /sys
      if [ -n '${HA_HEARTBEAT:-}' ]; then
        mount --bind '$s/etc_ha.d' /etc/ha.d
        mount --bind '$s/var_lib_heartbeat' /var/lib/heartbeat
        mkdir -p /run/heartbeat/rsctmp
      fi
    " || fail "cannot build node n$n's mount namespace"
}

# nsx N CMD...: runs CMD inside node N (its network, mount and UTS namespaces).
nsx() {
  local n=$1
  shift
  nsenter --net="/run/netns/$(ha_netns "$n")" --mount="$HA_WORK/ns/n$n.mnt" --uts="$HA_WORK/ns/n$n.uts" -- "$@"
}

# ha_adm N ARGS...: tandemadm inside node N, bounded.
ha_adm() {
  local n=$1
  shift
  nsx "$n" timeout 130 "$TANDEMADM" -c "$HA_CONF" "$@"
}

# ---- corosync + pacemaker ----

# ha_cluster_config NAME: corosync.conf with one shared key, and a CIB pre-seeded so the first start is quick.
ha_cluster_config() {
  local name=$1 n s
  corosync-keygen -k "$HA_WORK/authkey" >/dev/null 2>&1 || fail "corosync-keygen failed"
  cat >"$HA_WORK/corosync.conf" <<EOC
totem {
    version: 2
    cluster_name: $name
    transport: knet
    crypto_cipher: aes256
    crypto_hash: sha256
    token: 1000
    join: 50
}
nodelist {
    node {
        ring0_addr: $(ha_ip 1)
        name: n1
        nodeid: 1
    }
    node {
        ring0_addr: $(ha_ip 2)
        name: n2
        nodeid: 2
    }
}
quorum {
    provider: corosync_votequorum
    two_node: 1
}
logging {
    to_logfile: yes
    logfile: /var/log/corosync/corosync.log
    to_stderr: no
    to_syslog: no
    timestamp: on
}
EOC
  for n in $HA_NODES; do
    s=$(ha_state "$n")
    install -m 644 "$HA_WORK/corosync.conf" "$s/etc_corosync/corosync.conf"
    install -m 400 "$HA_WORK/authkey" "$s/etc_corosync/authkey"
    local cib=$s/var_lib_pacemaker/cib/cib.xml
    cibadmin --empty >"$cib"
    CIB_file=$cib crm_attribute -t crm_config -n stonith-enabled -v false
    CIB_file=$cib crm_attribute -t crm_config -n dc-deadtime -v 5s
    chown hacluster:haclient "$cib"
    chmod 600 "$cib"
  done
}

# ha_daemon_start N NAME CMD...: starts a daemon in node N in its own session, pid in NAME.pid.
ha_daemon_start() {
  local n=$1 name=$2 s
  shift 2
  s=$(ha_state "$n")
  nsx "$n" setsid sh -c "echo \$\$ > '$s/$name.pid'; exec \"\$@\"" sh "$@" >"$s/$name.out" 2>&1 </dev/null &
}

ha_cluster_start() {
  local n=$1
  ha_daemon_start "$n" corosync corosync -f
  wait_until 15 "corosync on n$n" nsx "$n" corosync-cmapctl -g runtime.config.totem.token ||
    fail "corosync did not start on n$n: $(tail -n 5 "$(ha_state "$n")/corosync.out")"
  ha_daemon_start "$n" pacemakerd pacemakerd
}

# ha_stop_pidfile N NAME: TERM, bounded wait, KILL.
ha_stop_pidfile() {
  local f pid
  f="$(ha_state "$1")/$2.pid"
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" || true
    timeout 60 tail --pid="$pid" -f /dev/null || true
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

ha_cluster_stop() {
  ha_stop_pidfile "$1" pacemakerd
  ha_stop_pidfile "$1" corosync
}

ha_both_online() { nsx "$1" crm_mon -1 2>/dev/null | grep -q 'Online: \[ n1 n2 \]'; }

# Every process in node N's network namespace.
ha_node_pids() {
  local want p
  want=$(stat -L -c %i "/run/netns/$(ha_netns "$1")" 2>/dev/null) || return 0
  for p in /proc/[0-9]*; do
    [ "$(stat -L -c %i "$p/ns/net" 2>/dev/null)" = "$want" ] && echo "${p#/proc/}"
  done
  return 0
}

# ha_node_crash N: power failure of node N: SIGKILL everything in it, drop its iptables rules and its VIP,
# and "reboot" it (a fresh mount namespace and /run). Loop devices its dead daemon left are detached.
ha_node_crash() {
  local n=$1 pids
  pids=$(ha_node_pids "$n")
  # shellcheck disable=SC2086
  [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
  sleep 0.5
  rm -f "$(ha_state "$n")"/*.pid
  ip netns exec "$(ha_netns "$n")" iptables -F 2>/dev/null || true
  ip -n "$(ha_netns "$n")" addr flush dev "$(ha_veth "$n")"
  ip -n "$(ha_netns "$n")" addr add "$(ha_ip "$n")/24" dev "$(ha_veth "$n")"
  ha_make_node_namespace "$n"
  ha_detach_stale_loops
}

# Loop devices a dead daemon of this test left: those its record names (RUN_DIR/RES.loop; once the daemon's
# mount namespace is gone its FUSE file reads as "/data" only, so only the record identifies the device),
# and any still showing a FUSE file of this test's resource.
ha_detach_stale_loops() {
  local n dev back
  for n in $HA_NODES; do detach_recorded_loop "$(ha_state "$n")/run_tandem/$HA_RES.loop"; done
  losetup -l -n -O NAME,BACK-FILE 2>/dev/null | while read -r dev back; do
    case $back in */fuse-"$HA_RES"/*) timeout 10 losetup -d "$dev" 2>/dev/null || true ;; esac
  done
  return 0
}

# ha_cut N / ha_uncut N: node N drops everything on its cluster/replication link.
ha_cut() {
  nsx "$1" iptables -A INPUT -i "$(ha_veth "$1")" -j DROP &&
    nsx "$1" iptables -A OUTPUT -o "$(ha_veth "$1")" -j DROP || fail "iptables failed in n$1"
}
ha_uncut() { nsx "$1" iptables -F; }

# ha_resource_line N PRIMITIVE: its line in `crm_mon -1` seen from node N.
ha_resource_line() { nsx "$1" crm_mon -1 2>/dev/null | grep -P "^\s*\* $2\t" || true; }
# ha_started_on N PRIMITIVE NODE: the primitive is fully started on NODE (no transition in progress).
ha_started_on() { ha_resource_line "$1" "$2" | grep -Eq "Started $3( \\(Monitoring\\))?\s*$"; }

# ---- the MariaDB-on-tandem cluster (test-ha-mariadb.sh and `make demo`) ----

# Node N's view: where the database runs, tandem's disk states, the fencing constraint.
active_node() { ha_resource_line "$1" db | grep -oE 'Started n[12]' | grep -oE '[12]$' || true; }

tandem_dstate() { ha_adm "$1" dstate "$HA_RES" 2>/dev/null; }
both_uptodate_on() { [ "$(tandem_dstate "$1")" = UpToDate/UpToDate ]; }
no_fence_constraint() { ! nsx "$1" cibadmin -Q -o constraints 2>/dev/null | grep -q "tandem-fence-by-handler"; }
has_fence_constraint() { nsx "$1" cibadmin -Q -o constraints 2>/dev/null | grep -q "tandem-fence-by-handler"; }


# ha_write_configs SECRET: the tandem resource file (protocol C, fencing resource-and-stonith with tandem's
# Pacemaker handlers) and MariaDB's my.cnf. Needs TANDEM_SOURCE_DIR (tandem_binaries).
ha_write_configs() {
  local secret=$1
  cat >"$HA_CONF" <<CONF
# Written by ${0##*/}: MariaDB's replicated disk.
resource $HA_RES {
    net {
        protocol      C;
        fencing       resource-and-stonith;
        cram-hmac-alg sha256;
        shared-secret "$secret";
        ping-int      1;
        ping-timeout  5;
        connect-int   1;
    }
    handlers {
        fence-peer          "$TANDEM_SOURCE_DIR/tools/ha/tandem-fence-peer";
        unfence-peer        "$TANDEM_SOURCE_DIR/tools/ha/tandem-unfence-peer";
        after-resync-target "$TANDEM_SOURCE_DIR/tools/ha/tandem-unfence-peer";
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
}

# ha_new_resource SIZE: zeroed backing files of SIZE, metadata and `up` on both nodes, connected, the initial
# sync skipped (both backing files are zero); n1 is left Primary.
ha_new_resource() {
  local n
  for n in $HA_NODES; do
    truncate -s "$1" "$HA_WORK/n$n.img"
    ha_adm "$n" create-md "$HA_RES" >/dev/null || fail "create-md on n$n"
    ha_adm "$n" up "$HA_RES" || fail "up on n$n"
  done
  ha_adm 1 wait-connect "$HA_RES" --timeout 30 >/dev/null || fail "the nodes did not connect"
  ha_adm 1 new-current-uuid "$HA_RES" --clear-bitmap || fail "new-current-uuid --clear-bitmap"
  wait_until 20 "both UpToDate" both_uptodate_on 1 || fail "not UpToDate: $(tandem_dstate 1)"
  ha_adm 1 primary "$HA_RES" || fail "primary on n1"
}

# ha_wait_resynced N: node N's tandem is back, resynced, and the fencing constraint is gone.
ha_wait_resynced() {
  local n=$1
  wait_until 180 "tandem UpToDate/UpToDate on n$n" both_uptodate_on "$n" ||
    fail "n$n: tandem dstate '$(tandem_dstate "$n")'"
  wait_until 60 "fencing constraint removed" no_fence_constraint "$n" || fail "the fencing constraint stayed"
  info "n$n: $(ha_adm "$n" status "$HA_RES" | tr '\n' ' ' | tr -s ' ')"
}

# ha_diagnostics: what a failed cluster test shows of each node (crm_mon, fencing history, tandem status and
# log, pacemaker's tandem and fence lines).
ha_diagnostics() {
  local n
  [ -s "$HA_WORK/pdu/log" ] && { echo "--- power switch log"; sed 's/^/    /' "$HA_WORK/pdu/log"; }
  for n in $HA_NODES; do
    echo "--- n$n crm_mon"; nsx "$n" crm_mon -1 2>&1 | sed 's/^/    /'
    echo "--- n$n fencing history"; nsx "$n" stonith_admin --history '*' 2>&1 | sed 's/^/    /'
    echo "--- n$n tandem status"; ha_adm "$n" status "$HA_RES" 2>&1 | sed 's/^/    /'
    echo "--- n$n tandem log"; tail -n 40 "$(ha_state "$n")/run_tandem/$HA_RES.log" 2>/dev/null | sed 's/^/    /'
    echo "--- n$n pacemaker (tandem/fence lines)"
    grep -hE "tandem|fence" "$(ha_state "$n")"/var_log_pacemaker/pacemaker.log 2>/dev/null | tail -n 25 | sed 's/^/    /'
  done
}

# ha_prepare_database: metadata on both nodes, the initial sync skipped (both backing files are zero),
# ext4 and an empty MariaDB with database `probe` (table t, user probe/probe) created on n1; then both
# daemons are stopped again, for the cluster to start.
ha_prepare_database() {
  local n
  ha_new_resource 512M
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
}

# ha_start_cluster NAME: Corosync + Pacemaker on both nodes, then the resources: tandem as a promotable
# clone (ocf:tandem:tandem from the source tree), and Filesystem + IPaddr2 + mysql colocated with the
# promoted instance and started after promotion.
ha_start_cluster() {
  local name=$1
  ha_cluster_up "$name"
  {
    echo "property stonith-enabled=false dc-deadtime=5s"
    ha_tandem_clone_crm
    cat <<CRM
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
  } >"$HA_WORK/cluster.crm"
  ha_load_crm "$HA_WORK/cluster.crm"
}

# ha_cluster_up NAME: Corosync + Pacemaker on both nodes, and ocf:tandem:tandem from the source tree.
ha_cluster_up() {
  ha_cluster_config "$1"
  for n in $HA_NODES; do ha_cluster_start "$n"; done
  wait_until 90 "both nodes Online" ha_both_online 1 || fail "the cluster did not form"
  HA_OCF_LINK=/usr/lib/ocf/resource.d/tandem
  if [ -e "$HA_OCF_LINK" ] || [ -L "$HA_OCF_LINK" ]; then
    HA_OCF_LINK=""  # installed by someone else: use it as it is
    info "using the installed /usr/lib/ocf/resource.d/tandem"
  else
    ln -s "$TANDEM_SOURCE_DIR/tools/ha/ocf" "$HA_OCF_LINK"
  fi
}

# The tandem resource as a promotable clone, in crm syntax (on stdout).
ha_tandem_clone_crm() {
  cat <<CRM
rsc_defaults resource-stickiness=100
primitive tandem_$HA_RES ocf:tandem:tandem \\
  params tandem_resource=$HA_RES tandemconf=$HA_CONF tandemadm=$TANDEMADM \\
  op monitor interval=5s role=Promoted timeout=20s op monitor interval=6s role=Unpromoted timeout=20s \\
  op start timeout=60s interval=0 op stop timeout=60s interval=0 \\
  op promote timeout=110s interval=0 op demote timeout=60s interval=0 op notify timeout=30s interval=0
clone tandem_${HA_RES}_clone tandem_$HA_RES \\
  meta promotable=true promoted-max=1 promoted-node-max=1 clone-max=2 clone-node-max=1 notify=true
CRM
}

ha_load_crm() {
  nsx 1 crm configure load update "$1" >"$HA_WORK/crm-load.out" 2>&1 ||
    fail "crm configure load: $(cat "$HA_WORK/crm-load.out")"
}

# The lab's power switch for STONITH: fence agent stonith:fence_tandemlab (tests/system/lib/fence_tandemlab,
# linked into /usr/sbin for the run) writes requests into HA_WORK/pdu/; ha_pdu_serve, in the background of
# the test, powers the node off (ha_node_crash) and answers. A request whose agent died meanwhile (its node
# was powered off first) is dropped, as a command never sent. Every action is logged in HA_WORK/pdu/log.
HA_FENCE_LINK="" HA_PDU_PID=""
ha_pdu_start() {
  mkdir -p "$HA_WORK/pdu"
  : >"$HA_WORK/pdu/log"
  HA_FENCE_LINK=/usr/sbin/fence_tandemlab
  if [ -e "$HA_FENCE_LINK" ] || [ -L "$HA_FENCE_LINK" ]; then
    HA_FENCE_LINK=""  # installed by someone else (another lab test): use it as it is
  else
    ln -s "$TANDEM_SOURCE_DIR/tests/system/lib/fence_tandemlab" "$HA_FENCE_LINK"
  fi
  ha_pdu_serve &
  HA_PDU_PID=$!
}
ha_pdu_serve() {
  local req base n pid
  set +e
  while [ ! -e "$HA_WORK/pdu/stop" ]; do
    for req in "$HA_WORK"/pdu/req.n[12].*; do
      case $req in *'*'* | *.tmp | *.done) continue ;; esac
      base=${req##*/}
      n=${base#req.n}
      n=${n%%.*}
      pid=${base##*.}
      if kill -0 "$pid" 2>/dev/null; then
        echo "$(date +%T) off n$n (agent $pid)" >>"$HA_WORK/pdu/log"
        ha_node_crash "$n" >/dev/null 2>&1
        touch "$HA_WORK/pdu/off.n$n" "$req.done"
      else
        echo "$(date +%T) dropped a request for n$n: its agent $pid is gone" >>"$HA_WORK/pdu/log"
      fi
      rm -f "$req"
    done
    sleep 0.2
  done
}
# ha_pdu_fenced N: how many times the switch powered node N off.
ha_pdu_fenced() { grep -c " off n$1 " "$HA_WORK/pdu/log" 2>/dev/null || true; }
ha_pdu_stop() {
  [ -n "$HA_PDU_PID" ] || return 0
  touch "$HA_WORK/pdu/stop"
  timeout 10 tail --pid="$HA_PDU_PID" -f /dev/null || kill "$HA_PDU_PID" 2>/dev/null
  HA_PDU_PID=""
  [ -n "$HA_FENCE_LINK" ] && [ -L "$HA_FENCE_LINK" ] && rm -f "$HA_FENCE_LINK"
  HA_FENCE_LINK=""
}

CLIENT_PID=""
# The client: numbered commits through the VIP from one node, each acknowledged one recorded in
# HA_WORK/acked.
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


ha_cleanup() {
  set +eu
  local n
  ha_pdu_stop
  for n in $HA_NODES; do
    [ -e "/run/netns/$(ha_netns "$n")" ] || continue
    [ -f "$(ha_state "$n")/pacemakerd.pid" ] && ha_cluster_stop "$n" >/dev/null 2>&1 &
  done
  wait
  # Everything left in the nodes (also children a dying daemon spawned meanwhile): TERM, then KILL, bounded.
  local round pids
  for round in 1 2 3; do
    for n in $HA_NODES; do
      [ -e "/run/netns/$(ha_netns "$n")" ] || continue
      pids=$(ha_node_pids "$n")
      [ -n "$pids" ] || continue
      # shellcheck disable=SC2086
      if [ "$round" = 1 ]; then kill -TERM $pids 2>/dev/null; sleep 2; fi
      # shellcheck disable=SC2086
      kill -KILL $pids 2>/dev/null
    done
    sleep 0.5
  done
  sleep 0.5
  for n in $HA_NODES; do
    umount "$HA_WORK/ns/n$n.mnt" 2>/dev/null
    umount "$HA_WORK/ns/n$n.uts" 2>/dev/null
  done
  ha_detach_stale_loops
  # FUSE mounts of dead daemons lived in node mount namespaces, gone with them.
  [ -n "$HA_WORK" ] && umount "$HA_WORK/ns" 2>/dev/null
  for n in $HA_NODES; do ip netns del "$(ha_netns "$n")" 2>/dev/null; done
  [ -n "$HA_DEV_DIR" ] && rmdir "$HA_DEV_DIR" 2>/dev/null
  [ -n "$HA_OCF_LINK" ] && [ -L "$HA_OCF_LINK" ] && rm -f "$HA_OCF_LINK"
  if [ -n "$HA_WORK" ] && [ -d "$HA_WORK" ]; then
    if grep -q " $HA_WORK/" /proc/mounts; then
      echo "cleanup: leaving $HA_WORK (still mounted below it)" >&2
    else
      rm -rf "$HA_WORK"
    fi
  fi
}
