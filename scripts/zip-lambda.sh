#!/usr/bin/env bash
# Zips a packaged artifact directory (file modes kept: bootstrap and the loader must stay executable)
# and reports the size; fails when the zip exceeds ZIP_LIMIT_MB (default 10).
# Usage: zip-lambda.sh <artifact-dir> <out.zip>
set -euo pipefail

art=${1:?usage: zip-lambda.sh <artifact-dir> <out.zip>}
zip=${2:?usage: zip-lambda.sh <artifact-dir> <out.zip>}
limit=$(( ${ZIP_LIMIT_MB:-10} * 1024 * 1024 ))
mkdir -p "$(dirname "$zip")"
python3 - "$art" "$zip" <<'PY'
import os, sys, zipfile
art, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(out + ".tmp", "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    for d, dirs, files in os.walk(art):
        dirs.sort()
        for f in sorted(files):
            p = os.path.join(d, f)
            info = zipfile.ZipInfo(os.path.relpath(p, art), date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = (os.stat(p).st_mode & 0o777 | 0o100000) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(p, "rb") as fh:
                z.writestr(info, fh.read(), compresslevel=9)
os.replace(out + ".tmp", out)
PY
size=$(stat -c %s "$zip")
echo "zip-lambda: $zip $(( size / 1024 )) KiB ($size bytes; limit $(( limit / 1024 )) KiB)"
(( size <= limit )) || { echo "zip-lambda: $zip is over ${ZIP_LIMIT_MB:-10} MB" >&2; exit 1; }
