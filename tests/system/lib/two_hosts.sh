# shellcheck shell=bash
# The preamble of a test with two tandem hosts in network namespaces: the libraries it needs, cleanup on exit
# (cleanup.sh), and the requirements every such test has: root, FUSE + loop devices, network namespaces and
# the built binaries (each skips with exit 77 and a reason when missing). Set TS_NAME and LIB, then source this;
# add a test's own require_tools / require_fio_nbd after it.
# shellcheck source=lib/common.sh
. "$LIB/common.sh"
# shellcheck source=lib/netns.sh
. "$LIB/netns.sh"
# shellcheck source=lib/tandem.sh
. "$LIB/tandem.sh"
# shellcheck source=lib/cleanup.sh
. "$LIB/cleanup.sh"
cleanup_init

require_root
require_fuse_loop
require_netns
tandem_binaries
