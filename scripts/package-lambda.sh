#!/usr/bin/env bash
# Builds the `bootstrap` product and lays out a self-contained Lambda package in <artifacts-dir>:
#   bootstrap            the stripped binary itself (no shell wrapper)
#   lib/ld-linux-*.so.2  the ELF loader it was linked against (Debian 12, glibc 2.36)
#   lib/*.so*            every shared library `ldd` resolves, libc included (libcurl: a minimal build)
# The binary's PT_INTERP points at /var/task/lib/<loader> and its DT_RPATH is $ORIGIN/lib, so it
# runs on Amazon Linux 2 (glibc 2.26) and 2023 (glibc 2.34) alike, without the host's libraries.
# Env: SWIFT_BUILD_FLAGS (extra flags), SWIFT_BUILD_LOCK (see 1.), SKIP_SWIFT_BUILD=1 with BOOTSTRAP_BIN=path (package a prebuilt
# binary), MIN_CURL=0 (Debian's full libcurl stack), TASK_ROOT (default /var/task: only for experiments, Lambda needs /var/task).
set -euo pipefail

out=${1:?usage: package-lambda.sh <artifacts-dir>}
root=$(cd "$(dirname "$0")/.." && pwd)
task_root=${TASK_ROOT:-/var/task}

# 1. Build, Swift stdlib linked statically. One Swift build at a time on this machine: flock on
#    SWIFT_BUILD_LOCK (default /tmp/swift-build.lock; empty = no lock, e.g. when the caller holds it).
lock=(); [[ -n "${SWIFT_BUILD_LOCK-/tmp/swift-build.lock}" ]] && lock=(flock "${SWIFT_BUILD_LOCK-/tmp/swift-build.lock}")
if [[ "${SKIP_SWIFT_BUILD:-0}" != 1 ]]; then
  # Its own build folder, apart from the debug one (and from a `swift test` run that holds .build).
  flags=(-c release --product bootstrap --static-swift-stdlib --package-path "$root" --scratch-path "$root/.build-release")
  # shellcheck disable=SC2206
  flags+=(${SWIFT_BUILD_FLAGS:-})
  "${lock[@]}" swift build "${flags[@]}"
  bin="$("${lock[@]}" swift build "${flags[@]}" --show-bin-path)/bootstrap"
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

# 3. libcurl: a minimal HTTP(S)-only build of Debian's same version (scripts/build-min-curl.sh)
#    instead of Debian's, whose LDAP/RTMP/SSH/Kerberos/IDN stack doubles the zip. MIN_CURL=0: Debian's.
if [[ "${MIN_CURL:-1}" != 0 ]]; then
  if curl_lib=$("$root/scripts/build-min-curl.sh"); then
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
