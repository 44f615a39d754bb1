#!/bin/bash
# Boots ONE guest of the VM benchmark's pair and runs a command in it as root; prints the command's output
# and exits with its status (124: time limit, 125: the guest did not start or stopped without a status).
#
#   boot-node.sh --kernel BZIMAGE --name NAME --net listen:PORT|connect:PORT --mac MAC --logs DIR
#                [--mem MB] [--timeout S] [--rw DIR]... [--env K=V]... -- COMMAND...
#
# The guest (1 vCPU, software emulation) sees the host's root filesystem read-only under a tmpfs overlay,
# so every installed program is there and the guest may write anywhere; each --rw DIR is shared read-write
# at the same path. Its only network device is a virtio NIC on QEMU's socket backend bound to 127.0.0.1:
# the listening guest must be started first (the caller waits for the port), the connecting one joins it.
# Nothing is routed to the host or beyond. The kernel must have everything built in (no modules).
# Writes DIR/NAME.console (the serial console) and DIR/NAME.qemu.pid while QEMU runs.
set -euo pipefail

kernel="" name="" net="" mac="" logs="" mem=1536 limit=1500
rw=() envs=()
while [ $# -gt 0 ]; do
  case $1 in
    --kernel) kernel=$2; shift 2 ;;
    --name) name=$2; shift 2 ;;
    --net) net=$2; shift 2 ;;
    --mac) mac=$2; shift 2 ;;
    --logs) logs=$2; shift 2 ;;
    --mem) mem=$2; shift 2 ;;
    --timeout) limit=$2; shift 2 ;;
    --rw) rw+=("$(cd "$2" && pwd)"); shift 2 ;;
    --env) envs+=("$2"); shift 2 ;;
    --) shift; break ;;
    *) echo "boot-node: unknown option $1" >&2; exit 125 ;;
  esac
done
[ $# -gt 0 ] || { echo "boot-node: no command" >&2; exit 125; }
[ -r "$kernel" ] || { echo "boot-node: no kernel at '$kernel'" >&2; exit 125; }
if [ -z "$name" ] || [ -z "$mac" ] || [ ! -d "$logs" ]; then
  echo "boot-node: --name, --mac and --logs DIR are required" >&2
  exit 125
fi
case $net in
  listen:*) netdev="socket,id=n0,listen=127.0.0.1:${net#listen:}" ;;
  connect:*) netdev="socket,id=n0,connect=127.0.0.1:${net#connect:}" ;;
  *) echo "boot-node: --net listen:PORT or connect:PORT" >&2; exit 125 ;;
esac
for d in "${rw[@]+"${rw[@]}"}"; do [ "$d" != / ] || { echo "boot-node: will not share / read-write" >&2; exit 125; }; done

work=$(mktemp -d "/tmp/tandem-bootnode-$name.XXXXXX")
trap 'rm -rf "$work"' EXIT
# Stopped by the caller: the EXIT trap still removes the work folder (bash runs this once QEMU has gone; the
# caller kills QEMU through its pid file).
trap 'exit 143' TERM INT
mkdir -p "$work/root/bin"
cp /bin/busybox "$work/root/bin/busybox"   # busybox-static: the initramfs has no libraries

{
  printf '#!/bin/sh\n'
  printf 'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8\n'
  for e in "${envs[@]+"${envs[@]}"}"; do printf 'export %q\n' "$e"; done
  printf '%q ' "$@"
  printf '\n'
} >"$work/root/cmd.sh"

# The kernel starts usermode helpers (DRBD's before-resync-target, fence-peer, ...) in the initramfs root,
# where drbd-utils are not: the helper enters the real root first. An absent helper is not harmless: DRBD
# 8.4 reads the failed exec as a handler's refusal and drops the connection before a resync.
cat >"$work/root/drbd-helper" <<'EOF'
#!/bin/busybox sh
exec /bin/busybox chroot /newroot /sbin/drbdadm "$@"
EOF

shares=(-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap")
mount_rw=""
i=0
for d in "${rw[@]+"${rw[@]}"}"; do
  shares+=(-virtfs "local,path=$d,mount_tag=rw$i,security_model=none,multidevs=remap")
  mount_rw+="\$B mkdir -p /newroot$d && \$B mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 rw$i /newroot$d
"
  i=$((i + 1))
done

cat >"$work/root/init" <<EOF
#!/bin/busybox sh
B=/bin/busybox
\$B mkdir -p /proc /sys /dev /lower /upper /newroot
\$B mount -t proc proc /proc
\$B mount -t sysfs sysfs /sys
\$B mount -t devtmpfs dev /dev
\$B mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose hostroot /lower
\$B mount -t tmpfs -o size=80% tmpfs /upper
\$B mkdir -p /upper/u /upper/w
\$B mount -t overlay overlay -o lowerdir=/lower,upperdir=/upper/u,workdir=/upper/w /newroot
for d in /tmp /run /var/tmp; do \$B mount -t tmpfs tmpfs /newroot\$d; done
\$B mount -t devtmpfs dev /newroot/dev
\$B mount -t proc proc /newroot/proc
\$B mount -t sysfs sysfs /newroot/sys
\$B mkdir -p /newroot/dev/pts /newroot/dev/shm
\$B mount -t devpts devpts /newroot/dev/pts
\$B mount -t tmpfs tmpfs /newroot/dev/shm
$mount_rw
# The path without a newline: the kernel takes the parameter's bytes as they are.
[ -e /sys/module/drbd/parameters/usermode_helper ] && \$B printf %s /drbd-helper >/sys/module/drbd/parameters/usermode_helper
\$B cp /cmd.sh /newroot/tmp/.boot-node-cmd.sh
\$B ip link set lo up
echo "__BOOT_NODE_START__"
\$B chroot /newroot /bin/sh /tmp/.boot-node-cmd.sh </dev/null 2>&1
echo "__BOOT_NODE_EXIT__ \$?"
\$B sync
\$B reboot -f
EOF
chmod +x "$work/root/init" "$work/root/cmd.sh" "$work/root/drbd-helper"
(cd "$work/root" && find . | cpio -o -H newc 2>/dev/null | gzip -1 >"$work/initrd.gz")

console=$logs/$name.console
set +e
timeout -k 10 "$limit" qemu-system-x86_64 -machine q35 -accel tcg -cpu max -m "$mem" -smp 1 \
  -nographic -no-reboot -kernel "$kernel" -initrd "$work/initrd.gz" -pidfile "$logs/$name.qemu.pid" \
  -netdev "$netdev" -device "virtio-net-pci,netdev=n0,mac=$mac" \
  -append "console=ttyS0 quiet loglevel=3 panic=-1" "${shares[@]}" </dev/null >"$console" 2>&1
qrc=$?
set -e
rm -f "$logs/$name.qemu.pid"
tr -d '\r' <"$console" | sed -n '/__BOOT_NODE_START__/,/__BOOT_NODE_EXIT__/p' | sed '1d;$d' || true
rc=$(tr -d '\r' <"$console" | sed -n 's/^__BOOT_NODE_EXIT__ \([0-9]*\).*/\1/p' | tail -n 1)
if [ -z "$rc" ]; then
  [ $qrc -ne 124 ] || { echo "boot-node: $name reached its time limit of ${limit}s" >&2; exit 124; }
  echo "boot-node: $name stopped without the command's status (qemu exit $qrc); console tail:" >&2
  tail -n 20 "$console" >&2
  exit 125
fi
exit "$rc"
