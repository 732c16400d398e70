# SPDX-License-Identifier: MIT
#
# make deb: the Debian packages (debian/), built by dpkg-buildpackage in a
# copy of the tree under build/deb/, so that neither "debian/rules clean"
# (make clean: rm -rf build) nor the packages, which dpkg-buildpackage
# writes next to the tree it builds, land in the working tree.
#
#   build/deb/libl3l2q1_<version>_<arch>.deb       the shared library
#   build/deb/libl3l2q-dev_<version>_<arch>.deb    headers, .a, .so, l3l2q.pc,
#                                                  man3, man7
#   build/deb/l3l2q-dkms_<version>_all.deb         the driver's sources, DKMS
#   build/deb/l3l2q-tools_<version>_<arch>.deb     the tools, man1, man4, the
#                                                  udev rule
#
# Needs debhelper, dh-dkms and dpkg-dev: make deb-deps (tools/install-deps.sh
# --deb, which also installs dkms and lintian for tests/deb_check.sh).
# DEB_JOBS is the build's parallelism.

DEB_OUT		:= $(B)/deb
DEB_SRC		:= $(DEB_OUT)/l3l2q-$(VERSION)
DEB_JOBS	?= 2

.PHONY: deb deb-deps

deb-deps:
	sh tools/install-deps.sh --deb

# The outer make's flags and jobserver must not reach debian/rules' make.
deb:
	rm -rf $(DEB_OUT)
	mkdir -p $(DEB_SRC)
	tar --exclude=./build --exclude=./.git -cf - . | tar -C $(DEB_SRC) -xf -
	cd $(DEB_SRC) && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		-u MAKEOVERRIDES dpkg-buildpackage -b -uc -us -j$(DEB_JOBS)
	@ls -1 $(DEB_OUT)/*.deb
