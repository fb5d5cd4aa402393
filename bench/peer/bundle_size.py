"""Zips the peer as a self-contained package (handler + awslambdaric + boto3 and all they depend on,
as installed in this virtualenv) and prints the zip's size in bytes: what a custom runtime or a
container image has to carry. (The managed Python runtime has boto3 already: there the handler alone ships.)
Usage: bundle_size.py <handler.py> <out.zip>"""
import re
import sys
import zipfile
from importlib import metadata


def closure(names):
    """The distributions `names` need, themselves included (extras and markers ignored but python_version)."""
    seen, todo = {}, list(names)
    while todo:
        name = re.split(r"[\s\[<>=!~;(]", todo.pop(), maxsplit=1)[0].lower().replace("_", "-")
        if name in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        seen[name] = dist
        for req in dist.requires or []:
            if "extra ==" not in req:
                todo.append(req)
    return seen.values()


handler, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    z.write(handler, "stream_started.py")
    for dist in closure(["awslambdaric", "boto3"]):
        for f in dist.files or []:
            if "__pycache__" in f.parts or f.parts[0].endswith(".dist-info") or str(f).startswith(".."):
                continue
            z.write(f.locate(), str(f))
import os
print(os.path.getsize(out))
