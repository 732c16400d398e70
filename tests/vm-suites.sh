#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The in-VM suites as one suite of "make check": tests/vm/*_test.c on the
# 6.1 and 6.12 cloud kernels under QEMU (tools/vm/run.sh), whose TAP lines
# tests/run-suites.sh counts like any other suite's.
exec bash "$(dirname "$0")/../tools/vm/run.sh" "$@"
