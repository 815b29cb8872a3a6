/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What bindgen reads to make dm_bindings_generated.rs (see Kbuild): the
 * device-mapper target API, which the kernel's own `bindings` crate lacks.
 */
#include <linux/bio.h>
#include <linux/device-mapper.h>
