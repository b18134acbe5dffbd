/* cli/cmd_data.h - `genbench data <list|verify|fetch|inspect|synth>` (cli/cmd_data.c).
 * argv[0] is "data". Exit codes: 0 ok, 2 usage, 3 bad data / checksum mismatch,
 * 5 environment (no curl, no network). Tested by tests/smoke_data.sh.
 */
#ifndef GB_CLI_CMD_DATA_H
#define GB_CLI_CMD_DATA_H

#include "../core/status.h"

gb_status gb_cmd_data(int argc, char **argv);

#endif
