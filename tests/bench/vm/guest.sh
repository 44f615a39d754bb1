#!/bin/bash
# Guest side of `make bench-vm` (tests/bench/vm/bench-vm.sh boots two guests and runs this in both):
#   guest.sh 1|2
# Node 1 drives: for each configuration in CONFIGS it sets up its side, waits for node 2's side, measures
# with fio and tears down. Node 2 serves the peer half of the configurations that have one. The two talk
# only through files in RUN (a host folder shared read-write with both guests) and over their private link
# (192.168.77.1 and .2 on the virtio NIC, nothing else on it).
#
# Environment (set by bench-vm.sh): RUN, TANDEM_BUILD_DIR, CONFIGS, RUNTIME (s per fio job), RAMP (s),
# DISK_MIB (backing store per node), MTU, SYNC (full: a real initial sync before measuring; skip: the
# zero-filled disks are declared identical), DRBD_NET / DRBD_DISK (the option text used by DRBD and tandem).
#
# Per configuration node 1 writes RUN/result-CFG-JOB.terse (fio terse v3), RUN/CFG.sync (seconds of the
# initial sync), RUN/CFG.device and, when a step fails, RUN/CFG.failed with the reason.
set -uo pipefail

ME=${1:?usage: guest.sh 1|2}
PEER=$((3 - ME))
RUN=${RUN:?}
CONFIGS=${CONFIGS:-bare drbd tandem-ublk tandem-nbd md-raid1 drbd-alone tandem-alone bare-again}
RUNTIME=${RUNTIME:-15}
RAMP=${RAMP:-2}
DISK_MIB=${DISK_MIB:-256}
MTU=${MTU:-9000}
SYNC=${SYNC:-full}
DRBD_NET=${DRBD_NET:-protocol C; max-buffers 8000; max-epoch-size 8000; sndbuf-size 0; rcvbuf-size 0;}
DRBD_DISK=${DRBD_DISK:-c-plan-ahead 0; resync-rate 1000M;}
JOBS="seq-1m-qd8 rand-4k-qd32 rand-4k-qd1"
ADDR1=192.168.77.1 ADDR2=192.168.77.2
MY_ADDR=192.168.77.$ME
NBD_PORT=10809
MD_NBD=/dev/nbd15          # the md leg's client device; tandem's kernel-nbd frontend takes the first free one
TANDEMADM=$TANDEM_BUILD_DIR/tools/tandemadm
TCONF=/etc/tandem-bench.conf
TRUN=/run/tandem
DISK_FILE=/tmp/disk.img   # /tmp is a tmpfs in the guest
LOG=$RUN/node$ME.log

log() { echo "[$(date +%T) node$ME] $*" | tee -a "$LOG"; }
# wait_for SECONDS WHAT COMMAND...: polls COMMAND every 0.5 s; false when SECONDS pass first.
wait_for() {
  local limit=$1 what=$2 i
  shift 2
  for ((i = 0; i < limit * 2; i++)); do
    "$@" && return 0
    sleep 0.5
  done
  log "gave up after ${limit}s waiting for $what"
  return 1
}
have() { [ -e "$1" ]; }
signal() { touch "$RUN/$1"; }
# Node 1's marker that a configuration failed: the reason is kept, the run goes on with the next one.
failed() {
  log "FAILED ($CFG): $*"
  echo "$*" >"$RUN/$CFG.failed"
  return 1
}

# --- backing store: a loop device over a fully allocated file in the guest's tmpfs, fresh per configuration
# (fallocate allocates every page, so no configuration pays for first-touch allocation and the contents are
# zeros on both nodes).
disk_up() {
  rm -f "$DISK_FILE"
  fallocate -l "${DISK_MIB}M" "$DISK_FILE" || return 1
  losetup /dev/loop0 "$DISK_FILE"
}
disk_down() {
  losetup -d /dev/loop0 2>/dev/null
  rm -f "$DISK_FILE"
}

# --- fio: the same three jobs as `make bench`, on a kernel block device of the guest.
fio_args() {
  case $1 in
    seq-1m-qd8) echo "--rw=write --bs=1M --iodepth=8" ;;
    rand-4k-qd32) echo "--rw=randwrite --bs=4k --iodepth=32 --randrepeat=0" ;;
    rand-4k-qd1) echo "--rw=randwrite --bs=4k --iodepth=1 --randrepeat=0" ;;
  esac
}
# --- how busy each guest's one vCPU is during a job: node 1 reads /proc/stat around fio; node 2 samples it
# every second while node 1's marker RUN/CFG.JOB.on exists. Written as RUN/result-CFG-JOB.busyN (percent).
# A vCPU near 100% means the configuration is CPU-bound in the emulated guest; well below, it waits (on the
# link, the peer or a timer).
cpu_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat; }
busy_percent() {   # busy_percent "BUSY0 IDLE0" "BUSY1 IDLE1"
  awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); d = y[1] - x[1]; t = d + y[2] - x[2];
    if (t > 0) printf "%.0f\n", 100 * d / t; else print "-" }'
}
peer_sampler() {
  local prev cur job
  prev=$(cpu_ticks)
  while sleep 1; do
    cur=$(cpu_ticks)
    for job in $JOBS; do
      [ ! -e "$RUN/$CFG.$job.on" ] || echo "$prev $cur" >>"/tmp/ticks-$CFG-$job"
    done
    prev=$cur
  done
}
peer_sampler_stop() {
  local job
  [ -z "${SAMPLER_PID:-}" ] || kill "$SAMPLER_PID" 2>/dev/null
  SAMPLER_PID=""
  for job in $JOBS; do
    [ -s "/tmp/ticks-$CFG-$job" ] || continue
    awk '{ b += $3 - $1; i += $4 - $2 } END { if (b + i > 0) printf "%.0f\n", 100 * b / (b + i) }' \
      "/tmp/ticks-$CFG-$job" >"$RUN/result-$CFG-$job.busy2"
    rm -f "/tmp/ticks-$CFG-$job"
  done
}

# TCP segments node 1 retransmitted and its retransmission timeouts so far (a stalled link shows here).
tcp_losses() { nstat -az TcpRetransSegs TcpExtTCPTimeouts 2>/dev/null | awk '/^Tcp/ { v[$1] = $2 } END { print v["TcpRetransSegs"] + 0, v["TcpExtTCPTimeouts"] + 0 }'; }

run_fio() {
  local dev=$1 job out t0 r0 r1
  echo "$dev" >"$RUN/$CFG.device"
  for job in $JOBS; do
    out=$RUN/result-$CFG-$job.terse
    touch "$RUN/$CFG.$job.on"
    t0=$(cpu_ticks)
    r0=$(tcp_losses)
    # The replication connection's TCP state in the middle of the job (cwnd, rtt, buffers), for the logs.
    (sleep $((RAMP + RUNTIME / 2)) && ss -tmi state established >"$RUN/$CFG-$job.ss") &
    # shellcheck disable=SC2046  # fio_args is a list of options.
    timeout $((RUNTIME * 3 + RAMP + 60)) fio --name="$job" --filename="$dev" $(fio_args "$job") \
      --ioengine=libaio --direct=1 --time_based --runtime="$RUNTIME" --ramp_time="$RAMP" \
      --output-format=terse --terse-version=3 >"$out.tmp" 2>"$RUN/$CFG-$job.err" ||
      { rm -f "$RUN/$CFG.$job.on"; failed "fio $job on $dev: $(tail -n 3 "$RUN/$CFG-$job.err")"; return 1; }
    busy_percent "$t0" "$(cpu_ticks)" >"$RUN/result-$CFG-$job.busy1"
    r1=$(tcp_losses)
    log "$CFG $job: node 1 TCP retransmitted segments, retransmission timeouts: $(awk -v a="$r0" -v b="$r1" \
      'BEGIN { split(a, x, " "); split(b, y, " "); print y[1] - x[1], y[2] - x[2] }')"
    rm -f "$RUN/$CFG.$job.on"
    grep '^3;' "$out.tmp" | tail -n 1 >"$out"
    rm -f "$out.tmp"
    log "$CFG $job: $(awk -F';' '{ printf "%.1f MiB/s, %.0f IOPS", $48 / 1024, $49 }' "$out"), vCPU busy $(cat "$RUN/result-$CFG-$job.busy1")%"
  done
}

# --- the time an initial sync took (or "skipped"), for the report.
sync_timer_start() { SYNC_T0=$(date +%s.%N); }
sync_timer_stop() { awk -v a="$SYNC_T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f\n", b - a }' >"$RUN/$CFG.sync"; }

# --- DRBD 8.4 (in the test kernel), configured with the same net/disk options as tandem.
drbd_conf() {
  mkdir -p /run/drbd /run/lock /var/lib/drbd   # drbdmeta locks under /run/lock; the guest's /run is empty
  cat >/etc/drbd.conf <<EOF
global { usage-count no; }
resource r0 {
  net  { $DRBD_NET }
  disk { $DRBD_DISK }
  device    /dev/drbd0;
  disk      /dev/loop0;
  meta-disk internal;
  on node1 { address $ADDR1:7789; }
  on node2 { address $ADDR2:7789; }
}
EOF
  cp /etc/drbd.conf "$RUN/drbd.conf"
}
drbd_cstate_is() { [ "$(drbdadm cstate r0 2>/dev/null)" = "$1" ]; }
drbd_both_uptodate() { [ "$(drbdadm dstate r0 2>/dev/null)" = UpToDate/UpToDate ]; }
drbd_prepare() {
  disk_up || return 1
  drbd_conf
  drbdadm create-md r0 </dev/null >>"$LOG" 2>&1 || return 1
  drbdadm up r0 >>"$LOG" 2>&1
}
drbd_release() {
  drbdadm down r0 >>"$LOG" 2>&1
  disk_down
}

# --- tandem, the same resource with tandem's syntax (node ids) and its own device name.
tandem_conf() {
  cat >"$TCONF" <<EOF
resource r0 {
  net  { $DRBD_NET }
  disk { $DRBD_DISK }
  device    /dev/tandem0 minor 0;
  disk      /dev/loop0;
  meta-disk internal;
  on node1 { node-id 0; address $ADDR1:7789; }
  on node2 { node-id 1; address $ADDR2:7789; }
}
EOF
  cp "$TCONF" "$RUN/tandem.conf"
}
adm() { PATH="$TANDEM_BUILD_DIR/userspace:$PATH" timeout 120 "$TANDEMADM" -c "$TCONF" --host "node$ME" --run-dir "$TRUN" "$@"; }
tandem_prepare() {   # tandem_prepare FRONTEND
  disk_up || return 1
  tandem_conf
  mkdir -p "$TRUN"
  adm create-md r0 >>"$LOG" 2>&1 || return 1
  adm up r0 --frontend "$1" >>"$LOG" 2>&1
}
tandem_release() {
  adm down r0 >>"$LOG" 2>&1
  [ -f "$TRUN/r0.log" ] && cp "$TRUN/r0.log" "$RUN/$CFG.node$ME.tandemd.log"
  disk_down
}

# --- md RAID1: a local leg and a leg that is kernel NBD to node 2's disk, served by qemu-nbd with O_DIRECT
# (as DRBD's and tandem's Secondary write: no page cache between the network and the disk).
md_export() {
  qemu-nbd --format=raw --cache=none --aio=native --bind="$ADDR2" --port="$NBD_PORT" --persistent \
    --fork --pid-file=/run/qemu-nbd.pid /dev/loop0 >>"$LOG" 2>&1
}
md_unexport() {
  local pid
  pid=$(cat /run/qemu-nbd.pid 2>/dev/null) || return 0
  kill "$pid" 2>/dev/null
  wait_for 10 "qemu-nbd to exit" bash -c "! kill -0 $pid 2>/dev/null"
  rm -f /run/qemu-nbd.pid
}
md_idle() { [ "$(cat /sys/block/md0/md/sync_action 2>/dev/null)" = idle ]; }

# ================================================================ node 1: one configuration
# Peer handshake for CFG: node 1 signals CFG.go, node 2 answers CFG.ready when its side is up (or
# CFG.peer-failed), node 1 signals CFG.done after measuring, node 2 answers CFG.released after teardown.
peer_start() {
  signal "$CFG.go"
  wait_for 180 "node 2's side of $CFG" bash -c "[ -e '$RUN/$CFG.ready' ] || [ -e '$RUN/$CFG.peer-failed' ]" ||
    return 1
  [ ! -e "$RUN/$CFG.peer-failed" ] || { failed "node 2: $(cat "$RUN/$CFG.peer-failed")"; return 1; }
}
peer_stop() {
  signal "$CFG.done"
  wait_for 120 "node 2 to release $CFG" have "$RUN/$CFG.released"
}
needs_peer() { case $1 in bare | bare-again | drbd-alone | tandem-alone) return 1 ;; *) return 0 ;; esac; }

node1_bare() {
  disk_up || { failed "cannot set up /dev/loop0"; return 1; }
  run_fio /dev/loop0
  local rc=$?
  disk_down
  return $rc
}

node1_drbd() {   # node1_drbd connected|alone
  drbd_prepare || { failed "drbdadm create-md/up"; drbd_release; return 1; }
  if [ "$1" = alone ]; then
    drbdadm disconnect r0 >>"$LOG" 2>&1
    drbdadm primary --force r0 >>"$LOG" 2>&1 || { failed "drbdadm primary --force"; drbd_release; return 1; }
    echo alone >"$RUN/$CFG.sync"
  else
    wait_for 120 "DRBD Connected" drbd_cstate_is Connected || { failed "not Connected: $(cat /proc/drbd)"; drbd_release; return 1; }
    sync_timer_start
    if [ "$SYNC" = skip ]; then
      drbdadm -- --clear-bitmap new-current-uuid r0 >>"$LOG" 2>&1 || { failed "new-current-uuid --clear-bitmap"; drbd_release; return 1; }
    else
      drbdadm primary --force r0 >>"$LOG" 2>&1 || { failed "drbdadm primary --force"; drbd_release; return 1; }
    fi
    wait_for 900 "DRBD UpToDate/UpToDate" drbd_both_uptodate || { failed "sync: $(cat /proc/drbd)"; drbd_release; return 1; }
    sync_timer_stop
    [ "$SYNC" != skip ] || drbdadm primary r0 >>"$LOG" 2>&1 || { failed "drbdadm primary"; drbd_release; return 1; }
  fi
  cat /proc/drbd >>"$LOG"
  run_fio /dev/drbd0
  local rc=$?
  cat /proc/drbd >>"$LOG"
  drbd_release
  return $rc
}

node1_tandem() {   # node1_tandem FRONTEND connected|alone
  local dev rc
  tandem_prepare "$1" || { failed "tandemadm create-md/up"; tandem_release; return 1; }
  if [ "$2" = alone ]; then
    adm disconnect r0 >>"$LOG" 2>&1
    adm primary r0 --force >>"$LOG" 2>&1 || { failed "tandemadm primary --force"; tandem_release; return 1; }
    echo alone >"$RUN/$CFG.sync"
  else
    adm wait-connect r0 --timeout 120 >>"$LOG" 2>&1 || { failed "not Connected: $(adm status r0 2>&1)"; tandem_release; return 1; }
    sync_timer_start
    if [ "$SYNC" = skip ]; then
      adm new-current-uuid r0 --clear-bitmap >>"$LOG" 2>&1 || { failed "new-current-uuid --clear-bitmap"; tandem_release; return 1; }
    else
      adm primary r0 --force >>"$LOG" 2>&1 || { failed "tandemadm primary --force"; tandem_release; return 1; }
    fi
    adm wait-sync r0 --timeout 900 >>"$LOG" 2>&1 || { failed "sync: $(adm status r0 2>&1)"; tandem_release; return 1; }
    sync_timer_stop
    [ "$SYNC" != skip ] || adm primary r0 >>"$LOG" 2>&1 || { failed "tandemadm primary"; tandem_release; return 1; }
  fi
  wait_for 30 "the device link" test -b /dev/tandem0 || { failed "no /dev/tandem0"; tandem_release; return 1; }
  dev=$(readlink -f /dev/tandem0)
  adm status r0 >>"$LOG" 2>&1
  run_fio "$dev"
  rc=$?
  adm status r0 >>"$LOG" 2>&1
  tandem_release
  return $rc
}

node1_md() {
  local rc
  disk_up || { failed "cannot set up /dev/loop0"; return 1; }
  timeout 30 nbd-client "$ADDR2" "$NBD_PORT" "$MD_NBD" -b 4096 >>"$LOG" 2>&1 || { failed "nbd-client to $ADDR2"; disk_down; return 1; }
  local create=(mdadm --create /dev/md0 --run --level=1 --raid-devices=2 --metadata=1.2 --bitmap=internal)
  [ "$SYNC" != skip ] || create+=(--assume-clean)
  echo 2000000 >/proc/sys/dev/raid/speed_limit_max   # the initial resync at full speed, like DRBD's resync-rate
  sync_timer_start
  if ! timeout 60 "${create[@]}" /dev/loop0 "$MD_NBD" >>"$LOG" 2>&1; then
    failed "mdadm --create"
    nbd-client -d "$MD_NBD" >>"$LOG" 2>&1
    disk_down
    return 1
  fi
  sleep 1   # the resync starts in the background: do not take the moment before it for the end
  wait_for 900 "md resync" md_idle || failed "md resync: $(cat /proc/mdstat)"
  sync_timer_stop
  cat /proc/mdstat >>"$LOG"
  run_fio /dev/md0
  rc=$?
  {
    cat /proc/mdstat
    mdadm --stop /dev/md0
    nbd-client -d "$MD_NBD"
  } >>"$LOG" 2>&1
  disk_down
  return $rc
}

node1_run() {
  case $CFG in
    bare | bare-again) node1_bare ;;
    drbd) node1_drbd connected ;;
    drbd-alone) node1_drbd alone ;;
    tandem-ublk) node1_tandem ublk connected ;;
    tandem-nbd) node1_tandem kernel-nbd connected ;;
    tandem-alone) node1_tandem ublk alone ;;
    md-raid1) node1_md ;;
    *) failed "unknown configuration" ;;
  esac
}

# ================================================================ node 2: the peer half
node2_prepare() {
  case $CFG in
    drbd) drbd_prepare ;;
    tandem-ublk) tandem_prepare ublk ;;
    tandem-nbd) tandem_prepare kernel-nbd ;;
    md-raid1) disk_up && md_export ;;
  esac
}
node2_release() {
  case $CFG in
    drbd) drbd_release ;;
    tandem-ublk | tandem-nbd) tandem_release ;;
    md-raid1) md_unexport; disk_down ;;
  esac
}

# ================================================================ both
setup_link() {
  hostname "node$ME"
  ip link set eth0 mtu "$MTU" up && ip addr add "$MY_ADDR/24" dev eth0 || return 1
  wait_for 60 "ping to node$PEER" ping -c 1 -W 1 "192.168.77.$PEER" >/dev/null
}

# Link throughput node 1 -> node 2 with plain TCP (socat), for the report: 64 MiB of zeros.
link_check() {
  if [ "$ME" = 2 ]; then
    timeout 120 socat -u TCP-LISTEN:5001,bind="$ADDR2",reuseaddr - >/dev/null &
    signal link.listening
    wait
  else
    wait_for 30 "node 2's socat" have "$RUN/link.listening" || return 1
    sleep 0.5
    local t0 t1
    t0=$(date +%s.%N)
    timeout 120 bash -c "head -c 64M /dev/zero | socat -u - TCP:$ADDR2:5001" || return 1
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f\n", 64 * 8 / (b - a) }' >"$RUN/link.mbit"
    log "link: $(cat "$RUN/link.mbit") Mbit/s (64 MiB over TCP, socat)"
  fi
}

log "booted: $(nproc) CPU, $(awk '/^MemTotal/ { print int($2 / 1024) }' /proc/meminfo) MiB, kernel $(uname -r)"
signal "node$ME.booted"
setup_link || { log "no link to node$PEER"; exit 3; }
link_check || log "link check failed (the bench goes on)"
if [ "$ME" = 1 ]; then
  echo "DRBD $(awk '/^version:/ { print $2; exit }' /proc/drbd) in the kernel," \
    "drbd-utils $(drbdadm --version 2>/dev/null | sed -n 's/^DRBDADM_VERSION=//p')," \
    "$(fio --version), mdadm $(mdadm --version 2>&1 | awk '{ print $3 }')," \
    "qemu-nbd $(qemu-nbd --version | awk 'NR == 1 { print $2 }')" >"$RUN/versions"
  status=0
  for CFG in $CONFIGS; do
    log "=== $CFG"
    if needs_peer "$CFG"; then
      if peer_start; then node1_run || status=1; else status=1; fi
      peer_stop || status=1
    else
      node1_run || status=1
    fi
  done
  signal finished
  log "finished (status $status)"
  exit $status
else
  for CFG in $CONFIGS; do
    needs_peer "$CFG" || continue
    wait_for 1200 "$CFG.go" have "$RUN/$CFG.go" || exit 4
    log "=== $CFG (peer side)"
    if node2_prepare; then
      peer_sampler &
      SAMPLER_PID=$!
      signal "$CFG.ready"
    else
      echo "setup failed (see node2.log)" >"$RUN/$CFG.peer-failed"
    fi
    wait_for 1200 "$CFG.done" have "$RUN/$CFG.done" || exit 4
    peer_sampler_stop
    node2_release
    signal "$CFG.released"
  done
  wait_for 600 "node 1 to finish" have "$RUN/finished"
  log "finished"
fi
