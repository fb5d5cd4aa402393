#!/usr/bin/env bash
# The per-invocation cost of metrics: the recorder's adds, the EMF line and its write (to /dev/null),
# for three typical invocations, in an -O build of JSON + Essentials as shipped. Prints ns of process
# CPU per invocation (best of 5 rounds of 100,000). Takes the machine-wide Swift build lock to compile.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cd "$root"
flock "${SWIFT_BUILD_LOCK:-/tmp/swift-build.lock}" sh -c "
swiftc -O -wmo -parse-as-library -emit-module -emit-library -static -module-name JSON -emit-module-path $out/JSON.swiftmodule -o $out/libJSON.a Sources/JSON/*.swift &&
swiftc -O -wmo -parse-as-library -emit-module -emit-library -static -module-name Essentials -I $out -emit-module-path $out/Essentials.swiftmodule -o $out/libEssentials.a Sources/Essentials/*.swift &&
swiftc -O -I $out -L $out -lEssentials -lJSON bench/metrics/main.swift -o $out/metrics-bench"
"$out/metrics-bench"
