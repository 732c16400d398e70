// SPDX-License-Identifier: GPL-2.0
/*
 * l3l2q_main.c - module parameters, module init and exit.
 *
 * The module cannot be unloaded while any device fd, region fd or mapping
 * exists, because every file_operations has .owner and each mapping holds
 * its file.
 */
#include <linux/module.h>
#include <linux/sizes.h>

#include "l3l2q_internal.h"

/* ---------------------------------------------------------------------- */
/* Limits                                                                 */
/* ---------------------------------------------------------------------- */

/* Counted in region bytes (off.total_bytes, page aligned). */
unsigned long l3l2q_max_queue_bytes = SZ_64M;
module_param_named(max_queue_bytes, l3l2q_max_queue_bytes, ulong, 0644);
MODULE_PARM_DESC(max_queue_bytes,
		 "Largest region of one queue, in bytes (larger: E2BIG)");

/*
 * What all regions of one user may hold is RLIMIT_MEMLOCK, and of one
 * container its memory cgroup's limit (l3l2q_host.c).
 */

/* ---------------------------------------------------------------------- */
/* Module                                                                 */
/* ---------------------------------------------------------------------- */

static int __init l3l2q_init(void)
{
	int ret;

	/* The ABI's fixed sizes (uapi/l3l2q.h); a change here is a break. */
	BUILD_BUG_ON(sizeof(struct l3l2q_ctrl_hdr) != 64);
	BUILD_BUG_ON(sizeof(struct l3l2q_region_offsets) != 56);
	BUILD_BUG_ON(sizeof(struct l3l2q_create_args) != 168);
	BUILD_BUG_ON(sizeof(struct l3l2q_peer_args) != 32);
	BUILD_BUG_ON(sizeof(struct l3l2q_info_args) != 128);
	BUILD_BUG_ON(sizeof(struct l3l2q_wait_args) != 16);
	BUILD_BUG_ON(sizeof(struct l3l2q_eventfd_args) != 16);

	l3l2q_debugfs_init();
	ret = l3l2q_host_dev_init();
	if (ret)
		goto out_debugfs_exit;
	ret = l3l2q_pci_init();
	if (ret)
		goto out_host_dev_exit;
	return 0;

out_host_dev_exit:
	l3l2q_host_dev_exit();
out_debugfs_exit:
	l3l2q_debugfs_exit();
	return ret;
}

static void __exit l3l2q_exit(void)
{
	l3l2q_pci_exit();
	l3l2q_host_dev_exit();
	l3l2q_debugfs_exit();
}

module_init(l3l2q_init);
module_exit(l3l2q_exit);

MODULE_DESCRIPTION("l3l2q: shared-memory task queues between host and accelerator");
MODULE_LICENSE("GPL");
