// libFuzzer's driver (compiler-rt, linked by -sanitize=fuzzer). SwiftPM points an executable's
// `main` at the module's own entry point, so each target's main.swift starts libFuzzer itself.
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
// glibc's memmem, a GNU extension the Glibc module leaves out (the fuzz targets search bytes with it).
void *memmem(const void *haystack, size_t haystacklen, const void *needle, size_t needlelen);
