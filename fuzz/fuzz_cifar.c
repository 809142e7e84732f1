/* fuzz_cifar.c: libFuzzer target for the CIFAR-10 binary reader (cifar_count, cifar_load, cifar_free). */
#include "fuzz_entry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_cifar_input(data, size);
    return 0;
}
