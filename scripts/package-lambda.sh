#!/usr/bin/env bash
# Builds the `bootstrap` product and lays out a self-contained Lambda package in <artifacts-dir>:
#   bootstrap            the stripped binary itself (no shell wrapper); Swift stdlib, libstdc++, a
#                        minimal libcurl, OpenSSL's libssl/libcrypto and zlib linked in statically
#   lib/ld-linux-*.so.2  the ELF loader it was linked against (Debian 12, glibc 2.36)
#   lib/*.so*            every shared library `ldd` resolves: libc, libm, libgcc_s
# The binary's PT_INTERP points at /var/task/lib/<loader> and its DT_RPATH is $ORIGIN/lib, so it
# runs on Amazon Linux 2 (glibc 2.26) and 2023 (glibc 2.34) alike, without the host's libraries.
# Linking those libraries in (LINK=static, the default) is a cold-start measure: the loader no longer
# maps them and binds their ~9,000 symbol relocations at each start (about 2.8 ms of a cold message
# review's 9.2 ms of CPU, BENCHMARKS.md). LINK=dynamic ships them as shared libraries instead (and
# static linking falls back to that, with a warning, when a static library cannot be had).
# Env: SWIFT_BUILD_FLAGS (extra flags), SWIFT_BUILD_LOCK (see 1.), SKIP_SWIFT_BUILD=1 with BOOTSTRAP_BIN=path (package a prebuilt
# binary), LINK=static|dynamic, MIN_CURL=0 (Debian's full libcurl stack; implies LINK=dynamic),
# TASK_ROOT (default /var/task: only for experiments, Lambda needs /var/task).
set -euo pipefail

out=${1:?usage: package-lambda.sh <artifacts-dir>}
root=$(cd "$(dirname "$0")/.." && pwd)
task_root=${TASK_ROOT:-/var/task}
link=${LINK:-static}; [[ "${MIN_CURL:-1}" == 0 ]] && link=dynamic
curl_failed=0  # set when the minimal libcurl cannot be built: step 3 does not try again

# Static libraries for LINK=static, in <dir>/lib, and pkg-config files in <dir>/pkgconfig that name
# them for Package.swift's system libraries (libcurl, openssl): SwiftPM reads PKG_CONFIG_PATH first, and
# their -L comes before the system's, so `-lcurl -lssl -lcrypto -lz -lstdc++` find the archives.
# Each file is replaced in one step (a link or a rename), so that packagings run side by side (SAM's
# build-<Function> targets) never see the folder half made.
static_libraries() {
  local dir=$1 curl_a
  curl_a=$("$root/scripts/build-min-curl.sh" --static) || { curl_failed=1; return 1; }
  mkdir -p "$dir/lib" "$dir/pkgconfig"
  ln -sfn "$curl_a" "$dir/lib/libcurl.a"
  local name path
  for name in libssl.a libcrypto.a libz.a libstdc++.a; do
    path=$(g++ -print-file-name="$name")
    [[ $path == /* && -f $path ]] || { echo "package-lambda: no static $name (libssl-dev, zlib1g-dev, libstdc++-12-dev)" >&2; return 1; }
    ln -sfn "$path" "$dir/lib/$name"
  done
  printf 'Name: libcurl\nDescription: minimal libcurl, static\nVersion: %s\nLibs: -L%s -lcurl -lssl -lcrypto -lz\nCflags:\n' \
    "$(pkg-config --modversion libcurl)" "$dir/lib" > "$dir/pkgconfig/libcurl.pc.$$"
  printf 'Name: OpenSSL\nDescription: libssl and libcrypto, static\nVersion: %s\nLibs: -L%s -lssl -lcrypto\nCflags:\n' \
    "$(pkg-config --modversion openssl)" "$dir/lib" > "$dir/pkgconfig/openssl.pc.$$"
  mv -f "$dir/pkgconfig/libcurl.pc.$$" "$dir/pkgconfig/libcurl.pc"
  mv -f "$dir/pkgconfig/openssl.pc.$$" "$dir/pkgconfig/openssl.pc"
}

# 1. Build, Swift stdlib linked statically. One Swift build at a time on this machine: flock on
#    SWIFT_BUILD_LOCK (default /tmp/swift-build.lock; empty = no lock, e.g. when the caller holds it).
lock=(); [[ -n "${SWIFT_BUILD_LOCK-/tmp/swift-build.lock}" ]] && lock=(flock "${SWIFT_BUILD_LOCK-/tmp/swift-build.lock}")
if [[ "${SKIP_SWIFT_BUILD:-0}" != 1 ]]; then
  # Its own build folder, apart from the debug one (and from a `swift test` run that holds .build).
  scratch="$root/.build-release"
  if [[ $link == static ]]; then
    if static_libraries "$scratch/static-link"; then
      export PKG_CONFIG_PATH="$scratch/static-link/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
    else
      echo "package-lambda: WARNING: static libraries unavailable; linking libcurl/OpenSSL/libstdc++ dynamically" >&2
      link=dynamic
    fi
  fi
  flags=(-c release --product bootstrap --static-swift-stdlib --package-path "$root" --scratch-path "$scratch")
  # shellcheck disable=SC2206
  flags+=(${SWIFT_BUILD_FLAGS:-})
  "${lock[@]}" swift build "${flags[@]}"
  bin="$("${lock[@]}" swift build "${flags[@]}" --show-bin-path)/bootstrap"
  needed=$(readelf -d "$bin" | grep NEEDED || true)
  if [[ $link == static && $needed =~ libcurl|libssl|libcrypto|libstdc ]]; then
    echo "package-lambda: LINK=static, but $bin still needs:" >&2; echo "$needed" >&2; exit 1
  fi
else
  bin=${BOOTSTRAP_BIN:?set BOOTSTRAP_BIN with SKIP_SWIFT_BUILD=1}
fi
[[ -x "$bin" ]] || { echo "package-lambda: no executable at $bin" >&2; exit 1; }

# 2. Fresh layout: the binary, stripped.
mkdir -p "$out"
rm -rf "$out/bootstrap" "$out/lib"
mkdir -p "$out/lib"
install -m 0755 "$bin" "$out/bootstrap"
strip --strip-all "$out/bootstrap"

# 3. A binary that loads libcurl (LINK=dynamic, or a prebuilt one): the minimal HTTP(S)-only build of
#    Debian's same version (scripts/build-min-curl.sh) instead of Debian's, whose LDAP/RTMP/SSH/Kerberos/IDN
#    stack doubles the zip. MIN_CURL=0: Debian's.
if [[ "${MIN_CURL:-1}" != 0 && $(readelf -d "$out/bootstrap") == *"[libcurl.so"* ]]; then
  if [[ $curl_failed == 0 ]] && curl_lib=$("$root/scripts/build-min-curl.sh"); then
    install -m 0755 "$curl_lib" "$out/lib/libcurl.so.4"
    strip --strip-unneeded "$out/lib/libcurl.so.4"
  else
    echo "package-lambda: WARNING: minimal libcurl build failed; bundling Debian's full libcurl stack" >&2
  fi
fi

# 4. DT_RPATH (not RUNPATH: it also applies to the libraries' own dependencies, libcurl -> libssl)
#    first, so ldd resolves what lib/ already holds; then copy in everything else it resolves.
patchelf --force-rpath --set-rpath '$ORIGIN/lib' "$out/bootstrap"
if ldd "$out/bootstrap" | grep -q 'not found'; then
  echo "package-lambda: unresolved libraries:" >&2; ldd "$out/bootstrap" | grep 'not found' >&2; exit 1
fi
ldd "$out/bootstrap" | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }' | while read -r name path; do
  [[ -e "$out/lib/$name" ]] || install -m 0755 "$(readlink -f "$path")" "$out/lib/$name"
done

# 5. The ELF loader it was linked against, and the binary pointed at it inside the task root.
interp=$(patchelf --print-interpreter "$out/bootstrap")
loader=$(basename "$interp")
install -m 0755 "$(readlink -f "$interp")" "$out/lib/$loader"
patchelf --set-interpreter "$task_root/lib/$loader" "$out/bootstrap"

echo "package-lambda: $out: bootstrap $(du -h "$out/bootstrap" | cut -f1), lib/ $(ls "$out/lib" | wc -l) files, $(du -sh "$out/lib" | cut -f1)"
