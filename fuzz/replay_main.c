/*
 * replay_main.c: runs a fuzz target's entry point over files given on the
 * command line, without libFuzzer, so corpora replay under plain ctest and
 * AFL++ can drive the same target. Each file is read into an exact-size
 * buffer so overreads trip the sanitizers.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
  int i, n = 0;
  for(i = 1; i < argc; i++) {
    FILE *f = fopen(argv[i], "rb");
    long len;
    uint8_t *buf;
    if(!f) {
      fprintf(stderr, "replay: cannot open %s\n", argv[i]);
      return 1;
    }
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc(len > 0 ? (size_t)len : 1);
    if(!buf || (len > 0 && fread(buf, 1, (size_t)len, f) != (size_t)len)) {
      fprintf(stderr, "replay: cannot read %s\n", argv[i]);
      fclose(f);
      free(buf);
      return 1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, (size_t)(len > 0 ? len : 0));
    free(buf);
    n++;
  }
  printf("replay: %d input(s), no crash\n", n);
  return 0;
}
