#!/bin/bash
# Guest side: the two-node daemon test of test-daemon-two-node.sh with the kernel NBD frontend forced
# (`up --frontend kernel-nbd`), since the test kernel's automatic choice is ublk.
exec bash "$(dirname "$0")/test-daemon-two-node.sh" kernel-nbd
