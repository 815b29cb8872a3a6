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
