/* fuzz_entry.h: the per-input entry points shared by the libFuzzer targets and the ctest regression replay. */
#ifndef FUZZ_ENTRY_H
#define FUZZ_ENTRY_H

#include <stddef.h>
#include <stdint.h>

/*
 * A config input is YAML text, optionally followed by the marker line FUZZ_SET_MARKER and
 * up to FUZZ_MAX_SETS lines, each one command-line argument after the config file: a line
 * that starts with "--set" is passed as written ("--set" alone takes the next line, as
 * written, as its value; "--set=K=V" is one argument), any other line L is passed as
 * "--set" L; the newline that ends the last line starts no empty argument. The marker
 * is a YAML comment, so every corpus file is also a config `resnet config` can read.
 * Before those, the entry sets data.dir to a private folder of small (sparse) files named
 * data_batch_1.bin..data_batch_5.bin, test_batch.bin, a.bin (2 records), empty.bin and
 * odd.bin (100 bytes), so epochs and the batch-size check resolve against real sizes.
 */
#define FUZZ_SET_MARKER "#--set"
#define FUZZ_MAX_SETS 4

/*
 * Each entry writes the input to a private temporary file, runs the reader on it the way
 * the program does, and abort()s when an invariant breaks (an error without a message, an
 * exit code outside 0/2/3, a printed config that does not load back the same, records that
 * differ from the file's bytes...), so a wrong answer is a finding just like a crash.
 * Both return the reader's result code (0, 2 or 3).
 */
int fuzz_config_input(const uint8_t *data, size_t size);
int fuzz_cifar_input(const uint8_t *data, size_t size);

/*
 * Messages the readers write to stderr are captured per input; with `quiet` 0 they are
 * passed on to the real stderr after the checks (for replaying one input by hand).
 */
void fuzz_set_quiet(int quiet);

#endif
