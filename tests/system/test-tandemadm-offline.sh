#!/bin/sh
# tandemadm without tandemd: create-md and its refusals, dump-md, `up` without metadata, the commands that
# talk to the daemon when none runs, --dry-run plans, usage errors; then the client side of the control
# protocol against a small fake daemon (python3) that answers from a table and records every request.
# Exact exit statuses and messages throughout (docs/tandemadm.md). Never starts tandemd.
#
# Needs: a built tandemadm, truncate; mkfs.ext4 and python3 for their parts (skipped with a note if absent).
# Runs unprivileged; touches nothing outside a temporary directory.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=${TANDEM_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
build=${TANDEM_BUILD_DIR:-$src/build}
tandemadm=$build/tools/tandemadm

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

[ -x "$tandemadm" ] || skip "tandemadm not built at $tandemadm (set TANDEM_BUILD_DIR)"
command -v truncate >/dev/null 2>&1 || skip "truncate (coreutils) is not installed"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tandemadm-offline.XXXXXX")
fake_pid=""
cleanup() {
  [ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

run=$tmp/run
conf=$tmp/tandem.conf
truncate -s 64M "$tmp/a.img" "$tmp/b.img" "$tmp/c.img"
cat >"$conf" <<CONF
resource r0 {
    disk { al-extents 300; }
    on alpha { node-id 0; address 127.0.0.1:7789; device /dev/tandem0 minor 0; disk $tmp/a.img; meta-disk internal; }
    on beta  { node-id 1; address 127.0.0.2:7789; device /dev/tandem0 minor 0; disk $tmp/b.img; meta-disk internal; }
}
resource r1 {
    on alpha { node-id 0; address 127.0.0.1:7790; device /dev/tandem1 minor 1; disk $tmp/c.img; meta-disk internal; }
    on beta  { node-id 1; address 127.0.0.2:7790; device /dev/tandem1 minor 1; disk $tmp/c.img; meta-disk internal; }
}
CONF

# expect CODE 'STDOUT-SUBSTRING' 'STDERR-SUBSTRING' ARGS... (empty substring: anything)
expect() {
  want=$1 out_text=$2 err_text=$3; shift 3
  set +e
  "$tandemadm" -c "$conf" --host alpha --run-dir "$run" "$@" >"$tmp/out" 2>"$tmp/err"
  got=$?
  set -e
  [ "$got" -eq "$want" ] || fail "tandemadm $*: exit $got, expected $want (stdout: $(cat "$tmp/out"); stderr: $(cat "$tmp/err"))"
  [ -z "$out_text" ] || grep -qF -- "$out_text" "$tmp/out" || fail "tandemadm $*: stdout lacks '$out_text': $(cat "$tmp/out")"
  [ -z "$err_text" ] || grep -qF -- "$err_text" "$tmp/err" || fail "tandemadm $*: stderr lacks '$err_text': $(cat "$tmp/err")"
}
# The whole of stdout must equal the argument.
stdout_is() {
  if [ -z "$1" ]; then : >"$tmp/want"; else printf '%s\n' "$1" >"$tmp/want"; fi
  cmp -s "$tmp/want" "$tmp/out" || fail "stdout differs: got '$(cat "$tmp/out")', want '$1'"
}

# --- before create-md ---
expect 20 "" "tandemadm: no tandem metadata on $tmp/a.img: run 'tandemadm create-md r0' first" up r0
[ ! -e "$run" ] || fail "up without metadata created $run"
expect 20 "" "no tandem metadata found" dump-md r0

# --- create-md ---
expect 0 "" "" -d create-md r0
stdout_is "create-md disk=$tmp/a.img meta-disk=internal node-id=0 peer-node-id=1 al-extents=300"
expect 20 "" "no tandem metadata found" dump-md r0   # the dry run wrote nothing
expect 0 "tandem metadata created on $tmp/a.img (internal, data size" "" create-md r0
expect 20 "" "use --force to overwrite it" create-md r0
grep -q '^tandemadm: found existing tandem metadata on ' "$tmp/err" || fail "refusal message: $(cat "$tmp/err")"
expect 0 "tandem metadata created on $tmp/a.img" "" create-md r0 --force
expect 1 "" "tandemadm: create-md: unrecognised option '--frce'" create-md r0 --frce

# --- dump-md ---
expect 0 "# tandem metadata of resource r0 on $tmp/a.img (internal meta-disk)" "" dump-md r0
for line in "format-version:    1" "node-id:           0" "peer-node-id:      1" "al-extents:        300" \
            "current-uuid:      0000000000000004" "bitmap-uuid:       0000000000000000" \
            "data-size:         67067904 bytes (64.0 MiB)" "peer-slots:        1"; do
  grep -qxF "$line" "$tmp/out" || fail "dump-md lacks '$line': $(cat "$tmp/out")"
done
grep -q '^flags: ' "$tmp/out" || fail "dump-md lacks flags"
grep -Eq '^device-uuid:       [0-9A-F]{16}$' "$tmp/out" || fail "dump-md device-uuid: $(cat "$tmp/out")"
# The other node's view: its own disk, its own node id.
set +e; "$tandemadm" -c "$conf" --host beta create-md r0 >"$tmp/out" 2>"$tmp/err"; rc=$?; set -e
[ "$rc" -eq 0 ] || fail "create-md as beta: exit $rc: $(cat "$tmp/err")"
"$tandemadm" -c "$conf" --host beta dump-md r0 >"$tmp/out"
grep -qxF "node-id:           1" "$tmp/out" && grep -qxF "peer-node-id:      0" "$tmp/out" ||
  fail "dump-md as beta: $(cat "$tmp/out")"

# --- a filesystem on the disk is refused and left intact ---
if command -v mkfs.ext4 >/dev/null 2>&1; then
  mkfs.ext4 -q -F "$tmp/c.img" >/dev/null 2>&1 || fail "mkfs.ext4 on a file failed"
  before=$(cksum <"$tmp/c.img")
  expect 20 "" "ext4" create-md r1
  grep -q "force" "$tmp/err" || fail "ext4 refusal does not mention --force: $(cat "$tmp/err")"
  [ "$(cksum <"$tmp/c.img")" = "$before" ] || fail "refused create-md changed $tmp/c.img"
else
  echo "NOTE: mkfs.ext4 missing; the foreign-signature refusal is not checked"
fi

# --- commands that need the daemon, none running ---
not_up="tandemadm: resource r0 is not up (no daemon socket at $run/r0.ctl)"
expect 10 "" "" status r0
stdout_is "r0: not running"
expect 10 "" "" status
stdout_is "r0: not running

r1: not running"
expect 10 "" "" status r0 --json
stdout_is '{"name":"r0","running":false}'
expect 10 "" "" status --json
stdout_is '[{"name":"r0","running":false},
{"name":"r1","running":false}]'
for cmd in primary secondary connect disconnect role cstate dstate show-gi wait-connect wait-sync; do
  expect 20 "" "$not_up" $cmd r0
done
expect 20 "" "$not_up" primary r0 --force
expect 0 "" "$not_up; nothing to do" down r0

# --- dry runs print the plan and change nothing ---
expect 0 "" "" -d primary r0 --force
stdout_is "send 'primary --force' to $run/r0.ctl"
expect 0 "" "" -d secondary r0
stdout_is "send 'secondary' to $run/r0.ctl"
expect 0 "" "" -d down r0
stdout_is "send 'down' to $run/r0.ctl
wait up to 30 s for the process in $run/r0.pid to exit"
expect 0 "--config $conf --resource r0 --host alpha --run-dir $run </dev/null >>$run/r0.log 2>&1 &" "" -d up r0
grep -qxF "mkdir -p -m 0700 $run" "$tmp/out" || fail "-d up plan: $(cat "$tmp/out")"
grep -qxF "send 'connect' to $run/r0.ctl" "$tmp/out" || fail "-d up plan: $(cat "$tmp/out")"
[ ! -e "$run" ] || fail "-d up created $run"

# --- usage errors ---
expect 1 "" "tandemadm: primary: missing resource name" primary
expect 1 "" "resource 'nosuch' is not defined" primary nosuch
expect 1 "" "tandemadm: wait-connect: invalid --timeout 'abc'" wait-connect r0 --timeout abc
expect 1 "" "tandemadm: role: too many arguments 'extra'" role r0 extra

# --- the protocol's client side, against a fake daemon ---
command -v python3 >/dev/null 2>&1 || { echo "NOTE: python3 missing; fake-daemon checks skipped"; echo PASS; exit 0; }
mkdir -m 0700 "$run"
cat >"$tmp/fake.py" <<'PY'
import os, socket, sys
sock_path, pid_path, log_path = sys.argv[1:4]
status_json = ('{"name":"r0","node-id":0,"role":"Secondary","devices":[{"volume":0,"disk-state":"UpToDate"}],'
               '"connections":[{"name":"beta","connection-state":"Connected","split-brain":false,'
               '"peer_devices":[{"replication-state":"Established","peer-disk-state":"UpToDate",'
               '"percent-in-sync":100.0,"resync-total":0,"resync-done":0}]}]}')
answers = {
    "ping": "OK\npong\n",
    "status": "OK\nr0 role:Secondary\n  disk:UpToDate\n  beta connection:Connecting\n",
    "status-json": "OK\n" + status_json + "\n",
    "role": "OK\nSecondary/Unknown\n",
    "cstate": "OK\nConnecting\n",
    "dstate": "OK\nUpToDate/DUnknown\n",
    "show-gi": "OK\ncurrent:0000000000000004 bitmap:0000000000000000 history:0,0,0,0\n",
    "primary": "ERR 11\nrefusing to promote: the peer may be Primary (not connected); use --force\n",
    "primary --force": "OK\n",
    "secondary": "ERR 11\nthe device is open\n",
    "connect": "OK\n",
    "disconnect": "OK\n",
    "down": "OK\n",
}
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sock_path)
s.listen(8)
with open(pid_path, "w") as f:
    f.write("%d\n" % os.getpid())
while True:
    c, _ = s.accept()
    data = b""
    while b"\n" not in data:
        chunk = c.recv(4096)
        if not chunk:
            break
        data += chunk
    line = data.decode().rstrip("\n")
    with open(log_path, "a") as f:
        f.write(line + "\n")
    c.sendall(answers.get(line, "ERR 1\nunknown command '%s'\n" % line).encode())
    c.close()
    if line == "down":
        os.unlink(sock_path)
        os.unlink(pid_path)
        sys.exit(0)
PY
python3 "$tmp/fake.py" "$run/r0.ctl" "$run/r0.pid" "$tmp/requests" &
fake_pid=$!
i=0
while [ ! -S "$run/r0.ctl" ]; do
  i=$((i + 1)); [ $i -lt 100 ] || fail "fake daemon did not create its socket"; sleep 0.05
done

expect 20 "" "tandemadm: resource r0 is already up (tandemd answers on $run/r0.ctl)" up r0
expect 0 "" "" status r0
stdout_is "r0 role:Secondary
  disk:UpToDate
  beta connection:Connecting"
expect 10 "" "" status
stdout_is "r0 role:Secondary
  disk:UpToDate
  beta connection:Connecting

r1: not running"
expect 0 '{"running":true,"name":"r0","node-id":0,' "" status r0 --json
expect 10 '[{"running":true,"name":"r0",' '' status --json
tail -n 1 "$tmp/out" | grep -qxF '{"name":"r1","running":false}]' || fail "status --json: $(cat "$tmp/out")"
expect 0 "" "" role r0;    stdout_is "Secondary/Unknown"
expect 0 "" "" cstate r0;  stdout_is "Connecting"
expect 0 "" "" dstate r0;  stdout_is "UpToDate/DUnknown"
expect 0 "" "" show-gi r0; stdout_is "current:0000000000000004 bitmap:0000000000000000 history:0,0,0,0"
expect 11 "" "tandemadm: r0: refusing to promote: the peer may be Primary (not connected); use --force" primary r0
expect 0 "" "" primary r0 --force; stdout_is ""
expect 11 "" "tandemadm: r0: the device is open" secondary r0
expect 0 "" "" connect r0
expect 0 "" "" disconnect r0
expect 5 "" "tandemadm: r0: not connected after 0.3 s (connection state: Connecting)" wait-connect r0 --timeout 0.3
expect 0 "" "" wait-sync r0 --timeout 5
stdout_is "r0: in sync (UpToDate/UpToDate)"
expect 0 "" "" down r0; stdout_is ""
[ ! -e "$run/r0.ctl" ] || fail "fake daemon's socket still there after down"
wait "$fake_pid" || fail "fake daemon exited with an error"
fake_pid=""

# Exactly what went over the socket, in order (wait-connect polls cstate several times: collapsed).
uniq "$tmp/requests" >"$tmp/requests.uniq"
cat >"$tmp/requests.want" <<'REQ'
ping
status
status-json
role
cstate
dstate
show-gi
primary
primary --force
secondary
connect
disconnect
cstate
status-json
down
REQ
# `status` (all) and `status --json` (all) repeat status/status-json; uniq folds those adjacent repeats.
cmp -s "$tmp/requests.want" "$tmp/requests.uniq" ||
  fail "requests differ: $(tr '\n' '|' <"$tmp/requests.uniq"), want $(tr '\n' '|' <"$tmp/requests.want")"
[ "$(grep -c '^cstate$' "$tmp/requests")" -ge 3 ] || fail "wait-connect did not poll cstate repeatedly"
echo PASS
