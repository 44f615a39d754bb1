# A two-node Pacemaker + Corosync cluster on one machine for tandem's HA test and `make demo`: each node is
# a network namespace (joined to the other by a veth pair) plus a persistent mount and UTS namespace, so it
# has its own hostname (n1, n2), /run, /etc/corosync, /var/lib/pacemaker, tandem run directory and device
# directory, while sharing the rest of this machine's filesystem. Requires common.sh. Sourced by bash scripts.
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

# Loop devices bound to a FUSE file of this test's resource whose daemon is gone.
ha_detach_stale_loops() {
  local dev back
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

ha_cleanup() {
  set +eu
  local n
  for n in $HA_NODES; do
    [ -e "/run/netns/$(ha_netns "$n")" ] || continue
    [ -f "$(ha_state "$n")/pacemakerd.pid" ] && ha_cluster_stop "$n" >/dev/null 2>&1 &
  done
  wait
  for n in $HA_NODES; do
    [ -e "/run/netns/$(ha_netns "$n")" ] || continue
    local pids
    pids=$(ha_node_pids "$n")
    # shellcheck disable=SC2086
    if [ -n "$pids" ]; then kill -TERM $pids 2>/dev/null; sleep 2; kill -KILL $pids 2>/dev/null; fi
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
