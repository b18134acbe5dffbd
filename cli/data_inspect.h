/* cli/data_inspect.h - `genbench data inspect NAME|STANDIN|PATH` (cli/data_inspect.c). */
#ifndef GB_CLI_DATA_INSPECT_H
#define GB_CLI_DATA_INSPECT_H

#include <stdint.h>

#include "../core/status.h"

/* what: a registered dataset (read under the data root: data_option, else $GB_DATA, else
 * data/), a stand-in ("shapes32", "synthetic:glyphs28", ... generated with seed and count, or
 * 1000 images per split / the stand-in's instances per class when count <= 0) or an existing
 * path. GB_USAGE when it is none of these; the loaders' statuses otherwise. */
gb_status gb_data_inspect(const char *what, const char *data_option, uint64_t seed, long long count);

#endif
