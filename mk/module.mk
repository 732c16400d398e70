# SPDX-License-Identifier: MIT
#
# The driver on one's own machine (included by the Makefile):
#
#   make module [KDIR=...]       build/module/l3l2q.ko for the running kernel
#                                (or the kernel whose build tree KDIR is)
#   make modules_install         kbuild's modules_install: under
#                                $(DESTDIR)/lib/modules/<release>/, then depmod
#   make module-src              the module's sources and dkms.conf in
#                                $(DESTDIR)$(DKMS_SRCDIR), for "dkms install
#                                l3l2q/$(VERSION)"; the l3l2q-dkms package
#                                ships the same files
#
# kbuild builds an external module in its source tree (M=), and its clean
# deletes every *.o and *.a under M (see Kbuild): the module is built in a
# copy of its sources under build/module/, as tools/vm/run.sh does.  The
# copy keeps the files' times, so an unchanged file is not rebuilt.

KDIR		?= /lib/modules/$(shell uname -r)/build
MODULE_BUILD	:= $(B)/module
# Everything the module is compiled from: Kbuild, the driver, the
# freestanding core it shares with the library, and the ABI headers
# (lib/include/l3l2q is a link to uapi/, kept as a link).
MODULE_SRCS	:= Kbuild kmod lib/core lib/include uapi
# Never kbuild's artefacts of an in-place build (see Kbuild).
MODULE_TAR	:= tar --exclude='*.o' --exclude='*.ko' --exclude='*.mod' \
		   --exclude='*.mod.c' --exclude='.*.cmd' --exclude='*.a' \
		   --exclude='modules.order' --exclude='Module.symvers'
DKMS_SRCDIR	?= /usr/src/l3l2q-$(VERSION)

.PHONY: module modules_install module-src

module:
	@test -f $(KDIR)/Makefile || { \
		echo "no kernel build tree at $(KDIR): install the headers of the running kernel (Debian: linux-headers-$$(uname -r)) or pass KDIR=<dir>" >&2; \
		exit 1; }
	@mkdir -p $(MODULE_BUILD)/src
	$(MODULE_TAR) -cf - $(MODULE_SRCS) | tar -C $(MODULE_BUILD)/src -xf -
	$(MAKE) -C $(KDIR) M=$(abspath $(MODULE_BUILD)/src) modules
	cp $(MODULE_BUILD)/src/l3l2q.ko $(MODULE_BUILD)/l3l2q.ko
	@echo "built $(MODULE_BUILD)/l3l2q.ko for $(KREL)"

# The release the tree was built for, as modules are installed under it
# (Debian's kernel.release holds the upstream version; utsrelease.h has
# the real one).
KREL		= $(shell sed -n 's/.*UTS_RELEASE "\(.*\)"/\1/p' \
		    $(KDIR)/include/generated/utsrelease.h 2>/dev/null)
# A distribution kernel's build tree has no signing key (Debian signs its
# modules elsewhere) and kbuild would print an SSL error for each module:
# sign only with a key the tree has.  Under Secure Boot, sign with your
# own key (DKMS does: its MOK).
KSIGN_KEY	= $(shell sed -n 's/^CONFIG_MODULE_SIG_KEY="*\([^"]*\)"*$$/\1/p' \
		    $(KDIR)/include/config/auto.conf 2>/dev/null)
KSIGN_ARGS	= $(if $(KSIGN_KEY),$(if $(wildcard $(KDIR)/$(KSIGN_KEY) \
		    $(KSIGN_KEY)),,CONFIG_MODULE_SIG_ALL=))

# kbuild's own install (its directory: extra/ or updates/).  kbuild skips
# depmod when the build tree has no System.map (a headers package has
# none): run it here for a real install, so that modprobe finds l3l2q.
modules_install: module
	$(MAKE) -C $(KDIR) M=$(abspath $(MODULE_BUILD)/src) \
		INSTALL_MOD_PATH=$(DESTDIR) $(KSIGN_ARGS) modules_install
	$(if $(DESTDIR),,depmod -a $(KREL))

module-src:
	install -d $(DESTDIR)$(DKMS_SRCDIR)
	$(MODULE_TAR) -cf - $(MODULE_SRCS) | tar -C $(DESTDIR)$(DKMS_SRCDIR) \
		--no-same-owner -xf -
	install -m 0644 dkms.conf $(DESTDIR)$(DKMS_SRCDIR)/dkms.conf
