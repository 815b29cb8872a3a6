#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# probe-dm-core.sh DIR...: print the first DIR (a kernel tree's drivers/md)
# whose dm_per_bio_data() dm.rs can mirror, or nothing.
#
# dm_per_bio_data() is a function exported by dm.c, not a static inline: the
# layout it computes with is in device-mapper's private dm-core.h. Calling it
# twice per bio costs dmp about 0.3% of its IOPS, so where the tree has
# dm-core.h and a dm.c whose dm_per_bio_data() and the dm-core.h helpers it
# uses are exactly the ones mirrored (compared as text, blanks ignored), dm.rs
# computes the same thing inline, with the offsets bindgen reads from that
# dm-core.h. Anywhere else (a headers-only tree, another dm), it calls the
# exported function.
set -eu

squeeze() { tr -d ' \t\n'; }

want_fn='void*dm_per_bio_data(structbio*bio,size_tdata_size){if(!dm_tio_flagged(clone_to_tio(bio),DM_TIO_INSIDE_DM_IO))return(char*)bio-DM_TARGET_IO_BIO_OFFSET-data_size;return(char*)bio-DM_IO_BIO_OFFSET-data_size;}'
want_flagged='staticinlinebooldm_tio_flagged(structdm_target_io*tio,unsignedintbit){return(tio->flags&(1U<<bit))!=0;}'
want_clone='staticinlinestructdm_target_io*clone_to_tio(structbio*clone){returncontainer_of(clone,structdm_target_io,clone);}'

for dir; do
	[ -f "$dir/dm-core.h" ] && [ -f "$dir/dm.c" ] || continue
	fn=$(sed -n '/^void \*dm_per_bio_data(/,/^}/p' "$dir/dm.c" | squeeze)
	flagged=$(sed -n '/^static inline bool dm_tio_flagged(/,/^}/p' "$dir/dm-core.h" | squeeze)
	clone=$(sed -n '/^static inline struct dm_target_io \*clone_to_tio(/,/^}/p' "$dir/dm.c" | squeeze)
	if [ "$fn" = "$want_fn" ] && [ "$flagged" = "$want_flagged" ] && [ "$clone" = "$want_clone" ]; then
		echo "$dir"
		exit 0
	fi
done
