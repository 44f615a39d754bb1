# One two-node tandem resource for tests, the demo and the bench: config, per-node tandemadm, state queries
# and the data-region comparison. Requires common.sh and netns.sh. Sourced by bash scripts.
#
# Layout under WORK (a fresh temporary directory):
#   WORK/tandem.conf        the resource file both nodes read (each picks its `on` section with --host)
#   WORK/alpha.img, beta.img sparse backing files, internal metadata at their end
#   WORK/run-alpha, run-beta per-node run directories (--run-dir): RES.ctl, RES.pid, RES.log, RES.nbd, fuse-RES/
#   WORK/mnt-alpha, mnt-beta mount points for the filesystem on the Primary's device
# Device symlinks (config `device`): /dev/tandem-TAG$$-a on alpha, /dev/tandem-TAG$$-b on beta.
# shellcheck shell=bash

TANDEM_PORT=7789
# Set by tandem_setup (declared here so a cleanup after an early failure finds them empty, not unset).
# (Used by the sourcing scripts and through host_run/host_dev/host_mnt.)
# shellcheck disable=SC2034
WORK="" RES="" CONF="" RUN_alpha="" RUN_beta="" DISK_alpha="" DISK_beta="" DEV_alpha="" DEV_beta="" MNT_alpha="" MNT_beta=""
# Bound for one tandemadm call; wait-connect / wait-sync get their own, longer bounds.
ADM_TIMEOUT_S=${ADM_TIMEOUT_S:-60}

# tandem_setup TAG X [DISK_MIB [RES]]: WORK, network namespaces, sparse backing files and the config.
# Sets WORK RES CONF RUN_alpha RUN_beta DISK_alpha DISK_beta DEV_alpha DEV_beta MNT_alpha MNT_beta.
tandem_setup() {
  local tag=$1 x=$2 disk_mib=${3:-512}
  RES=${4:-r0}
  WORK=$(mktemp -d "/tmp/tandem-$tag.XXXXXX") || fail "mktemp"
  CONF=$WORK/tandem.conf
  local h
  for h in $NETNS_HOSTS; do
    printf -v "RUN_$h" '%s' "$WORK/run-$h"
    printf -v "DISK_$h" '%s' "$WORK/$h.img"
    printf -v "MNT_$h" '%s' "$WORK/mnt-$h"
    printf -v "DEV_$h" '%s' "/dev/tandem-$tag$$-${h:0:1}"
    mkdir -p "$WORK/mnt-$h"
    truncate -s "${disk_mib}M" "$WORK/$h.img" || fail "cannot create $WORK/$h.img"
  done
  netns_setup "$tag" "$x"
  tandem_write_config "$CONF" "tandem-test-secret-$tag"
}

# tandem_write_config FILE SECRET [PROTOCOL]: the resource file. A short keepalive (ping every 1 s, 0.5 s
# timeout, reconnect every 1 s) so that a cut link is noticed and healed within seconds.
tandem_write_config() {
  local file=$1 secret=$2 protocol=${3:-C}
  local ip_a ip_b dev_a dev_b disk_a disk_b
  ip_a=$(host_ip alpha) ip_b=$(host_ip beta) dev_a=$(host_dev alpha) dev_b=$(host_dev beta)
  disk_a=$(host_disk alpha) disk_b=$(host_disk beta)
  cat >"$file" <<CONF
# Written by ${0##*/} for a two-namespace test; see tests/system/lib/tandem.sh.
resource $RES {
    net {
        protocol      $protocol;
        cram-hmac-alg sha256;
        shared-secret "$secret";
        ping-int      1;
        ping-timeout  5;
        connect-int   1;
    }
    on alpha {
        node-id   0;
        address   $ip_a:$TANDEM_PORT;
        device    $dev_a minor 0;
        disk      $disk_a;
        meta-disk internal;
    }
    on beta {
        node-id   1;
        address   $ip_b:$TANDEM_PORT;
        device    $dev_b minor 1;
        disk      $disk_b;
        meta-disk internal;
    }
}
CONF
}

host_run() { local v="RUN_$1"; echo "${!v}"; }
host_disk() { local v="DISK_$1"; echo "${!v}"; }
host_dev() { local v="DEV_$1"; echo "${!v}"; }
host_mnt() { local v="MNT_$1"; echo "${!v}"; }
host_log() { echo "$(host_run "$1")/$RES.log"; }

# adm_with CONF HOST ARGS...: tandemadm as HOST (in its namespace, its run dir), bounded by ADM_TIMEOUT_S.
# The daemon it starts inherits the namespace, so it listens on HOST's address.
adm_with() {
  local conf=$1 h=$2
  shift 2
  on_host "$h" env PATH="$TANDEM_BUILD_DIR/userspace:$PATH" \
    timeout "$ADM_TIMEOUT_S" "$TANDEMADM" -c "$conf" --host "$h" --run-dir "$(host_run "$h")" "$@"
}
adm() { adm_with "$CONF" "$@"; }

# adm_ok HOST ARGS...: tandemadm that must succeed; on failure names the command, status and output.
adm_ok() {
  local h=$1 out rc=0
  shift
  out=$(adm "$h" "$@" 2>&1) || rc=$?
  [ "$rc" -eq 0 ] || fail "$h: tandemadm $* exited $rc: $out"
  [ -z "$out" ] || printf '%s\n' "$out"
}

# adm_expect CODE HOST ARGS...: tandemadm that must exit with CODE (e.g. 11, state change refused).
adm_expect() {
  local want=$1 h=$2 out rc=0
  shift 2
  out=$(adm "$h" "$@" 2>&1) || rc=$?
  [ "$rc" -eq "$want" ] || fail "$h: tandemadm $* exited $rc, expected $want: $out"
  info "$h: tandemadm $* refused as expected (exit $rc): $out"
}

# show_status HOST: `tandemadm status` under a small header (never fails the caller).
show_status() {
  echo "--- $1: tandemadm status $RES"
  adm "$1" status "$RES" 2>&1 | sed 's/^/    /' || true
}

# Queries; empty output when the daemon does not answer.
node_role() { adm "$1" role "$RES" 2>/dev/null; }      # "Primary/Secondary"
node_cstate() { adm "$1" cstate "$RES" 2>/dev/null; }  # "Connected", "Connecting", ...
node_dstate() { adm "$1" dstate "$RES" 2>/dev/null; }  # "UpToDate/Outdated"
status_json() { adm "$1" status "$RES" --json 2>/dev/null; }

# The first numeric / string value of KEY in the JSON on stdin (status-json is a single line; enough for the
# few top-level-unique keys the tests read: "size", "nbd-socket", "device", "out-of-sync").
json_num() { grep -o "\"$1\":[0-9.]*" | head -n1 | cut -d: -f2; }
json_str() { grep -o "\"$1\":\"[^\"]*\"" | head -n1 | cut -d'"' -f4; }

# Predicates for wait_until.
is_connected() { [ "$(node_cstate "$1")" = Connected ]; }
not_connected() { local s; s=$(node_cstate "$1"); [ -n "$s" ] && [ "$s" != Connected ]; }
local_dstate_is() { local s; s=$(node_dstate "$1"); [ "${s%%/*}" = "$2" ]; }
both_uptodate() { [ "$(node_dstate "$1")" = UpToDate/UpToDate ]; }
role_is() { local s; s=$(node_role "$1"); [ "${s%%/*}" = "$2" ]; }

# wait_connected HOST: `tandemadm wait-connect` bounded, then the state is checked independently.
wait_connected() {
  local h=$1 rc=0
  ADM_TIMEOUT_S=70 adm_with "$CONF" "$h" wait-connect "$RES" --timeout 60 || rc=$?
  [ "$rc" -eq 0 ] || fail "$h: tandemadm wait-connect $RES exited $rc"
  wait_until 10 "$h Connected" is_connected "$h" || fail "$h is not Connected after wait-connect"
}

# wait_synced HOST: `tandemadm wait-sync`, bounded (a full resync of the test disk), then UpToDate on both.
wait_synced() {
  local h=$1 rc=0
  local limit_s=${SYNC_TIMEOUT_S:-300}
  ADM_TIMEOUT_S=$((limit_s + 10)) adm_with "$CONF" "$h" wait-sync "$RES" --timeout "$limit_s" || rc=$?
  [ "$rc" -eq 0 ] || fail "$h: tandemadm wait-sync $RES exited $rc"
  wait_until 10 "$h UpToDate/UpToDate" both_uptodate "$h" ||
    fail "$h dstate is '$(node_dstate "$h")' after wait-sync, expected UpToDate/UpToDate"
}

# data_size_of FILE: the data size from the internal superblock (the last 4 KiB of FILE: magic TANDEMMD at
# 0, data_size u64 little endian at 16; docs/format.md). Independent of the daemon, so it also works when
# the node is down.
data_size_of() {
  local file=$1 total magic
  total=$(stat -c %s "$file") || return 1
  magic=$(dd if="$file" bs=1 skip=$((total / 4096 * 4096 - 4096)) count=8 status=none 2>/dev/null)
  [ "$magic" = TANDEMMD ] || { echo "no tandem superblock at the end of $file" >&2; return 1; }
  od -An -t u8 --endian=little -j $((total / 4096 * 4096 - 4096 + 16)) -N 8 "$file" | tr -d ' '
}

# compare_data_regions: the data regions of both backing files must be byte-identical (metadata differs:
# node ids). Uses the superblock's data size and, when alpha's daemon answers, checks it against "size".
compare_data_regions() {
  local size_a size_b json_size
  size_a=$(data_size_of "$DISK_alpha") || fail "cannot read alpha's data size"
  size_b=$(data_size_of "$DISK_beta") || fail "cannot read beta's data size"
  [ "$size_a" = "$size_b" ] || fail "data sizes differ: alpha $size_a, beta $size_b"
  json_size=$(status_json alpha | json_num size || true)
  if [ -n "$json_size" ] && [ "$json_size" != "$size_a" ]; then
    fail "status --json size $json_size differs from the superblock's data size $size_a"
  fi
  local out rc=0
  out=$(timeout 120 cmp -n "$size_a" "$DISK_alpha" "$DISK_beta" 2>&1) || rc=$?
  [ "$rc" -eq 0 ] || fail "data regions differ ($size_a bytes compared): $out"
  info "data regions identical ($size_a bytes)"
}

# wait_idle HOST: the Primary has nothing left to send: connected, both UpToDate, out-of-sync 0.
is_idle() {
  both_uptodate "$1" || return 1
  local oos
  oos=$(status_json "$1" | json_num out-of-sync)
  [ -z "$oos" ] || [ "$oos" = 0 ]
}
wait_idle() {
  local h=$1
  wait_until 60 "$h idle (UpToDate/UpToDate, out-of-sync 0)" is_idle "$h" ||
    fail "$h not idle: dstate '$(node_dstate "$h")'"
}

# tandem_diagnostics: both nodes' status and the end of both logs; called by the cleanup trap on failure.
tandem_diagnostics() {
  local h
  for h in $NETNS_HOSTS; do
    [ -d "$(host_run "$h" 2>/dev/null)" ] || continue
    show_status "$h"
    echo "--- $h: tail of $(host_log "$h")"
    tail -n 40 "$(host_log "$h")" 2>/dev/null | sed 's/^/    /'
  done
}
