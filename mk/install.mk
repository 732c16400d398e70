# SPDX-License-Identifier: MIT
#
# make install / make uninstall (included by the Makefile), GNU style:
#
#   PREFIX        /usr/local
#   BINDIR        $(PREFIX)/bin              l3l2q-demo, l3l2q-devsim, ...
#   LIBDIR        $(PREFIX)/lib              libl3l2q.so.1.0.0, .so.1, .so, .a
#   INCLUDEDIR    $(PREFIX)/include          libl3l2q.h and the other library
#                                            headers; the ABI headers (uapi/)
#                                            in l3l2q/, as liburing keeps its
#                                            io_uring.h in liburing/
#   MANDIR        $(PREFIX)/share/man        man1, man3, man4, man7
#   PKGCONFIGDIR  $(LIBDIR)/pkgconfig        l3l2q.pc
#   UDEVRULESDIR  /etc/udev/rules.d          tools/udev/60-l3l2q.rules, when
#                 (/lib/udev/rules.d for     the tree has it
#                 PREFIX=/usr)
#   DESTDIR       staged installs: every path above is put under it
#
# The driver is not installed here: make module / modules_install, or DKMS
# (mk/module.mk).  The bench is a development tool and is not installed.

PREFIX		?= /usr/local
BINDIR		?= $(PREFIX)/bin
LIBDIR		?= $(PREFIX)/lib
INCLUDEDIR	?= $(PREFIX)/include
MANDIR		?= $(PREFIX)/share/man
PKGCONFIGDIR	?= $(LIBDIR)/pkgconfig
# udev reads /etc and /lib (/usr/lib), never /usr/local.
UDEVRULESDIR	?= $(if $(filter /usr,$(PREFIX)),/lib/udev/rules.d,/etc/udev/rules.d)

INSTALL_TOOLS	:= $(filter-out $(BENCH),$(filter $(B)/tools/l3l2q-%,$(TOOLS)))
LIB_HEADERS	:= $(sort $(wildcard lib/include/*.h))
UAPI_HEADERS	:= $(sort $(wildcard uapi/*.h))
MAN_PAGES	:= $(sort $(wildcard man/man[1-9]/*.[1-9]))
PC_IN		:= lib/l3l2q.pc.in
UDEV_RULE	:= tools/udev/60-l3l2q.rules
# l3l2q.pc says ${prefix}/lib rather than the path where it can, so that
# pkg-config --define-prefix can move the tree.
PC_LIBDIR	= $(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR))
PC_INCLUDEDIR	= $(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))

.PHONY: install uninstall build-install

# What install installs, built with the tree's flags; a packager builds
# this target with its own (debian/rules).
build-install: $(LIB_A) $(LIB_SO) $(INSTALL_TOOLS)

install: build-install
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR) \
		$(DESTDIR)$(INCLUDEDIR)/l3l2q $(DESTDIR)$(BINDIR)
	install -m 0755 $(LIB_SO_REAL) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(LIB_SO_REAL)) $(DESTDIR)$(LIBDIR)/$(LIB_SONAME)
	ln -sf $(LIB_SONAME) $(DESTDIR)$(LIBDIR)/libl3l2q.so
	install -m 0644 $(LIB_A) $(DESTDIR)$(LIBDIR)/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(PC_LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(PC_INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
		$(PC_IN) >$(DESTDIR)$(PKGCONFIGDIR)/l3l2q.pc
	chmod 0644 $(DESTDIR)$(PKGCONFIGDIR)/l3l2q.pc
	install -m 0644 $(LIB_HEADERS) $(DESTDIR)$(INCLUDEDIR)/
	install -m 0644 $(UAPI_HEADERS) $(DESTDIR)$(INCLUDEDIR)/l3l2q/
	for d in $(sort $(dir $(MAN_PAGES))); do \
		install -d $(DESTDIR)$(MANDIR)/$${d#man/} || exit 1; \
	done
	for p in $(MAN_PAGES); do \
		install -m 0644 $$p $(DESTDIR)$(MANDIR)/$${p#man/} || exit 1; \
	done
	install -m 0755 $(INSTALL_TOOLS) $(DESTDIR)$(BINDIR)/
	@if [ -f $(UDEV_RULE) ]; then \
		echo "install -m 0644 $(UDEV_RULE) $(DESTDIR)$(UDEVRULESDIR)/"; \
		install -d $(DESTDIR)$(UDEVRULESDIR) && \
		install -m 0644 $(UDEV_RULE) $(DESTDIR)$(UDEVRULESDIR)/; \
	else \
		echo "install: no $(UDEV_RULE) in this tree: /dev/l3l2q keeps the driver's own mode"; \
	fi
	@if [ -z "$(DESTDIR)" ] && command -v ldconfig >/dev/null && \
	    [ "$$(id -u)" = 0 ]; then echo ldconfig; ldconfig; fi

# Removes what install put there (the names come from this tree), and the
# l3l2q/ include directory once empty.
uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/$(notdir $(LIB_SO_REAL)) \
	      $(DESTDIR)$(LIBDIR)/$(LIB_SONAME) \
	      $(DESTDIR)$(LIBDIR)/libl3l2q.so \
	      $(DESTDIR)$(LIBDIR)/$(notdir $(LIB_A)) \
	      $(DESTDIR)$(PKGCONFIGDIR)/l3l2q.pc \
	      $(addprefix $(DESTDIR)$(INCLUDEDIR)/,$(notdir $(LIB_HEADERS))) \
	      $(addprefix $(DESTDIR)$(INCLUDEDIR)/l3l2q/,$(notdir $(UAPI_HEADERS))) \
	      $(patsubst man/%,$(DESTDIR)$(MANDIR)/%,$(MAN_PAGES)) \
	      $(addprefix $(DESTDIR)$(BINDIR)/,$(notdir $(INSTALL_TOOLS))) \
	      $(DESTDIR)$(UDEVRULESDIR)/$(notdir $(UDEV_RULE))
	-rmdir $(DESTDIR)$(INCLUDEDIR)/l3l2q 2>/dev/null
