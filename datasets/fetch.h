/* datasets/fetch.h - download a registered dataset with curl, verify it, unpack archives.
 *
 * The download never leaves a half file under the final name: curl writes "<name>.part"
 * (resumed with `-C -` when a previous attempt left one), the .part is checked against the
 * published size and digest (datasets/registry.h), and only then renamed into place. A
 * digest mismatch removes the .part and is GB_INPUT naming the file, the expected and the
 * computed digests. curl is started with posix_spawnp and an argument vector (no shell,
 * so a URL is never interpreted); no curl on PATH, or curl failing on every URL (no network,
 * unknown host, HTTP error, missing file:// path), is GB_ENV with curl's exit code and
 * reason. Archives marked `extract` are unpacked into the dataset folder afterwards (zip via
 * libzip, tar or tar.gz via core/tar.h); member paths that are absolute or contain ".." are
 * refused, links and devices are skipped, and each member is written atomically
 * (core/atomic_file.h).
 * Tested by tests/smoke_data.sh (file:// URLs through GB_DATA_URL_OVERRIDE_<NAME>) and
 * tests/test_datasets_synth.c (unpacking, unsafe member paths).
 */
#ifndef GB_DATASETS_FETCH_H
#define GB_DATASETS_FETCH_H

#include "core/status.h"
#include "datasets/registry.h"

/* Fetch every file of ds into <root>/<ds->dir>/ (files already there and verified are kept;
 * one already there that fails verification is left alone and reported as GB_INPUT, because
 * only the user should delete data). Then unpack archives whose dataset needs are not met. */
gb_status gb_data_fetch(const char *root, const gb_dataset_info *ds);

/* Download one URL into `part` with curl (resuming an existing part). GB_ENV on failure. */
gb_status gb_curl_download(const char *url, const char *part);

/* Unpack a zip archive into dir. GB_INPUT naming the archive and member on a bad archive. */
gb_status gb_unzip(const char *archive, const char *dir);
/* Unpack a tar archive (gzip-compressed or not) into dir; GB_INPUT naming the archive and the
 * member's byte offset on a bad archive or an unsafe path. */
gb_status gb_untar(const char *archive, const char *dir);

#endif
