/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What bindgen reads to make dm_bindings_generated.rs (see Kbuild): the
 * device-mapper target API, which the kernel's own `bindings` crate lacks.
 */
#include <linux/bio.h>
#include <linux/cpumask.h>
#include <linux/device-mapper.h>
#include <linux/percpu.h>
#include <linux/timekeeping.h>
#ifdef CONFIG_X86
#include <asm/tsc.h>
#endif

/*
 * Macros bindgen cannot evaluate (they cast with __force), made constants it
 * can, as the kernel's rust/bindings/bindings_helper.h does.
 */
const blk_status_t DMP_BLK_STS_AGAIN = BLK_STS_AGAIN;

#ifdef DMP_DM_CORE
/*
 * What dm_per_bio_data() (drivers/md/dm.c) computes with, from
 * device-mapper's private header, for dm.rs's mirror of it (Kbuild only
 * defines DMP_DM_CORE where scripts/probe-dm-core.sh found the very
 * function dm.rs mirrors).
 */
#include "dm-core.h"
const size_t DMP_TARGET_IO_BIO_OFFSET = DM_TARGET_IO_BIO_OFFSET;
const size_t DMP_IO_BIO_OFFSET = DM_IO_BIO_OFFSET;
const size_t DMP_TIO_FLAGS_OFFSET = offsetof(struct dm_target_io, flags);
const size_t DMP_TIO_FLAGS_SIZE = sizeof(((struct dm_target_io *)0)->flags);
const unsigned int DMP_TIO_INSIDE_DM_IO = DM_TIO_INSIDE_DM_IO;
#endif
