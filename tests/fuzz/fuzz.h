/* tests/fuzz/fuzz.h: what the fuzz harnesses share.
 *
 * Every harness (tests/fuzz/fuzz-NAME.c) defines LLVMFuzzerTestOneInput
 * and nothing else.  Built with clang and -fsanitize=fuzzer (make fuzz,
 * tests/fuzz/fuzz.mk) libFuzzer drives it; built by make check with gcc it
 * is linked with tests/fuzz/driver.c, which feeds it every file of the
 * saved corpus and regression inputs (tests/fuzz/regress.sh).
 *
 * A harness checks more than "no crash": what the parser promises (an
 * error always has a code and a message, ranges the map reports are
 * contiguous, zero ranges read as zeros, ...) is checked with FUZZ_CHECK,
 * which aborts, so that libFuzzer (or the driver) reports the input.
 */
#ifndef VIXMOUNT_FUZZ_H
#define VIXMOUNT_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* Aborts with the failed condition (the input is then a finding). */
#define FUZZ_CHECK(cond) \
  ((cond) ? (void) 0 : fuzz_fail (__FILE__, __LINE__, #cond))
void fuzz_fail (const char *file, int line, const char *what)
  __attribute__ ((noreturn));

/* Reads string S (may be NULL) to its end, so that the sanitizers see one
 * that dangles or is not terminated.  Returns its length (0 for NULL). */
size_t fuzz_touch (const char *s);

/* The parsers under test open files by name: the input is put in a memory
 * file (memfd, no file system) and its name, "/proc/self/fd/N", returned.
 * One memory file per process, rewritten for each input. */
const char *fuzz_memfile (const void *data, size_t size);

/* The image harnesses (fuzz-sparse, fuzz-cowd, fuzz-sesparse): the input
 * is a script of FUZZ_SCRIPT_BYTES (open flags and operations, see
 * image.c) followed by the file; the file's first magic_len bytes are
 * replaced by MAGIC, so that every input reaches the parser of that kind. */
#define FUZZ_SCRIPT_OPS   5
#define FUZZ_OP_BYTES     12
#define FUZZ_SCRIPT_BYTES (1 + FUZZ_SCRIPT_OPS * FUZZ_OP_BYTES)
void fuzz_image (const uint8_t *data, size_t size, const void *magic,
                 size_t magic_len);

#endif
