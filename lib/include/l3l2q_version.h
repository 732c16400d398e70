/* SPDX-License-Identifier: MIT */
/*
 * l3l2q_version.h - the version of libl3l2q these headers belong to.
 *
 * The one place the version is written: the Makefile reads it for the
 * shared library's file name (libl3l2q.so.MAJOR.MINOR.PATCH, soname
 * libl3l2q.so.MAJOR), l3l2q.pc and the DKMS package version, and
 * tests/install_check.sh checks that debian/changelog and dkms.conf agree.
 *
 * MAJOR changes when the ABI of the shared library breaks (a new soname);
 * MINOR when functions are added (a new node in lib/libl3l2q.map); PATCH
 * for fixes only.  These macros say what the program was compiled
 * against; l3l2q_check_version() asks the library actually loaded.
 */
#ifndef L3L2Q_VERSION_H
#define L3L2Q_VERSION_H

#define L3L2Q_VERSION_MAJOR	1
#define L3L2Q_VERSION_MINOR	0
#define L3L2Q_VERSION_PATCH	0

/*
 * Non-zero when these headers are version @major.@minor or later, for
 * code that must build against several releases:
 *   #if L3L2Q_VERSION_AT_LEAST(1, 1)
 */
#define L3L2Q_VERSION_AT_LEAST(major, minor)				\
	(L3L2Q_VERSION_MAJOR > (major) ||				\
	 (L3L2Q_VERSION_MAJOR == (major) && L3L2Q_VERSION_MINOR >= (minor)))

#endif /* L3L2Q_VERSION_H */
