#!/bin/sh
# out_of_tree.sh SOURCE_DIR BINARY_DIR ESMCHECK: install esmcheck into a
# temporary prefix, build examples/out-of-tree against it twice (CMake
# package, pkg-config), and load the result with esmcheck.
set -eu
src=$1 bin=$2 esmcheck=$3
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cmake --install "$bin" --prefix "$out/prefix" --component Unspecified >/dev/null
test -f "$out/prefix/include/esmcheck_adapter.h"
for how in cmake pkg-config; do
  if [ $how = cmake ]; then
    set -- -DCMAKE_PREFIX_PATH="$out/prefix"
  else
    PKG_CONFIG_PATH=$out/prefix/share/pkgconfig
    export PKG_CONFIG_PATH
    test -f "$(pkg-config --variable=includedir esmcheck)/esmcheck_adapter.h"
    set -- -DUSE_PKG_CONFIG=ON
  fi
  # A clean environment: no sanitizer flags from the parent build.
  env -u CFLAGS -u LDFLAGS cmake -S "$src/examples/out-of-tree" -B "$out/$how" \
    -DCMAKE_C_FLAGS="-Wall -Wextra -Werror" "$@" >/dev/null
  cmake --build "$out/$how" >/dev/null
  "$esmcheck" run --adapter "$out/$how/libmy_adapter.so" --cases "$src/cases" \
    --filter kinesis-idle-polling --report "$out/r-$how" >"$out/log" 2>&1 || true
  grep -q "adapter my-adapter 0.0.1" "$out/log" || { cat "$out/log"; exit 1; }
  echo "out-of-tree adapter built with $how and loaded"
done
