"""The offline judge's hot modules, compiled with mypyc when a build of *these* sources exists.

`scripts/build_native.py` (run by `make run`, `make test` and `make native`) compiles `COMPILED` into
`.native/` at the project root and writes `.native/stamp.json`: the SHA-256 of every compiled source and the
Python it was built for. At import, `activate()` serves the compiled modules only if every hash matches the
source on disk, so an edited `.py` is never shadowed by a stale build; anything else (no build, another
Python, `INTERVIEWER_PURE_PYTHON=1`) imports the plain sources. Both give the same verdicts
(tests/test_native.py scores the same answers both ways and compares).
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

PACKAGE_DIR = Path(__file__).resolve().parent
ROOT = PACKAGE_DIR.parent
BUILD_DIR = ROOT / ".native"
STAMP = "stamp.json"
COMPILED = (
    "interviewer.text",
    "interviewer.scoring.claims",
    "interviewer.scoring.offline",
    "interviewer.scoring.star",
    "interviewer.scoring.verdicts",
)

status = "pure Python (no build in .native/)"  # what activate() decided (the benchmarks print it)


def source_path(module: str, root: Path = ROOT) -> Path:
    return root.joinpath(*module.split(".")).with_suffix(".py")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def python_tag() -> str:
    """Which interpreter an extension module was built for (a build for another one is ignored)."""
    return f"{sys.implementation.cache_tag} {importlib.machinery.EXTENSION_SUFFIXES[0]}"


def check_build(build_dir: Path = BUILD_DIR, root: Path = ROOT,
                modules: Sequence[str] = COMPILED) -> tuple[dict[str, Path] | None, str]:
    """The extension files to load for `modules` (module name -> path), or None and the reason why not."""
    try:
        stamp = json.loads((build_dir / STAMP).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, "pure Python (no build in .native/)"
    except (OSError, ValueError) as exc:
        return None, f"pure Python (unreadable .native/{STAMP}: {exc})"
    if stamp.get("python") != python_tag():
        return None, f"pure Python (.native/ was built for {stamp.get('python')}, this is {python_tag()})"
    sources: dict = stamp.get("sources") or {}
    files: dict = stamp.get("files") or {}
    if set(sources) != set(modules):
        return None, "pure Python (.native/ holds another set of modules; rebuild with `make native`)"
    for module in modules:
        try:
            current = digest(source_path(module, root))
        except OSError:
            return None, f"pure Python ({module} has no source)"
        if sources[module] != current:
            return None, f"pure Python ({source_path(module, root).relative_to(root)} changed since the build; " \
                         "`make native` rebuilds it)"
    found = {name: build_dir / rel for name, rel in files.items()}
    missing = [str(p) for p in found.values() if not p.is_file()]
    if missing or not set(modules) <= set(found):
        return None, "pure Python (.native/ is incomplete; rebuild with `make native`)"
    return found, f"compiled with mypyc ({len(modules)} modules from .native/, built from these sources)"


class _NativeFinder(importlib.abc.MetaPathFinder):
    """Serves exactly the compiled modules (and mypyc's shared runtime library) from the build."""

    def __init__(self, files: dict[str, Path]):
        self.files = files

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None):
        file = self.files.get(fullname)
        if file is None:
            return None
        loader = importlib.machinery.ExtensionFileLoader(fullname, str(file))
        return importlib.util.spec_from_file_location(fullname, file, loader=loader)


def activate() -> str:
    """Install the finder for a build that matches the sources; called once by `interviewer/__init__`."""
    global status
    if os.environ.get("INTERVIEWER_PURE_PYTHON"):
        status = "pure Python (INTERVIEWER_PURE_PYTHON is set)"
        return status
    if any(module in sys.modules for module in COMPILED):
        return status  # too late to switch: a module is already imported
    files, status = check_build()
    if files is not None and not any(isinstance(f, _NativeFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _NativeFinder(files))
    return status


def is_compiled(module: ModuleType) -> bool:
    return not str(getattr(module, "__file__", "")).endswith(".py")
