"""Compile the offline judge's hot modules (`interviewer.native.COMPILED`) with mypyc into `.native/`.

The build is optional: without it the same modules run as plain Python and give the same verdicts
(tests/test_native.py checks that), about a third slower. `make native` and `make test` build it with
`--strict` (a failed build fails the command); `make run` builds it when mypyc is installed and goes on
without it otherwise. Nothing is rebuilt while `.native/stamp.json` matches the sources.

Usage: python scripts/build_native.py [--strict] [--force]
"""

from __future__ import annotations

import argparse
import importlib.machinery
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["INTERVIEWER_PURE_PYTHON"] = "1"  # never load a build while making one

from interviewer import native  # noqa: E402

# Runs in a child process (setuptools prints a lot; it is shown only if the build fails).
SETUP = """
import sys
from setuptools import setup
from mypyc.build import mypycify
paths, c_dir, lib_dir, tmp_dir = sys.argv[1].split(","), sys.argv[2], sys.argv[3], sys.argv[4]
setup(name="interviewer-native", ext_modules=mypycify(paths, target_dir=c_dir, opt_level="3"),
      script_args=["build_ext", "--build-lib", lib_dir, "--build-temp", tmp_dir])
"""


def module_of(path: Path, lib_dir: Path) -> str | None:
    rel = path.relative_to(lib_dir).as_posix()
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        if rel.endswith(suffix):
            return rel[: -len(suffix)].replace("/", ".")
    return None


def build(strict: bool) -> int:
    try:
        import mypyc  # noqa: F401
    except ImportError:
        print("native build: mypyc is not installed (it comes with the dev requirements: `make native`); "
              "the offline judge runs as plain Python.")
        return 1 if strict else 0
    sources = {m: native.digest(native.source_path(m)) for m in native.COMPILED}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="interviewer-native-") as tmp:
        c_dir, lib_dir, tmp_dir = (Path(tmp) / d for d in ("c", "lib", "tmp"))
        paths = ",".join(str(native.source_path(m).relative_to(ROOT)) for m in native.COMPILED)
        proc = subprocess.run([sys.executable, "-c", SETUP, paths, str(c_dir), str(lib_dir), str(tmp_dir)],
                              cwd=ROOT, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.stdout.write(proc.stdout[-4000:])
            sys.stderr.write(proc.stderr[-4000:])
            print(f"native build FAILED (exit {proc.returncode}); the offline judge runs as plain Python.")
            return 1 if strict else 0
        files = {}
        for path in sorted(lib_dir.rglob("*")):
            name = module_of(path, lib_dir) if path.is_file() else None
            if name:
                files[name] = path.relative_to(lib_dir).as_posix()
        missing = [m for m in native.COMPILED if m not in files]
        if missing:
            print(f"native build FAILED: no extension for {', '.join(missing)}")
            return 1 if strict else 0
        stamp = {"python": native.python_tag(), "sources": sources, "files": files}
        (lib_dir / native.STAMP).write_text(json.dumps(stamp, indent=1) + "\n", encoding="utf-8")
        staging = native.BUILD_DIR.with_name(".native.new")
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(lib_dir, staging)
        shutil.rmtree(native.BUILD_DIR, ignore_errors=True)
        staging.rename(native.BUILD_DIR)
    print(f"native build: {len(native.COMPILED)} modules compiled with mypyc into .native/ "
          f"in {time.perf_counter() - started:.0f} s")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strict", action="store_true", help="exit 1 if the build cannot be made")
    parser.add_argument("--force", action="store_true", help="rebuild even if .native/ matches the sources")
    args = parser.parse_args()
    files, status = native.check_build()
    if files is not None and not args.force:
        print(f"native build: up to date ({status})")
        return 0
    return build(args.strict)


if __name__ == "__main__":
    sys.exit(main())
