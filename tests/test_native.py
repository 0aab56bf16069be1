"""The mypyc build of the offline judge's hot modules (`interviewer/native.py`, `scripts/build_native.py`).

The build must give exactly the verdicts of the plain sources, and must never shadow a source edited after
it was made. Without a build these tests check only the loader, unless INTERVIEWER_REQUIRE_NATIVE=1 (set by
`make test`, which builds it), in which case a missing build fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from interviewer import native

ROOT = Path(__file__).resolve().parent.parent

# Scores a workload and prints one Score JSON per line: every question's reference answer and weak variants
# of it (the benchmark's workload), every dev-set case, and each rubric label asserted, refuted and negated.
SCORE_ALL = r"""
import sys, yaml
sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[1] + "/bench")
from interviewer import native
from interviewer.bank import load_bank
from interviewer.scoring import OfflineJudge
from bench_scoring import variants
bank = load_bank()
work = [(q, a) for q in bank.questions.values() for a in variants(q.reference_answer)]
for case in yaml.safe_load(open(sys.argv[1] + "/evals/dev_set.yaml", encoding="utf-8"))["cases"]:
    if case.get("question") in bank.questions:
        work.append((bank.questions[case["question"]], case.get("answer", "")))
for q in bank.questions.values():
    for item in q.rubric:
        label = item.label.lower()
        work.append((q, f"{q.reference_answer} A common myth is that {label}; it is not."))
        work.append((q, f"It is not true that {label}. Unlike {label}, the other way is better. {label}."))
judge = OfflineJudge()
print(native.status)
for q, a in work:
    print(judge.score(q, a).model_dump_json())
"""


def _score_all(pure: bool) -> tuple[str, list[str]]:
    env = {k: v for k, v in os.environ.items() if k != "INTERVIEWER_PURE_PYTHON"}
    if pure:
        env["INTERVIEWER_PURE_PYTHON"] = "1"
    proc = subprocess.run([sys.executable, "-c", SCORE_ALL, str(ROOT)], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    status, *lines = proc.stdout.splitlines()
    return status, lines


def _built() -> bool:
    files, _ = native.check_build()
    return files is not None


def test_the_build_is_there_and_used_when_required():
    import interviewer.scoring.claims as claims
    import interviewer.text as text

    if not _built():
        if os.environ.get("INTERVIEWER_REQUIRE_NATIVE") == "1":
            pytest.fail(f"INTERVIEWER_REQUIRE_NATIVE=1 but there is no usable build: {native.check_build()[1]}")
        pytest.skip(f"no native build ({native.check_build()[1]}); `make native` makes one")
    assert native.status.startswith("compiled with mypyc"), native.status
    assert native.is_compiled(text) and native.is_compiled(claims), (text.__file__, claims.__file__)


def test_compiled_and_plain_modules_give_byte_identical_scores():
    if not _built():
        pytest.skip("no native build to compare with the plain sources")
    compiled_status, compiled = _score_all(pure=False)
    plain_status, plain = _score_all(pure=True)
    assert compiled_status.startswith("compiled"), compiled_status
    assert plain_status.startswith("pure Python"), plain_status
    assert len(compiled) == len(plain) > 5000
    differ = [i for i, (a, b) in enumerate(zip(compiled, plain, strict=True)) if a != b]
    assert not differ, f"{len(differ)} scores differ, first: {compiled[differ[0]]} vs {plain[differ[0]]}"
    assert {json.loads(line)["band"] for line in plain} >= {"strong", "weak"}  # the workload spans the bands


def _fake_build(tmp_path: Path, modules: tuple[str, ...]) -> Path:
    """Sources under tmp_path and a build dir whose stamp matches them (with empty stand-in files)."""
    build = tmp_path / ".native"
    files = {}
    for module in modules:
        src = native.source_path(module, tmp_path)
        src.parent.mkdir(parents=True, exist_ok=True)
        src.write_text(f"X = {module!r}\n", encoding="utf-8")
        ext = build / (module.replace(".", "/") + ".so")
        ext.parent.mkdir(parents=True, exist_ok=True)
        ext.write_bytes(b"")
        files[module] = ext.relative_to(build).as_posix()
    stamp = {"python": native.python_tag(), "files": files,
             "sources": {m: native.digest(native.source_path(m, tmp_path)) for m in modules}}
    (build / native.STAMP).write_text(json.dumps(stamp), encoding="utf-8")
    return build


def test_a_build_is_used_only_while_it_matches_every_source(tmp_path):
    modules = ("pkg.a", "pkg.sub.b")
    build = _fake_build(tmp_path, modules)
    files, why = native.check_build(build, tmp_path, modules)
    assert files == {m: build / (m.replace(".", "/") + ".so") for m in modules}, why

    src = native.source_path("pkg.sub.b", tmp_path)
    src.write_text(src.read_text() + "# edited after the build\n", encoding="utf-8")
    files, why = native.check_build(build, tmp_path, modules)
    assert files is None and "pkg/sub/b.py changed since the build" in why


def test_a_build_for_another_python_or_module_set_or_incomplete_is_ignored(tmp_path):
    modules = ("pkg.a", "pkg.b")
    build = _fake_build(tmp_path, modules)
    stamp_file = build / native.STAMP
    stamp = json.loads(stamp_file.read_text())

    assert native.check_build(build, tmp_path, modules + ("pkg.c",))[0] is None
    (build / "pkg" / "a.so").unlink()
    assert "incomplete" in native.check_build(build, tmp_path, modules)[1]
    (build / "pkg" / "a.so").write_bytes(b"")
    stamp_file.write_text(json.dumps({**stamp, "python": "cpython-27 .so"}), encoding="utf-8")
    assert "was built for cpython-27" in native.check_build(build, tmp_path, modules)[1]
    stamp_file.write_text("{not json", encoding="utf-8")
    assert "unreadable" in native.check_build(build, tmp_path, modules)[1]
    stamp_file.unlink()
    assert native.check_build(build, tmp_path, modules) == (None, "pure Python (no build in .native/)")


def test_pure_python_can_be_forced():
    code = "import interviewer.text as t, interviewer.scoring.offline as o; from interviewer import native;" \
           "print(native.status); print(t.__file__); print(o.__file__)"
    env = {**os.environ, "INTERVIEWER_PURE_PYTHON": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT,
                         check=True).stdout.splitlines()
    assert out[0] == "pure Python (INTERVIEWER_PURE_PYTHON is set)"
    assert out[1].endswith("interviewer/text.py") and out[2].endswith("scoring/offline.py")
