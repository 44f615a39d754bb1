#!/bin/bash
# Guest side: the link-fault test of test-link-faults.sh with the kernel NBD frontend forced
# (`up --frontend kernel-nbd`), since the test kernel's automatic choice is ublk.
exec bash "$(dirname "$0")/test-link-faults.sh" kernel-nbd
