#!/bin/bash
# Host side of the VM tests: boots the test kernel under QEMU (../shared/vm/run-in-vm) and runs one guest
# script there, with the build directory shared read-write and the rest of the host (source tree, installed
# tools) visible read-only.
#
#   tests/vm/run.sh SCRIPT [ARGS...]
#
# Kernel: $TANDEM_TEST_KERNEL, else ../shared/vm/bzImage next to the repository; run-in-vm is taken from the
# kernel's folder, else ../shared/vm/. Build tree: $TANDEM_BUILD_DIR (default: build). Time limit for the
# whole guest: $TANDEM_VM_TIMEOUT seconds (default 540), so ctest's own 600 s limit is never the one to hit.
# Exit status: the guest script's; 77 (skip) with a "SKIP: ..." line when the kernel or QEMU is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=${TANDEM_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
build=${TANDEM_BUILD_DIR:-$src/build}
[ $# -ge 1 ] || { echo "usage: tests/vm/run.sh SCRIPT [ARGS...]" >&2; exit 2; }
script=$1; shift
case "$script" in /*) ;; *) script="$(cd "$(dirname "$script")" && pwd)/$(basename "$script")";; esac
[ -r "$script" ] || { echo "run.sh: no guest script $script" >&2; exit 2; }

kernel=${TANDEM_TEST_KERNEL:-$src/../shared/vm/bzImage}
if [ ! -r "$kernel" ]; then
  echo "SKIP: no test kernel (set TANDEM_TEST_KERNEL or provide ../shared/vm/bzImage)"
  exit 77
fi
kernel=$(cd "$(dirname "$kernel")" && pwd)/$(basename "$kernel")
runner=$(dirname "$kernel")/run-in-vm
[ -x "$runner" ] || runner=$src/../shared/vm/run-in-vm
if [ ! -x "$runner" ]; then
  echo "SKIP: no run-in-vm next to $kernel or in ../shared/vm"
  exit 77
fi
if ! command -v qemu-system-x86_64 >/dev/null; then
  echo "SKIP: qemu-system-x86_64 not installed (apt-get install -y qemu-system-x86 busybox-static cpio)"
  exit 77
fi
for tool in /bin/busybox cpio gzip; do
  if ! command -v "$tool" >/dev/null; then
    echo "SKIP: $tool not installed (apt-get install -y qemu-system-x86 busybox-static cpio)"
    exit 77
  fi
done
[ -d "$build" ] || { echo "run.sh: no build directory $build (set TANDEM_BUILD_DIR)" >&2; exit 2; }
build=$(cd "$build" && pwd)

limit=${TANDEM_VM_TIMEOUT:-540}
start=$(date +%s)
cd "$build"
set +e
"$runner" --kernel "$kernel" --timeout "$limit" --mem "${TANDEM_VM_MEM_MB:-1536}" --cpus 2 --rw "$build" \
  --env "TANDEM_BUILD_DIR=$build" --env "TANDEM_SOURCE_DIR=$src" -- /bin/bash "$script" "$@"
rc=$?
set -e
echo "run.sh: $(basename "$script") exited $rc after $(( $(date +%s) - start )) s in the VM"
case $rc in
  124) echo "run.sh: the VM hit its time limit of ${limit}s" >&2;;
  125) echo "run.sh: the VM could not be started (see above)" >&2;;
esac
exit $rc
