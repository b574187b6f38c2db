/* tests/fuzz/fuzz-config: the configuration file of VixDiskLib_InitEx and
 * VixMntapi_Init (common/vix/config.c, vx_config_parse) on text in memory:
 * "name = value" lines, quotes, comments, CRLF, NUL bytes, log levels. */
#include <string.h>

#include "fuzz.h"
#include "vix.h"

static void
check_level (int level)
{
  FUZZ_CHECK (level >= -1 && level <= VX_TRIVIA);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct vx_config cfg = VX_CONFIG_INIT;

  vx_config_parse (&cfg, "fuzz.conf", (const char *) data, size);
  check_level (cfg.log_level);
  check_level (cfg.mntapi_log_level);
  check_level (cfg.log_file_level);
  /* values come from one line; a note quotes at most a key and a value */
  FUZZ_CHECK (fuzz_touch (cfg.tmp_directory) <= size);
  FUZZ_CHECK (fuzz_touch (cfg.log_file) <= size);
  for (size_t i = 0; i < cfg.n_notes; i++) {
    FUZZ_CHECK (cfg.notes[i].text != NULL);
    FUZZ_CHECK (fuzz_touch (cfg.notes[i].text) <= size + 256);
  }
  vx_config_free (&cfg);
  FUZZ_CHECK (cfg.notes == NULL && cfg.n_notes == 0 && cfg.log_level == -1);
  return 0;
}
