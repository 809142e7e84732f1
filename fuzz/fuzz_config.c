/* fuzz_config.c: libFuzzer target for the run-config loader (YAML text plus --set overrides, see fuzz_entry.h). */
#include "fuzz_entry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_config_input(data, size);
    return 0;
}
