#!/bin/bash -eu
# ClusterFuzzLite / OSS-Fuzz build: the targets of fuzz/ against
# $LIB_FUZZING_ENGINE, with the engine's $CC/$CFLAGS (sanitizers included).
# ESMC_FUZZ stays OFF: CFLAGS already carry the coverage flags.
cmake -S . -B build-cfl -DESMC_TESTS=OFF -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_FLAGS="$CFLAGS"
cmake --build build-cfl -j"$(nproc)" --target esmc_harness esmc_reference
for t in case_parse_fuzzer response_fuzzer scenario_fuzzer diff_fuzzer; do
  $CC $CFLAGS -c fuzz/$t.c -o build-cfl/$t.o -Iharness -Ireports -Ispec -Ireference \
    -DESMC_ADAPTER_STATIC -DESMC_VERSION=\"cfl\" -DESMC_RULES_DEF=\"$PWD/spec/rules.def\"
  $CXX $CXXFLAGS build-cfl/$t.o -o "$OUT/$t" $LIB_FUZZING_ENGINE \
    build-cfl/harness/libesmc_harness.a build-cfl/reference/libesmc_reference_static.a -ldl -lm
  [ -f fuzz/$t.options ] && cp fuzz/$t.options "$OUT/"
  [ -f fuzz/$t.dict ] && cp fuzz/$t.dict "$OUT/"
done
cp build-cfl/libesmc_reference.so "$OUT/"
# Seed corpora: the committed corpora; the case files for the parser.
python3 fuzz/gen_seeds.py build-cfl/seeds
(cd cases && zip -q "$OUT/case_parse_fuzzer_seed_corpus.zip" *.json)
for t in response scenario diff; do
  (cd fuzz/corpus/$t && zip -q "$OUT/${t}_fuzzer_seed_corpus.zip" * ../../../build-cfl/seeds/$t/*)
done
