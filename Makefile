# SPDX-License-Identifier: MIT
#
# Host build of libl3l2q, its tools and tests (GNU make, no recursion).
#
#   make            build/lib/libl3l2q.{a,so}, build/tools/*, build/tests/*
#   make asan       the library and every test again under ASan+UBSan,
#                   in build/asan/
#   make check      install missing host packages, build both, run every
#                   suite; the last line printed is "N passed, N failed"
#   make demo       run l3l2q-demo in a VM (6.1) as the L3 of a PCI device:
#                   ivshmem-doorbell, its L2 l3l2q-devsim on this host
#   make demo-plain the same on ivshmem-plain (no interrupts: polled)
#   make demo-driver run l3l2q-demo and l3l2q-devsim in a VM over /dev/l3l2q
#   make demo-host  run it here, over a memfd
#   make demo-channel run l3l2q-chandemo here: a channel to many device
#                   threads while a queue streams tasks, over memfds
#   make vm-check   only the in-VM suites (tools/vm/run.sh)
#   make fuzz       the libFuzzer harnesses of tests/fuzz/, FUZZ_SECONDS
#                   (default 60) each; make check runs them briefly
#   make clean
#   make install    the library, headers, man pages, tools and l3l2q.pc
#                   (PREFIX, DESTDIR, ...: mk/install.mk); make uninstall
#   make module     l3l2q.ko for the running kernel, or KDIR=...; then
#                   make modules_install (mk/module.mk)
#   make deb        the Debian packages, in build/deb/ (mk/deb.mk)
#
# Source lists are wildcards, so a new lib/core/*.c, lib/user/*.c,
# tools/*.c, tools/<name>/*.c or tests/*_test.c is picked up without
# editing this file.

# The project's toolchain is gcc; make's built-in default "cc" is replaced,
# an explicit CC=... is kept.
ifeq ($(origin CC),default)
CC	:= gcc
endif
B	:= build

LIB_SRCS	:= $(sort $(wildcard lib/core/*.c lib/user/*.c))
TOOL_SRCS	:= $(sort $(wildcard tools/*.c))
# A tool too big for one file is a directory: tools/<name>/*.c is
# build/tools/l3l2q-<name>.
TOOL_DIRS	:= $(sort $(patsubst tools/%/,%,$(dir $(wildcard tools/*/*.c))))
TEST_SRCS	:= $(sort $(wildcard tests/*_test.c))

# lib/core is searched for #include "..." only, so none of the core's private
# headers can stand in for a libc header of the same name in hosted code.
CPPFLAGS	:= -D_GNU_SOURCE -Iuapi -Ilib/include -iquote lib/core
WARNFLAGS	:= -Wall -Wextra -Werror
CFLAGS		:= -std=c11 -O2 -g $(WARNFLAGS) -pthread
# A packager's flags (debian/rules: dpkg-buildflags' hardening) go on top
# of the project's own, which a plain CFLAGS=... would replace.
CPPFLAGS	+= $(DIST_CPPFLAGS)
CFLAGS		+= $(DIST_CFLAGS)
# All library objects are PIC: one set of objects serves both the .a and
# the .so, and the cost on x86-64 is negligible.
PICFLAGS	:= -fPIC
DEPFLAGS	= -MMD -MP
LDLIBS		:= -pthread

# The harness header is fetched at build time, never committed.
KSFT_DIR	:= $(B)/kselftest
KSFT_HDR	:= $(KSFT_DIR)/kselftest_harness.h
TEST_CPPFLAGS	:= -Itests -I$(KSFT_DIR)
# -Wextra makes the harness's callbacks noisy (unused _metadata etc.).
TEST_CFLAGS	:= -Wno-unused-parameter
# Tests that wait through io_uring need liburing's library, not only its
# header (tools/install-deps.sh installs liburing-dev).
TEST_LDLIBS	:= -luring $(LDLIBS)

SAN_FLAGS	:= -fsanitize=address,undefined -fno-sanitize-recover=all \
		   -fno-omit-frame-pointer
ASAN_CFLAGS	:= -std=c11 -O1 -g $(WARNFLAGS) -pthread $(SAN_FLAGS)

LIB_OBJS	:= $(LIB_SRCS:%.c=$(B)/obj/%.o)
LIB_A		:= $(B)/lib/libl3l2q.a
# libl3l2q.so.1.0.0, its soname libl3l2q.so.1 and the link-time name
# libl3l2q.so; the version is read from the header that states it.
version_of	= $(shell awk '$$2 == "L3L2Q_VERSION_$(1)" { print $$3 }' \
		    lib/include/l3l2q_version.h)
VERSION_MAJOR	:= $(call version_of,MAJOR)
VERSION		:= $(VERSION_MAJOR).$(call version_of,MINOR).$(call version_of,PATCH)
LIB_MAP		:= lib/libl3l2q.map
LIB_SONAME	:= libl3l2q.so.$(VERSION_MAJOR)
LIB_SO_REAL	:= $(B)/lib/libl3l2q.so.$(VERSION)
LIB_SO		:= $(B)/lib/libl3l2q.so
TOOLS		:= $(TOOL_SRCS:tools/%.c=$(B)/tools/%)
TOOLS		+= $(TOOL_DIRS:%=$(B)/tools/l3l2q-%)
TESTS		:= $(TEST_SRCS:tests/%.c=$(B)/tests/%)

ASAN_LIB_OBJS	:= $(LIB_SRCS:%.c=$(B)/asan/obj/%.o)
ASAN_LIB_A	:= $(B)/asan/lib/libl3l2q.a
ASAN_TESTS	:= $(TEST_SRCS:tests/%.c=$(B)/asan/tests/%)

# Shell suites run by "make check" next to the binaries.
# The VM suites boot two kernels and may first install packages: they get a
# longer per-suite limit than the host suites (whose harness has its own).
SCRIPT_SUITES	:= tests/freestanding_check.sh tests/vm-suites.sh tests/spin_check.sh
SCRIPT_SUITES	+= tests/channel_spin_check.sh
SCRIPT_SUITES	+= tests/aarch64_check.sh
SCRIPT_SUITES	+= tests/man_check.sh
SCRIPT_SUITES	+= tests/bench_smoke.sh
SCRIPT_SUITES	+= tests/fuzz_check.sh
SCRIPT_SUITES	+= tests/install_check.sh tests/license_check.sh
SCRIPT_SUITES	+= tests/deb_check.sh
# After the VM suites, which install both kernels' headers.
SCRIPT_SUITES	+= tests/kmod_lint.sh
SCRIPT_SUITES	+= tests/icount_check.sh

# SUITE_TIMEOUT is a watchdog per suite (the VM suites boot two kernels,
# the aarch64 one runs every host suite under qemu-user): generous, since
# no verdict may depend on how busy the machine is.
SUITE_ENV	:= ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 \
		   UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		   SUITE_TIMEOUT=7200

.PHONY: all lib tools tests asan check deps demo demo-plain demo-driver \
	demo-host demo-channel clean
.DEFAULT_GOAL := all

all: lib tools tests
lib: $(LIB_A) $(LIB_SO)
tools: $(TOOLS)
tests: $(TESTS)
asan: $(ASAN_LIB_A) $(ASAN_TESTS)

# Normal build ----------------------------------------------------------

$(B)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(PICFLAGS) $(DEPFLAGS) -c -o $@ $<

$(LIB_A): $(LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

# Only what the version script names is exported: the functions of the
# installed headers (tests/install_check.sh), not the l3l2q__ internals.
$(LIB_SO_REAL): $(LIB_OBJS) $(LIB_MAP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DIST_LDFLAGS) -shared -Wl,-soname,$(LIB_SONAME) \
		-Wl,--version-script=$(LIB_MAP) -Wl,--no-undefined \
		-o $@ $(LIB_OBJS) $(LDLIBS)

$(B)/lib/$(LIB_SONAME): $(LIB_SO_REAL)
	ln -sf $(notdir $<) $@

$(LIB_SO): $(B)/lib/$(LIB_SONAME)
	ln -sf $(LIB_SONAME) $@

# Tools may wait through io_uring (l3l2q-demo), like the tests.
$(B)/tools/%: tools/%.c $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(DIST_LDFLAGS) $(DEPFLAGS) -o $@ $< \
		$(LIB_A) $(TEST_LDLIBS)

# A tool directory, tools/<name>/: each file compiled on its own, then
# linked.  Extra flags for one directory: TOOL_CPPFLAGS_<name> and
# TOOL_LDLIBS_<name>; for one of its files, a target-specific variable on
# the object, e.g. $(B)/obj/tools/<name>/x.o: TOOL_CPPFLAGS_<name> += ...
# The more specific pattern wins over $(B)/obj/%.o (no -fPIC here).
$(B)/obj/tools/%.o: tools/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(TOOL_CPPFLAGS_$(firstword $(subst /, ,$*))) \
		$(CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(foreach t,$(TOOL_DIRS),$(eval $(B)/tools/l3l2q-$(t): \
	$(patsubst %.c,$(B)/obj/%.o,$(sort $(wildcard tools/$(t)/*.c)))))

$(TOOL_DIRS:%=$(B)/tools/l3l2q-%): $(B)/tools/l3l2q-%: $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DIST_LDFLAGS) -o $@ $(filter %.o,$^) $(LIB_A) \
		$(TOOL_LDLIBS_$*) $(TEST_LDLIBS)

$(B)/tests/%: tests/%.c $(LIB_A) $(KSFT_HDR)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(TEST_CPPFLAGS) $(CFLAGS) $(TEST_CFLAGS) $(DEPFLAGS) \
		-o $@ $< $(LIB_A) $(TEST_LDLIBS)

$(KSFT_HDR):
	sh tools/fetch-kselftest.sh $(KSFT_DIR)

# ASan+UBSan build ------------------------------------------------------

$(B)/asan/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ASAN_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(ASAN_LIB_A): $(ASAN_LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

$(B)/asan/tests/%: tests/%.c $(ASAN_LIB_A) $(KSFT_HDR)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(TEST_CPPFLAGS) $(ASAN_CFLAGS) $(TEST_CFLAGS) \
		$(DEPFLAGS) -o $@ $< $(ASAN_LIB_A) $(TEST_LDLIBS)

# Running ---------------------------------------------------------------

deps:
	sh tools/install-deps.sh

# Dependencies first (a fresh machine has no compiler), then the builds in
# a sub-make so the wildcards and the toolchain are evaluated afterwards.
# The runner prints the totals line last; on failure make adds its own
# "Error" line on stderr after it (.ci/run re-prints the totals).
check: deps
	$(MAKE) --no-print-directory all asan fuzz-build
	$(SUITE_ENV) bash tests/run-suites.sh $(TESTS) $(ASAN_TESTS) \
		$(SCRIPT_SUITES)

# The host cannot load modules: the demos run in a VM against the driver.
# tools/vm/run.sh gives every boot an ivshmem-doorbell device (the driver's
# first PCI device node, /dev/l3l2q0) and an ivshmem-plain one
# (/dev/l3l2q1), each served on this host by l3l2q-devsim; l3l2q-demo
# --external is their L3 inside the VM (the device logs are in
# build/vm/<kernel>/device0.log and device1.log).  demo-driver keeps the
# first demo: both sides in the VM, over the host-memory /dev/l3l2q.
DEMO_COUNT	?= 100000
demo:
	bash tools/vm/run.sh --kernel 6.1 --exec \
		'L3L2Q_DEVICE=/dev/l3l2q0 l3l2q-demo --external --count $(DEMO_COUNT)'

demo-plain:
	bash tools/vm/run.sh --kernel 6.1 --exec \
		'L3L2Q_DEVICE=/dev/l3l2q1 l3l2q-demo --external --count $(DEMO_COUNT)'

demo-driver:
	bash tools/vm/run.sh --kernel 6.1 --exec 'l3l2q-demo --count $(DEMO_COUNT)'

demo-host: $(B)/tools/l3l2q-demo $(B)/tools/l3l2q-devsim
	./$(B)/tools/l3l2q-demo

demo-channel: $(B)/tools/l3l2q-chandemo
	./$(B)/tools/l3l2q-chandemo

clean:
	rm -rf $(B)

# Benchmark -----------------------------------------------------------
#
#   make bench        build tools/l3l2q-bench, run it (a few minutes), write
#                     build/bench/results.txt and, from it, the markdown
#                     table and throughput.png (tools/bench/report.sh);
#                     with valgrind, instructions per message of every
#                     ring (tools/bench/icount.sh, callgrind)
#   make bench-deps   install what the bench compares with and plots with
#                     (libdpdk-dev, gnuplot-nox); not needed by make check
#
# tools/l3l2q-bench is built from tools/bench/*.c by the rule for tool
# directories.  rte_ring is compiled in only when pkg-config finds libdpdk;
# only librte_ring (and librte_eal, for its symbols) is linked, and the EAL
# is never initialised.

BENCH		:= $(B)/tools/l3l2q-bench
HAVE_DPDK	:= $(shell pkg-config --exists libdpdk 2>/dev/null && echo 1)
ifeq ($(HAVE_DPDK),1)
# Debian's libdpdk.pc adds -march=corei7; the bench is built for the
# baseline target like everything else.
DPDK_CFLAGS	:= -DBENCH_HAVE_DPDK $(filter-out -march=%,$(shell pkg-config --cflags libdpdk))
DPDK_LIBS	:= -lrte_ring -lrte_eal
endif
BENCH_ARGS	?=
BENCH_OUT	:= $(B)/bench

$(B)/obj/tools/bench/rte_ring.o: TOOL_CPPFLAGS_bench += $(DPDK_CFLAGS)
TOOL_LDLIBS_bench := $(DPDK_LIBS)

.PHONY: bench bench-deps
bench-deps:
	sh tools/install-deps.sh --bench

bench: $(BENCH)
	@mkdir -p $(BENCH_OUT)
	./$(BENCH) --tag "commit=$$(git rev-parse --short HEAD 2>/dev/null)$$(git diff --quiet HEAD 2>/dev/null || echo -dirty)" \
		$(BENCH_ARGS) | tee $(BENCH_OUT)/results.txt
	@if command -v valgrind >/dev/null 2>&1; then \
		sh tools/bench/icount.sh $(BENCH) | tee -a $(BENCH_OUT)/results.txt; \
	else echo "bench: no valgrind, no instruction counts (tools/install-deps.sh)"; fi
	sh tools/bench/report.sh $(BENCH_OUT)/results.txt $(BENCH_OUT)

# Fuzzing ---------------------------------------------------------------
#
#   make fuzz-build   build/fuzz/fuzz_* (clang, libFuzzer, ASan+UBSan)
#   make fuzz         run each from its corpus for FUZZ_SECONDS (default
#                     60); new inputs go to build/fuzz/corpus-<name>,
#                     failures to build/fuzz/crash-*
#
# Only the freestanding core is linked: the harnesses play both roles over
# an in-process region.  tests/fuzz_check.sh (in make check) runs each for
# a fixed number of runs; tests/fuzz/README says what each one asserts.

FUZZ_CC		?= clang
FUZZ_SAN	:= -fsanitize=address,undefined -fno-sanitize-recover=all \
		   -fno-omit-frame-pointer
FUZZ_CFLAGS	:= -std=c11 -O1 -g $(WARNFLAGS) $(FUZZ_SAN)
FUZZ_SRCS	:= $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZERS		:= $(FUZZ_SRCS:tests/fuzz/%.c=$(B)/fuzz/%)
FUZZ_OBJS	:= $(patsubst %.c,$(B)/fuzz/obj/%.o,$(sort $(wildcard lib/core/*.c)))
FUZZ_SECONDS	?= 60

$(B)/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link \
		$(DEPFLAGS) -c -o $@ $<

$(B)/fuzz/%: tests/fuzz/%.c $(FUZZ_OBJS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) -Itests/fuzz $(FUZZ_CFLAGS) -fsanitize=fuzzer \
		$(DEPFLAGS) -o $@ $< $(FUZZ_OBJS)

.PHONY: fuzz fuzz-build
fuzz-build: $(FUZZERS)

fuzz: fuzz-build
	@for f in $(FUZZERS); do \
		n=$$(basename $$f); mkdir -p $(B)/fuzz/corpus-$$n; \
		echo "=== $$n: $(FUZZ_SECONDS) s"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
			-artifact_prefix=$(B)/fuzz/ $(B)/fuzz/corpus-$$n \
			tests/fuzz/corpus/$$n || exit 1; \
	done

-include $(wildcard $(B)/obj/lib/*/*.d $(B)/asan/obj/lib/*/*.d \
		    $(B)/tools/*.d $(B)/obj/tools/*/*.d \
		    $(B)/tests/*.d $(B)/asan/tests/*.d \
		    $(B)/fuzz/*.d $(B)/fuzz/obj/lib/*/*.d)

# Installing, the module on one's own machine, Debian packages.
include mk/install.mk mk/module.mk mk/deb.mk

# In-VM driver suites (tests/vm/*_test.c) on Debian's 6.1 and 6.12 cloud
# kernels under QEMU/TCG; installs what it needs, not part of "check".
# Options through VMFLAGS, e.g. make vm-check VMFLAGS='--kernel 6.1'.
.PHONY: vm-check
vm-check:
	bash tools/vm/run.sh $(VMFLAGS)
