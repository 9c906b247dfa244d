# Every build option of esmcheck lives in this one file.
option(ESMC_WERROR "Treat compiler warnings as errors" OFF)
option(ESMC_TESTS "Build the cmocka unit tests (needs libcmocka-dev)" ON)
option(ESMC_FUZZ "Build libFuzzer targets too (clang only)" OFF)
set(ESMC_SANITIZE "" CACHE STRING
    "Comma-separated sanitizers, e.g. address,undefined")

add_compile_options(-Wall -Wextra -Wshadow -Wstrict-prototypes
                    -Wmissing-prototypes -Wformat=2 -Wvla)
if(ESMC_WERROR)
  add_compile_options(-Werror)
endif()
if(ESMC_SANITIZE)
  add_compile_options(-fsanitize=${ESMC_SANITIZE} -fno-sanitize-recover=all
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${ESMC_SANITIZE})
endif()
if(ESMC_FUZZ AND NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "ESMC_FUZZ=ON needs clang: CC=clang cmake -DESMC_FUZZ=ON ...")
endif()
if(ESMC_FUZZ)
  # Coverage instrumentation everywhere; only fuzz targets link libFuzzer.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
