# Two test "hosts", alpha and beta, as network namespaces joined by a veth pair:
#
#   netns NS_alpha: lo, VETH_alpha 10.99.X.1/24  <---- veth ---->  netns NS_beta: lo, VETH_beta 10.99.X.2/24
#
# X is chosen per test so concurrent tests never share a subnet; names carry the test tag and $$ so two runs
# never share a namespace or interface. Nothing here sends traffic anywhere but between these two addresses.
#
# Commands run in a host with `nsenter --net` only (not `ip netns exec`): that keeps the mount namespace
# shared, so the daemon's FUSE mount, its loop device and filesystems mounted on it are visible to the test.
# Requires common.sh. Sourced by bash scripts.
# shellcheck shell=bash

NETNS_HOSTS="alpha beta"
NETNS_CREATED=""
NS_alpha="" NS_beta="" VETH_alpha="" VETH_beta="" IP_alpha="" IP_beta=""

# netns_setup TAG X: TAG is a short test tag (letters/digits, at most 4 characters), X in 1..254 the subnet.
# Sets NS_alpha/NS_beta (namespace names), VETH_alpha/VETH_beta (interface names, < IFNAMSIZ),
# IP_alpha/IP_beta.
netns_setup() {
  local tag=$1 x=$2
  [ "${#tag}" -le 4 ] || fail "netns_setup: tag '$tag' longer than 4 characters"
  # "t" + tag (<= 4) + pid (<= 7 digits, pid_max 4194304) + side letter: at most 13 characters < IFNAMSIZ 16.
  NS_alpha="tandem-$tag-$$-alpha"
  NS_beta="tandem-$tag-$$-beta"
  VETH_alpha="t$tag$$a"
  VETH_beta="t$tag$$b"
  IP_alpha="10.99.$x.1"
  IP_beta="10.99.$x.2"

  ip netns add "$NS_alpha" || fail "ip netns add $NS_alpha"
  NETNS_CREATED="$NS_alpha"
  ip netns add "$NS_beta" || fail "ip netns add $NS_beta"
  NETNS_CREATED="$NETNS_CREATED $NS_beta"
  # Create the pair inside alpha's namespace, then move one end: it never exists in the host namespace
  # under a name that could clash.
  on_host alpha ip link add "$VETH_alpha" type veth peer name "$VETH_beta" || fail "cannot create veth pair"
  on_host alpha ip link set "$VETH_beta" netns "$NS_beta" || fail "cannot move $VETH_beta to $NS_beta"
  local h
  for h in $NETNS_HOSTS; do
    local dev ip
    dev=$(host_veth "$h")
    ip=$(host_ip "$h")
    on_host "$h" ip link set lo up || fail "lo up in $h"
    on_host "$h" ip addr add "$ip/24" dev "$dev" || fail "address $ip on $dev"
    on_host "$h" ip link set "$dev" up || fail "link up $dev"
  done
  # The link is up once each side can reach the other.
  wait_until 10 "veth link between $IP_alpha and $IP_beta" host_reaches alpha ||
    fail "no connectivity across the veth pair"
}

host_ns() { case $1 in alpha) echo "$NS_alpha" ;; beta) echo "$NS_beta" ;; *) fail "unknown host '$1'" ;; esac; }
host_veth() { case $1 in alpha) echo "$VETH_alpha" ;; beta) echo "$VETH_beta" ;; *) fail "unknown host '$1'" ;; esac; }
host_ip() { case $1 in alpha) echo "$IP_alpha" ;; beta) echo "$IP_beta" ;; *) fail "unknown host '$1'" ;; esac; }
peer_host() { case $1 in alpha) echo beta ;; beta) echo alpha ;; *) fail "unknown host '$1'" ;; esac; }

# on_host HOST COMMAND...: runs COMMAND (a program, not a shell function) in HOST's network namespace.
on_host() {
  local ns
  ns=$(host_ns "$1")
  shift
  nsenter --net="/run/netns/$ns" -- "$@"
}

# host_reaches HOST: true when HOST's peer answers a TCP connect to port 9 (discard) on its address, with
# "connection refused" (nothing listens there) or an accept. A timeout means unreachable. Avoids needing
# ping(8), which Debian does not install by default.
host_reaches() {
  local peer_ip out
  peer_ip=$(host_ip "$(peer_host "$1")")
  out=$(on_host "$1" timeout 2 bash -c "exec 3<>/dev/tcp/$peer_ip/9" 2>&1) && return 0
  case $out in *refused*) return 0 ;; *) return 1 ;; esac
}

# link_cut [HOST]: takes the veth end of HOST (default alpha) down; both sides lose carrier, and TCP
# connections across it see nothing at all (no RST), as with a pulled cable. Only keepalives notice.
link_cut() {
  local h=${1:-alpha}
  on_host "$h" ip link set "$(host_veth "$h")" down || fail "cannot take $(host_veth "$h") down"
}

# link_restore [HOST]: brings HOST's veth end back up and waits (bounded) until the peer answers again.
link_restore() {
  local h=${1:-alpha}
  on_host "$h" ip link set "$(host_veth "$h")" up || fail "cannot bring $(host_veth "$h") up"
  wait_until 15 "veth link back up" host_reaches "$h" ||
    fail "link did not come back"
}

# link_drop HOST / link_undrop HOST: the same partition with the link up, by dropping the peer's packets in
# HOST's namespace (iptables rules live in the namespace and vanish with it).
link_drop() {
  local h=$1 peer_ip
  peer_ip=$(host_ip "$(peer_host "$h")")
  on_host "$h" iptables -w 5 -I INPUT -s "$peer_ip" -j DROP || fail "iptables DROP in $h"
  on_host "$h" iptables -w 5 -I OUTPUT -d "$peer_ip" -j DROP || fail "iptables DROP in $h"
}
link_undrop() {
  local h=$1 peer_ip
  peer_ip=$(host_ip "$(peer_host "$h")")
  on_host "$h" iptables -w 5 -D INPUT -s "$peer_ip" -j DROP || fail "iptables -D in $h"
  on_host "$h" iptables -w 5 -D OUTPUT -d "$peer_ip" -j DROP || fail "iptables -D in $h"
}

# netns_teardown: deletes the namespaces this script created (the veth pair goes with them). Idempotent.
netns_teardown() {
  local ns
  for ns in $NETNS_CREATED; do
    [ -e "/run/netns/$ns" ] && ip netns del "$ns" 2>/dev/null
  done
  NETNS_CREATED=""
  return 0
}
