"""The sandboxed code runner: grading, import checks, and the sandbox's protections."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest
import yaml

from interviewer.runner import (
    CodeSyntaxError,
    Limits,
    RunReport,
    approx_equal,
    check_imports,
    isolation_mode,
    parse_expected,
    report_json,
    run_code,
)
from interviewer.types import CodingSpec, CodeTest, Question

ROOT = Path(__file__).resolve().parents[1]
CODING_DIR = ROOT / "question_bank" / "coding"
CODING_FILES = sorted(CODING_DIR.glob("*.yaml"))

FULL_ISOLATION = isolation_mode()[0] == "full"
needs_full = pytest.mark.skipif(
    not FULL_ISOLATION,
    reason="unprivileged user/mount/net namespaces (unshare) are not available on this machine",
)


def _load(path: Path) -> Question:
    return Question.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def _spec(**overrides) -> CodingSpec:
    """A tiny challenge: double(x) -> 2 * x."""
    base = dict(
        function_name="double",
        signature="double(x: int) -> int",
        statement="Return twice the input. This statement is long enough for the schema to accept.",
        starter_code="def double(x):\n    raise NotImplementedError\n",
        reference_solution="def double(x):\n    return 2 * x\n",
        visible_tests=[CodeTest(name="small", call="double(2)", expected="4")],
        hidden_tests=[CodeTest(name="secret_big", call="double(21)", expected="42")],
        forbidden_imports=["sklearn"],
        time_limit_s=2,
    )
    base.update(overrides)
    return CodingSpec(**base)


def _only(report: RunReport) -> dict:
    return {t.name: t for t in report.tests}


# --------------------------------------------------------------------------- reference solutions


def test_coding_bank_is_present():
    if not CODING_FILES:
        pytest.skip("question_bank/coding has no challenges yet")
    assert all(_load(p).coding is not None for p in CODING_FILES)


@pytest.mark.parametrize("path", CODING_FILES, ids=[p.stem for p in CODING_FILES])
def test_reference_solution_passes_every_test(path: Path):
    q = _load(path)
    report = run_code(q.coding, q.coding.reference_solution, tests="all")
    assert report.error is None, report.error
    bad = [(t.name, t.status, t.message) for t in report.tests if t.status != "pass"]
    assert not bad, bad
    assert report.passed == len(q.coding.visible_tests) + len(q.coding.hidden_tests)
    assert report.failed == 0


def _bank_question(stem: str) -> Question:
    path = CODING_DIR / f"{stem}.yaml"
    if not path.exists():
        pytest.skip(f"{path.name} is not in the bank yet")
    return _load(path)


def test_knn_bug_largest_label_on_vote_tie_fails_the_tie_test():
    q = _bank_question("knn-from-scratch")
    names = {t.name for t in q.coding.hidden_tests}
    if "vote_tie_smallest_label" not in names:
        pytest.skip("the KNN challenge has no vote_tie_smallest_label test")
    buggy = q.coding.reference_solution.replace(
        "predictions.append(min(label", "predictions.append(max(label"
    )
    assert buggy != q.coding.reference_solution
    report = run_code(q.coding, buggy, tests="all")
    results = _only(report)
    assert results["vote_tie_smallest_label"].status == "fail"
    assert results["vote_tie_smallest_label"].hidden
    assert results["vote_tie_smallest_label"].message == "wrong answer"  # no expected value leaks
    assert results["two_clusters"].status == "pass"
    assert report.failed >= 1


def test_decision_tree_bug_unweighted_gini_fails_the_weighting_test():
    q = _bank_question("decision-tree-split")
    if "weighted_not_unweighted_gini" not in {t.name for t in q.coding.hidden_tests}:
        pytest.skip("the decision-tree challenge has no weighted_not_unweighted_gini test")
    ref = q.coding.reference_solution
    weighted = "(len(left) * gini(left) + len(right) * gini(right)) / n"
    if weighted not in ref:
        pytest.skip("could not locate the weighted Gini expression in the reference solution")
    # The classic bug: average the children's Gini instead of weighting them by size.
    buggy = ref.replace(weighted, "(gini(left) + gini(right)) / 2")
    report = run_code(q.coding, buggy, tests="all")
    results = _only(report)
    assert results["weighted_not_unweighted_gini"].status == "fail"
    assert results["weighted_not_unweighted_gini"].message == "wrong answer"
    assert results["perfect_split"].status == "pass"


# --------------------------------------------------------------------------- grading


def test_visible_failure_shows_expected_and_got_hidden_does_not():
    code = "def double(x):\n    return x * 3\n"
    report = run_code(_spec(), code, tests="all")
    results = _only(report)
    assert results["small"].status == "fail"
    assert results["small"].message.startswith("expected 4, got 6")
    assert results["secret_big"].status == "fail"
    assert "42" not in results["secret_big"].message and "63" not in results["secret_big"].message
    assert report.passed == 0 and report.failed == 2


def test_errors_name_the_exception_and_hidden_only_the_type():
    code = "def double(x):\n    if x > 10:\n        raise ValueError('too big: 42')\n    return {}[x]\n"
    report = run_code(_spec(), code, tests="all")
    results = _only(report)
    assert results["small"].status == "error"
    assert "KeyError" in results["small"].message and "line 4" in results["small"].message
    assert results["secret_big"].status == "error"
    assert results["secret_big"].message == "raised ValueError"


def test_tests_selection():
    code = _spec().reference_solution
    assert [t.name for t in run_code(_spec(), code).tests] == ["small"]
    assert [t.name for t in run_code(_spec(), code, tests="hidden").tests] == ["secret_big"]
    assert [t.name for t in run_code(_spec(), code, tests="all").tests] == ["small", "secret_big"]


def test_approx_and_exact_comparison():
    assert approx_equal([1.0, (2.0, 3.0)], ((1.0 + 1e-9), [2.0, 3.0]), 1e-6)
    assert approx_equal(None, None, 1e-6)
    assert not approx_equal(None, 0.0, 1e-6)
    assert not approx_equal([1.0], [1.0, 2.0], 1e-6)
    assert approx_equal("a", "a", 1e-6)
    assert parse_expected("float('inf')") == float("inf")
    assert parse_expected("([1.5], -2)") == ([1.5], -2)
    spec = _spec(
        function_name="pair",
        signature="pair() -> tuple",
        starter_code="def pair():\n    pass\n",
        reference_solution="def pair():\n    return ([0.1 + 0.2], 1.0)\n",
        visible_tests=[
            CodeTest(name="approx_ok", call="pair()", expected="([0.3], 1.0)", compare="approx"),
            CodeTest(name="exact_tuple_vs_list", call="list(pair())", expected="([0.1 + 0.2], 1.0)"),
            CodeTest(name="numpy_scalar", call="__import__('numpy').float64(0.5)", expected="0.5"),
        ],
        hidden_tests=[],
    )
    results = _only(run_code(spec, spec.reference_solution))
    assert results["approx_ok"].status == "pass"
    assert results["exact_tuple_vs_list"].status == "fail"  # exact: a list is not a tuple
    assert results["numpy_scalar"].status == "pass"


# --------------------------------------------------------------------------- imports


def test_check_imports_catches_every_form():
    code = (
        "import os\n"
        "import sklearn\n"
        "from sklearn.neighbors import KNeighborsClassifier\n"
        "m = __import__('sklearn')\n"
        "import importlib\n"
        "n = importlib.import_module('sklearn.tree')\n"
        "import sklearnish\n"
    )
    violations = check_imports(code, ["sklearn"])
    assert [v.split(" (")[0] for v in violations] == ["uses sklearn"] * 4
    assert violations[0] == "uses sklearn (line 2): this challenge must be solved without it"
    assert [int(v.split("line ")[1].split(")")[0]) for v in violations] == [2, 3, 4, 6]
    assert check_imports("import math\n", ["sklearn"]) == []


def test_syntax_error_is_a_plain_error_not_a_violation():
    with pytest.raises(CodeSyntaxError) as err:
        check_imports("def f(:\n    pass\n", ["sklearn"])
    assert "line 1" in str(err.value)
    report = run_code(_spec(), "def double(x)\n    return 2 * x\n")
    assert report.violations == []
    assert report.error and "syntax error" in report.error
    assert report.passed == 0 and report.failed == 1


def test_forbidden_import_is_a_violation_and_nothing_runs():
    code = "import sklearn\nprint('ran')\ndef double(x):\n    return 2 * x\n"
    report = run_code(_spec(), code, tests="all")
    assert report.violations == ["uses sklearn (line 1): this challenge must be solved without it"]
    assert report.passed == 0 and report.failed == 2
    assert report.stdout == ""
    assert not report.sandbox.separate_process


def test_dynamic_forbidden_import_is_blocked_at_run_time():
    spec = _spec(forbidden_imports=["colorsys"])
    code = "def double(x):\n    m = __import__('colo' + 'rsys')\n    return 2 * x\n"
    report = run_code(spec, code)
    result = _only(report)["small"]
    assert result.status == "error"
    assert "ImportError" in result.message and "not allowed" in result.message


# --------------------------------------------------------------------------- sandbox


def test_infinite_loop_times_out_and_caller_stays_responsive():
    code = "def double(x):\n    while True:\n        pass\n"
    box: dict = {}
    worker = threading.Thread(
        target=lambda: box.setdefault("report", run_code(_spec(), code, tests="all", limits=Limits(test_timeout_s=1)))
    )
    start = time.monotonic()
    worker.start()
    ticks = 0
    while worker.is_alive():
        ticks += 1  # the main thread keeps doing work
        time.sleep(0.05)
    elapsed = time.monotonic() - start
    report = box["report"]
    assert [t.status for t in report.tests] == ["timeout", "timeout"]
    assert "1 s" in report.tests[0].message
    assert elapsed < 5, elapsed
    assert ticks >= 20


def test_top_level_infinite_loop_ends_the_run_as_timeout():
    code = "while True:\n    pass\n"
    start = time.monotonic()
    report = run_code(_spec(), code, tests="all", limits=Limits(test_timeout_s=1))
    assert time.monotonic() - start < 5
    assert report.error and "infinite loop" in report.error
    assert {t.status for t in report.tests} == {"timeout"}


def test_swallowed_alarm_is_stopped_by_the_wall_clock():
    code = (
        "import signal\n"
        "def double(x):\n"
        "    signal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
        "    while True:\n"
        "        pass\n"
    )
    start = time.monotonic()
    report = run_code(_spec(), code, limits=Limits(test_timeout_s=0.5, wall_timeout_s=2))
    assert time.monotonic() - start < 5
    assert report.tests[0].status == "timeout"
    assert report.error and "stopped after 2 s" in report.error


def test_cpu_limit_ends_a_run_that_ignores_the_alarm():
    code = (
        "import signal\n"
        "def double(x):\n"
        "    signal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
        "    while True:\n"
        "        pass\n"
    )
    start = time.monotonic()
    report = run_code(_spec(), code, limits=Limits(test_timeout_s=0.5, cpu_s=1, wall_timeout_s=20))
    assert time.monotonic() - start < 8
    assert report.tests[0].status == "timeout"
    assert "CPU-time limit" in report.tests[0].message


def test_environment_is_clean(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-value-123")
    monkeypatch.setenv("DATABASE_URL", "postgresql://user:hunter2@db/x")
    code = (
        "import os\n"
        "print(os.environ.get('OPENAI_API_KEY'))\n"
        "print(dict(os.environ))\n"
        "def double(x):\n"
        "    return 2 * x\n"
    )
    report = run_code(_spec(), code)
    assert report.tests[0].status == "pass"
    assert "None" in report.stdout
    assert "sk-test-secret" not in report.stdout and "hunter2" not in report.stdout
    assert "OPENAI" not in report.stdout
    assert report.sandbox.clean_environment


@needs_full
def test_write_outside_the_temp_dir_is_blocked(tmp_path):
    target = tmp_path / "escaped.txt"
    # Python-level write: stopped by the audit hook or the read-only mount.
    code_py = f"def double(x):\n    open({str(target)!r}, 'w').write('x')\n    return 2 * x\n"
    report = run_code(_spec(), code_py)
    assert report.tests[0].status == "error", report.tests[0]
    # libc-level write that bypasses every in-process guard: only the mount namespace stops it.
    code_c = (
        "import ctypes, os\n"
        "def double(x):\n"
        "    libc = ctypes.CDLL(None, use_errno=True)\n"
        f"    fd = libc.open({str(target).encode()!r}, os.O_WRONLY | os.O_CREAT, 0o644)\n"
        "    if fd < 0:\n"
        "        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))\n"
        "    return 2 * x\n"
    )
    report = run_code(_spec(), code_c)
    assert report.tests[0].status == "error"
    assert "Read-only file system" in report.tests[0].message
    assert not target.exists()
    # ... and regaining write access by remounting / fails (capabilities are dropped)
    code_remount = (
        "import ctypes\n"
        "def double(x):\n"
        "    libc = ctypes.CDLL(None, use_errno=True)\n"
        "    return libc.mount(None, b'/', None, 32 | 4096, None)\n"
    )
    report = run_code(_spec(), code_remount)
    assert report.tests[0].message.startswith("expected 4, got -1")
    assert report.sandbox.read_only_root and report.sandbox.capabilities_dropped


def test_writes_inside_the_temp_dir_work():
    code = (
        "import os, tempfile\n"
        "def double(x):\n"
        "    with open('scratch.txt', 'w') as fh:\n"
        "        fh.write(str(x))\n"
        "    with tempfile.NamedTemporaryFile('w') as fh:\n"
        "        fh.write('ok')\n"
        "    return 2 * int(open('scratch.txt').read())\n"
    )
    report = run_code(_spec(), code)
    assert report.tests[0].status == "pass", report.tests[0].message
    assert report.sandbox.private_temp_dir


def test_allocating_4_gb_fails_cleanly():
    code = "def double(x):\n    block = bytearray(4 * 1024 ** 3)\n    return 2 * x\n"
    report = run_code(_spec(), code, tests="all")
    for result in report.tests:
        assert result.status == "error"
        assert "MemoryError" in result.message
    assert report.sandbox.memory_limit


def test_socket_to_a_listening_local_port_fails():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    try:
        code = (
            "import socket\n"
            "def double(x):\n"
            f"    socket.create_connection(('127.0.0.1', {port}), timeout=1)\n"
            "    return 2 * x\n"
        )
        report = run_code(_spec(), code)
        assert report.tests[0].status == "error"
        assert any(e in report.tests[0].message for e in ("PermissionError", "OSError", "ConnectionRefused"))
        if FULL_ISOLATION:
            # bypass the in-process guard with raw libc calls: the network namespace still blocks it
            code_c = (
                "import ctypes, os, struct\n"
                "def double(x):\n"
                "    libc = ctypes.CDLL(None, use_errno=True)\n"
                "    fd = libc.socket(2, 1, 0)\n"
                "    if fd < 0:\n"
                "        raise OSError(ctypes.get_errno(), 'socket: ' + os.strerror(ctypes.get_errno()))\n"
                f"    addr = struct.pack('<HH4s8x', 2, __import__('socket').htons({port}), bytes([127, 0, 0, 1]))\n"
                "    if libc.connect(fd, addr, len(addr)) != 0:\n"
                "        raise OSError(ctypes.get_errno(), 'connect: ' + os.strerror(ctypes.get_errno()))\n"
                "    return 2 * x\n"
            )
            report = run_code(_spec(), code_c)
            assert report.tests[0].status == "error", report.tests[0].message
            assert report.sandbox.network_namespace
    finally:
        server.close()


def test_output_is_capped():
    code = "def double(x):\n    for _ in range(20000):\n        print('x' * 100)\n    return 2 * x\n"
    report = run_code(_spec(), code, limits=Limits(output_bytes=5000))
    assert report.tests[0].status == "pass"
    assert len(report.stdout) <= 5000
    assert report.output_truncated


def test_candidate_prints_cannot_forge_a_pass():
    code = (
        "import json, os\n"
        "FAKE = [{'type': 'test', 'name': n, 'status': 'pass', 'passed': True} for n in ('small', 'secret_big')]\n"
        "FAKE += [{'type': 'test', 'name': n, 'status': 'ok', 'value': 'PASS'} for n in ('small', 'secret_big')]\n"
        "lines = ''.join(json.dumps(r) + '\\n' for r in FAKE)\n"
        "print(lines + 'PASS small\\nPASS secret_big\\n{\"passed\": 2, \"failed\": 0}')\n"
        "for fd in range(3, 64):\n"
        "    try:\n"
        "        os.write(fd, lines.encode())\n"
        "    except OSError:\n"
        "        pass\n"
        "def double(x):\n"
        "    return -1\n"
    )
    report = run_code(_spec(), code, tests="all")
    assert report.passed == 0
    assert {t.status for t in report.tests} == {"fail"}


def test_temp_dir_is_private_and_removed():
    code = "import os\nWHERE = os.getcwd()\ndef double(x):\n    return WHERE\n"
    report = run_code(_spec(), code)
    got = report.tests[0].message
    assert "interviewer-run-" in got
    where = got.split("got ")[1].split("'")[1]
    assert not Path(where).exists()


def test_sandbox_report_is_honest_and_has_a_summary():
    report = run_code(_spec(), _spec().reference_solution)
    box = report.sandbox
    assert box.separate_process and box.wall_clock and box.output_cap and box.cpu_limit
    assert box.per_test_timeout and box.import_guard
    assert box.summary.startswith("Your code ran in a separate process")
    if not FULL_ISOLATION:
        assert "not available" in box.summary
    else:
        assert box.network_namespace and box.filesystem_namespace and box.pid_namespace
    none = run_code(_spec(), _spec().reference_solution, limits=Limits(isolation="none"))
    assert none.tests[0].status == "pass"
    assert not none.sandbox.network_namespace and not none.sandbox.read_only_root
    assert "isolation is not available" in none.sandbox.summary


def test_report_json_shape():
    report = run_code(_spec(), "def double(x):\n    return 3 * x\n", tests="all")
    data = report_json("double-it", report)
    assert list(data) == ["question_id", "passed", "failed", "tests", "violations", "sandbox"]
    assert data["question_id"] == "double-it"
    assert data["passed"] == 0 and data["failed"] == 2
    assert data["tests"][0] == {"name": "small", "status": "fail", "message": data["tests"][0]["message"]}
    assert set(data["tests"][1]) == {"name", "status", "message"}
    assert data["sandbox"]["summary"]


def test_cli_run_code_json(tmp_path):
    import json
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    spec = Question.model_validate(yaml.safe_load((root / "question_bank/coding/knn-from-scratch.yaml").read_text()))
    good = tmp_path / "good.py"
    good.write_text(spec.coding.reference_solution)
    bad = tmp_path / "bad.py"
    bad.write_text("import sklearn\n" + spec.coding.reference_solution)
    loop = tmp_path / "loop.py"
    loop.write_text("def knn_predict(X_train, y_train, X_test, k):\n    while True:\n        pass\n")

    def run(path):
        out = subprocess.run([sys.executable, "-m", "interviewer", "run-code", "--question", "knn-from-scratch",
                              "--solution", str(path), "--json"], cwd=root, capture_output=True, text=True,
                             timeout=300)
        assert out.returncode == 0, out.stderr  # judged, whatever the candidate's code did
        return json.loads(out.stdout)

    data = run(good)
    assert set(data) == {"question_id", "passed", "failed", "tests", "violations", "sandbox"}
    assert data["failed"] == 0 and data["passed"] == len(data["tests"]) > 0
    assert all(set(t) == {"name", "status", "message"} for t in data["tests"])
    violated = run(bad)
    assert violated["violations"] and violated["passed"] == 0
    looped = run(loop)
    assert {t["status"] for t in looped["tests"]} == {"timeout"}
