// libFuzzer's driver (compiler-rt, linked by -sanitize=fuzzer). SwiftPM points an executable's
// `main` at the module's own entry point, so each target's main.swift starts libFuzzer itself.
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
