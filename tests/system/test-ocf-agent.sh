#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# The cluster integration scripts outside a cluster: ocf:tandem:tandem passes resource-agents' ocf-tester
# (start, stop, monitor 7/0/8, promote, demote, notify, idempotence), its validate-all refuses bad parameters
# and clone meta attributes with a clear reason, and the heartbeat v1 script tandemdisk starts, stops and
# reports status with the exit codes heartbeat expects. The Pacemaker side (scores, fencing constraints,
# failover) is covered by test-ha-mariadb.sh.
set -euo pipefail

LIB=$(cd "$(dirname "$0")/lib" && pwd)
TS_NAME=ocf-agent
# shellcheck source=lib/two_hosts.sh
. "$LIB/two_hosts.sh"
require_tools ocf-tester xmllint
[ -f /usr/lib/ocf/lib/heartbeat/ocf-shellfuncs ] || skip "resource-agents (ocf-shellfuncs) not installed"
AGENT=$TANDEM_SOURCE_DIR/tools/ha/ocf/tandem
TANDEMDISK=$TANDEM_SOURCE_DIR/tools/ha/heartbeat/tandemdisk

step "two nodes with identical, UpToDate data; beta stays up as the peer"
tandem_setup ocf 21 64 r0
for h in alpha beta; do adm_ok "$h" create-md "$RES" >/dev/null; adm_ok "$h" up "$RES"; done
wait_connected alpha
adm_ok alpha new-current-uuid "$RES" --clear-bitmap
wait_until 20 "UpToDate/UpToDate" both_uptodate alpha || fail "not UpToDate: $(node_dstate alpha)"
adm_ok alpha down "$RES"

# agent ACTION [VAR=VALUE...]: the agent as Pacemaker runs it on alpha, with this test's parameters.
agent() {
  local action=$1
  shift
  on_host alpha env OCF_ROOT=/usr/lib/ocf OCF_RESOURCE_INSTANCE=tandem_r0 OCF_RESKEY_CRM_meta_timeout=30000 \
    OCF_RESKEY_tandem_resource="$RES" OCF_RESKEY_tandemconf="$CONF" OCF_RESKEY_tandemadm="$TANDEMADM" \
    OCF_RESKEY_run_dir="$RUN_alpha" "$@" "$AGENT" "$action"
}
expect_rc() {
  local want=$1 rc=0 out
  shift
  out=$("$@" 2>&1) || rc=$?
  [ "$rc" -eq "$want" ] || fail "$* exited $rc, expected $want: $out"
  info "$*: exit $rc${out:+ ($(echo "$out" | tail -n 1))}"
}

step "meta-data is valid OCF 1.1 XML (ra-api-1.dtd)"
agent meta-data >"$WORK/meta.xml"
dtd=/usr/share/resource-agents/ra-api-1.dtd
if [ -f "$dtd" ]; then
  xmllint --noout --dtdvalid "$dtd" "$WORK/meta.xml" 2>&1 | grep -v 'failed to load external entity\|^<!DOCTYPE\|^ *\^' || true
  xmllint --noout --dtdvalid "$dtd" "$WORK/meta.xml" >/dev/null 2>&1 || fail "meta-data does not validate"
else
  xmllint --noout "$WORK/meta.xml" || fail "meta-data is not well-formed XML"
fi
grep -q '<version>1.1</version>' "$WORK/meta.xml" || fail "meta-data does not declare OCF 1.1"

step "ocf-tester"
on_host alpha timeout 600 ocf-tester -n tandem_r0 -o tandem_resource="$RES" -o tandemconf="$CONF" \
  -o tandemadm="$TANDEMADM" -o run_dir="$RUN_alpha" "$AGENT" >"$WORK/ocf-tester.out" 2>&1 ||
  fail "ocf-tester failed: $(tail -n 20 "$WORK/ocf-tester.out")"
tail -n 2 "$WORK/ocf-tester.out" | sed 's/^/    /'

step "monitor exit codes: 7 stopped, 0 Secondary, 8 Primary"
expect_rc 7 agent monitor
expect_rc 0 agent start
expect_rc 0 agent monitor
expect_rc 0 agent promote
expect_rc 8 agent monitor
expect_rc 0 agent demote
expect_rc 0 agent stop
expect_rc 7 agent monitor

step "validate-all refuses what would break a cluster, and says why"
expect_rc 6 agent validate-all OCF_RESKEY_tandem_resource=
expect_rc 6 agent validate-all OCF_RESKEY_tandem_resource=nosuch
expect_rc 5 agent validate-all OCF_RESKEY_tandemadm=/nonexistent/tandemadm
expect_rc 6 agent validate-all OCF_RESKEY_wfc_timeout=soon
expect_rc 6 agent validate-all OCF_RESKEY_CRM_meta_clone_max=2 OCF_RESKEY_CRM_meta_notify=false
expect_rc 6 agent validate-all OCF_RESKEY_CRM_meta_clone_max=2 OCF_RESKEY_CRM_meta_notify=true \
  OCF_RESKEY_CRM_meta_clone_node_max=2
expect_rc 6 agent validate-all OCF_RESKEY_CRM_meta_clone_max=2 OCF_RESKEY_CRM_meta_notify=true \
  OCF_RESKEY_CRM_meta_promoted_max=2
expect_rc 6 agent validate-all OCF_RESKEY_crm_feature_set=3.16.1
expect_rc 0 agent validate-all OCF_RESKEY_CRM_meta_clone_max=2 OCF_RESKEY_CRM_meta_notify=true \
  OCF_RESKEY_CRM_meta_clone_node_max=1 OCF_RESKEY_CRM_meta_promoted_max=1

step "heartbeat v1: tandemdisk start / status / stop"
hb() { on_host alpha env TANDEM_CONF="$CONF" TANDEMADM="$TANDEMADM" TANDEM_RUN_DIR="$RUN_alpha" "$TANDEMDISK" "$@"; }
expect_rc 3 hb "$RES" status
[ "$(hb "$RES" status || true)" = stopped ] || fail "status of a stopped resource must print 'stopped'"
expect_rc 0 hb "$RES" start
[ "$(hb "$RES" status)" = "running (Primary)" ] || fail "status must print 'running (Primary)'"
role_is alpha Primary || fail "tandemdisk start did not make alpha Primary"
expect_rc 0 hb "$RES" stop
expect_rc 3 hb "$RES" status
role_is alpha Secondary || fail "tandemdisk stop did not make alpha Secondary"
expect_rc 1 hb "$RES" restart
adm_ok alpha down "$RES"
echo "PASS"
