/* fuzz.h — what the libFuzzer harnesses in tests/fuzz/ share: an assertion that survives
 * NDEBUG (a broken invariant is a crash the fuzzer reports), and the input cut into a selector
 * byte and the rest.  Each harness is one fuzz_<name>.c defining LLVMFuzzerTestOneInput;
 * make fuzz builds them with clang -fsanitize=fuzzer,address,undefined (README.md there). */
#ifndef GEMGATE_FUZZ_H
#define GEMGATE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(x) do { if(!(x)) { fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #x); abort(); } } while(0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A NUL-terminated copy of p[0..n) (malloc'ed). */
static inline char *fuzz_cstr(const uint8_t *p, size_t n)
{
  char *s = malloc(n + 1);
  if(!s) abort();
  memcpy(s, p, n);
  s[n] = '\0';
  return s;
}

#endif
