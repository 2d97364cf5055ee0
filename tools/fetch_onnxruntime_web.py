"""Fetch the onnxruntime-web files the playground carries, from the npm registry, at the pinned version.

    python tools/fetch_onnxruntime_web.py          # fetch, check, and write lmreport/playground/runtime/
    python tools/fetch_onnxruntime_web.py --check  # check the carried files against SOURCE.json only

No Python package carries onnxruntime-web, so lmreport carries three of its files (the plain-script build, its
WebAssembly loader and the WebAssembly binary) with its license. `npm pack` fetches the release's tarball; its
sha512 must equal the registry's integrity pinned here (so a changed tarball is refused), and each carried
file's sha256 is written to SOURCE.json, which a test checks the carried files against.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "onnxruntime-web"
VERSION = "1.31.1"
# npm's dist.integrity of onnxruntime-web-1.31.1.tgz (`npm view onnxruntime-web@1.31.1 dist.integrity`)
INTEGRITY = "sha512-5GeH+bWQ+HxM10z7erGlsWqryrwMbSvm/1tkIsKTT48g0fI19VXVVC435t4t7VsPdSQeS7NmuZPXrQ73k82URw=="
FILES = ("dist/ort.wasm.min.js", "dist/ort-wasm-simd-threaded.mjs", "dist/ort-wasm-simd-threaded.wasm")
RUNTIME = Path(__file__).resolve().parent.parent / "lmreport" / "playground" / "runtime"

# onnxruntime's license (https://github.com/microsoft/onnxruntime/blob/main/LICENSE); package.json says "MIT".
LICENSE = """MIT License

Copyright (c) Microsoft Corporation

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", f"{PACKAGE}@{VERSION}", "--silent", "--pack-destination", tmp], check=True,
                       stdout=subprocess.DEVNULL)
        (tarball,) = Path(tmp).glob("*.tgz")
        digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
        if digest != INTEGRITY:
            sys.exit(f"{tarball.name}: sha512 {digest} is not the pinned {INTEGRITY}: refused")
        RUNTIME.mkdir(parents=True, exist_ok=True)
        with tarfile.open(tarball) as archive:
            for name in FILES:
                member = archive.getmember(f"package/{name}")
                data = archive.extractfile(member)
                assert data is not None
                (RUNTIME / Path(name).name).write_bytes(data.read())
    (RUNTIME / "LICENSE").write_text(LICENSE)
    source = {"package": PACKAGE, "version": VERSION, "integrity": INTEGRITY,
              "tarball": f"https://registry.npmjs.org/{PACKAGE}/-/{PACKAGE}-{VERSION}.tgz",
              "files": {Path(name).name: sha256(RUNTIME / Path(name).name) for name in FILES}}
    (RUNTIME / "SOURCE.json").write_text(json.dumps(source, indent=2) + "\n")
    print(f"wrote {', '.join(source['files'])} of {PACKAGE} {VERSION} into {RUNTIME}")


def check() -> list[str]:
    """What differs between the carried files and SOURCE.json (nothing: [])."""
    source = json.loads((RUNTIME / "SOURCE.json").read_text())
    problems = [] if source["version"] == VERSION and source["integrity"] == INTEGRITY else \
        [f"SOURCE.json names {source['version']}, this script pins {VERSION}"]
    for name, digest in source["files"].items():
        path = RUNTIME / name
        if not path.is_file() or sha256(path) != digest:
            problems.append(f"{path}: missing or not the file SOURCE.json names")
    return problems


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="check the carried files only")
    if parser.parse_args().check:
        problems = check()
        print("\n".join(problems) or "the carried onnxruntime-web files are as SOURCE.json says")
        sys.exit(1 if problems else 0)
    fetch()
