"""Grading: test selection, comparison in the parent, import checks, timeouts, the CLI's JSON.

The attack probes (what candidate code can't do) are in test_sandbox_probes.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from interviewer.bootstrap import build_runner
from interviewer.grading import CodeRunner, CodeSyntaxError, RunReport, approx_equal, check_imports, report_json
from interviewer.types import CodeTest, CodingSpec, Question, literal_value

ROOT = Path(__file__).resolve().parents[1]
CODING_DIR = ROOT / "question_bank" / "coding"
CODING_FILES = sorted(CODING_DIR.glob("*.yaml"))
RUNNER = build_runner()
if RUNNER.problem():
    pytest.skip(RUNNER.problem(), allow_module_level=True)


def run_code(spec, code, *, tests="visible", test_timeout_s=None, budget_s=None) -> RunReport:
    runner = RUNNER if budget_s is None else CodeRunner(RUNNER.sandbox, budget_s=budget_s)
    return runner.run(spec, code, tests=tests, test_timeout_s=test_timeout_s)


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
    assert literal_value("1e999") == float("inf")
    assert literal_value("([1.5], -2)") == ([1.5], -2)
    spec = _spec(
        function_name="pair",
        signature="pair(kind) -> tuple",
        starter_code="def pair(kind):\n    pass\n",
        reference_solution=(
            "def pair(kind):\n"
            "    if kind == 'np':\n"
            "        import numpy\n"
            "        return numpy.float64(0.5)\n"
            "    return ([0.1 + 0.2], 1.0)\n"),
        visible_tests=[
            CodeTest(name="approx_ok", call="pair('x')", expected="([0.3], 1.0)", compare="approx"),
            CodeTest(name="exact_tuple_vs_list", call="pair('x')", expected="[[0.30000000000000004], 1.0]"),
            CodeTest(name="numpy_scalar", call="pair('np')", expected="0.5"),
        ],
        hidden_tests=[],
        forbidden_imports=["sklearn"],
    )
    results = _only(run_code(spec, spec.reference_solution))
    assert results["approx_ok"].status == "pass", results["approx_ok"].message
    assert results["exact_tuple_vs_list"].status == "fail"  # exact: a list is not a tuple
    assert results["numpy_scalar"].status == "pass", results["numpy_scalar"].message


def test_raises_and_arguments_unchanged_are_checked_in_the_parent():
    spec = _spec(
        function_name="norm",
        signature="norm(xs: list) -> list",
        starter_code="def norm(xs):\n    pass\n",
        reference_solution=("def norm(xs):\n    if not xs:\n        raise ValueError('empty')\n"
                            "    return [x / sum(xs) for x in xs]\n"),
        visible_tests=[CodeTest(name="empty_raises", call="norm([])", raises="ValueError"),
                       CodeTest(name="input_kept", call="norm([1.0, 3.0])", observe="arguments")],
        hidden_tests=[],
    )
    assert run_code(spec, spec.reference_solution).passed == 2
    in_place = "def norm(xs):\n    if not xs:\n        raise KeyError('empty')\n    xs[0] = 9\n    return xs\n"
    results = _only(run_code(spec, in_place))
    assert results["empty_raises"].status == "error" and "expected ValueError" in results["empty_raises"].message
    assert results["input_kept"].status == "fail" and "[9, 3.0]" in results["input_kept"].message
    # a home-made class named ValueError is not the built-in one
    fake = "class ValueError(Exception):\n    pass\ndef norm(xs):\n    raise ValueError('x')\n"
    assert _only(run_code(spec, fake))["empty_raises"].status == "error"


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
    assert not report.isolation.sandboxed and report.isolation.summary == "Your code was not run."


def test_dynamic_forbidden_import_is_blocked_at_run_time():
    spec = _spec(forbidden_imports=["colorsys"])
    code = "def double(x):\n    m = __import__('colo' + 'rsys')\n    return 2 * x\n"
    report = run_code(spec, code)
    result = _only(report)["small"]
    assert result.status == "error"
    assert "ImportError" in result.message and "not allowed" in result.message


def test_forbidden_numpy_is_not_even_mounted():
    spec = _spec(forbidden_imports=["numpy"])
    bypass = ("import sys\nsys.meta_path[:] = [f for f in sys.meta_path if 'Guard' not in type(f).__name__]\n"
              "sys.path.insert(0, '/opt/sandbox-site')\n"
              "def double(x):\n    m = __import__('num' + 'py')\n    return 2 * x\n")
    result = _only(run_code(spec, bypass))["small"]
    assert result.status == "error" and "Error" in result.message
    allowed = _only(run_code(_spec(), "import numpy as np\ndef double(x):\n    return int(np.int64(x) * 2)\n"))
    assert allowed["small"].status == "pass", allowed["small"].message


# --------------------------------------------------------------------------- time


def test_infinite_loop_stops_at_the_first_timeout_and_caller_stays_responsive():
    code = "def double(x):\n    while True:\n        pass\n"
    box: dict = {}
    worker = threading.Thread(target=lambda: box.setdefault("r", run_code(_spec(), code, tests="all", test_timeout_s=1)))
    start = time.monotonic()
    worker.start()
    ticks = 0
    while worker.is_alive():
        ticks += 1  # the main thread keeps doing work
        time.sleep(0.05)
    elapsed = time.monotonic() - start
    report = box["r"]
    assert [t.status for t in report.tests] == ["timeout", "not_run"]
    assert "1 s" in report.tests[0].message and "timed out" in report.tests[1].message
    assert elapsed < 5, elapsed
    assert ticks >= 15


def test_whole_submission_of_infinite_loops_is_judged_within_15_s():
    q = Question.model_validate(yaml.safe_load((CODING_DIR / "gradient-descent.yaml").read_text()))
    assert q.coding.time_limit_s == 10  # the slowest challenge
    code = "def gradient_descent(X, y, lr=0.01, epochs=1000):\n    while True:\n        pass\n"
    start = time.monotonic()
    report = run_code(q.coding, code, tests="all")
    assert time.monotonic() - start < 15
    assert report.tests[0].status == "timeout" and {t.status for t in report.tests[1:]} == {"not_run"}


def test_top_level_infinite_loop_ends_the_run_as_timeout():
    start = time.monotonic()
    report = run_code(_spec(), "while True:\n    pass\n", tests="all", test_timeout_s=1)
    assert time.monotonic() - start < 5
    assert report.error and "infinite loop" in report.error
    assert {t.status for t in report.tests} == {"not_run"}


def test_swallowed_alarm_is_stopped_by_the_wall_clock():
    code = ("import signal\n"
            "def double(x):\n"
            "    signal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
            "    while True:\n"
            "        pass\n")
    start = time.monotonic()
    report = run_code(_spec(), code, tests="all", test_timeout_s=0.5, budget_s=3)
    assert time.monotonic() - start < 6
    assert report.tests[0].status == "timeout" and "3 s" in report.tests[0].message
    assert report.tests[1].status == "not_run"


def test_writes_inside_the_private_tmp_work():
    code = ("import os, tempfile\n"
            "def double(x):\n"
            "    with open('scratch.txt', 'w') as fh:\n"
            "        fh.write(str(x))\n"
            "    with tempfile.NamedTemporaryFile('w') as fh:\n"
            "        fh.write('ok')\n"
            "    return 2 * int(open('scratch.txt').read())\n")
    report = run_code(_spec(), code)
    assert report.tests[0].status == "pass", report.tests[0].message


def test_report_says_how_it_was_isolated():
    report = run_code(_spec(), _spec().reference_solution)
    iso = report.isolation
    assert iso.sandboxed and iso.summary.startswith("Your code ran in a bubblewrap sandbox")
    assert "4 processes" in iso.summary and "512 MiB" in iso.summary


def test_report_json_shape():
    report = run_code(_spec(), "def double(x):\n    return 3 * x\n", tests="all")
    data = report_json("double-it", report)
    assert list(data) == ["question_id", "passed", "failed", "tests", "violations", "error", "sandbox"]
    assert data["question_id"] == "double-it"
    assert data["passed"] == 0 and data["failed"] == 2
    assert data["tests"][0] == {"name": "small", "status": "fail", "message": data["tests"][0]["message"]}
    assert set(data["tests"][1]) == {"name", "status", "message"}
    assert data["sandbox"]["summary"] and data["sandbox"]["sandboxed"]


def test_cli_run_code_json(tmp_path):
    spec = Question.model_validate(yaml.safe_load((CODING_DIR / "knn-from-scratch.yaml").read_text()))
    good = tmp_path / "good.py"
    good.write_text(spec.coding.reference_solution)
    bad = tmp_path / "bad.py"
    bad.write_text("import sklearn\n" + spec.coding.reference_solution)
    loop = tmp_path / "loop.py"
    loop.write_text("def knn_predict(X_train, y_train, X_test, k):\n    while True:\n        pass\n")

    def run(path):
        start = time.monotonic()
        out = subprocess.run([sys.executable, "-m", "interviewer", "run-code", "--question", "knn-from-scratch",
                              "--solution", str(path), "--json"], cwd=ROOT, capture_output=True, text=True,
                             timeout=60)
        assert out.returncode == 0, out.stderr  # judged, whatever the candidate's code did
        return json.loads(out.stdout), time.monotonic() - start

    data, _ = run(good)
    assert set(data) == {"question_id", "passed", "failed", "tests", "violations", "error", "sandbox"}
    assert data["failed"] == 0 and data["passed"] == len(data["tests"]) > 0
    assert all(set(t) == {"name", "status", "message"} for t in data["tests"])
    violated, _ = run(bad)
    assert violated["violations"] and violated["passed"] == 0
    looped, seconds = run(loop)
    assert seconds <= 15, seconds  # the whole submission (9 tests of 5 s each) is judged within 15 s
    assert looped["tests"][0]["status"] == "timeout"
    assert {t["status"] for t in looped["tests"][1:]} == {"not_run"}


def test_session_runs_the_code_and_stores_a_typed_record(tmp_path):
    from interviewer.bank import load_bank
    from interviewer.bootstrap import build_app
    from interviewer.config import load_settings

    bank = load_bank()
    app = build_app(load_settings(env={"INTERVIEWER_DB_URL": f"sqlite:///{tmp_path / 'c.db'}"}), bank=bank,
                    use_configured_models=False, runner=RUNNER)
    q = bank.get("knn-from-scratch")
    s = app.start([q])
    first = s.run_code("def knn_predict(X_train, y_train, X_test, k):\n    return []\n", hidden=False)
    reply = "".join(first.reply)
    assert first.report.passed == 0 and first.report.total == len(q.coding.visible_tests)
    assert "fails" in reply  # the interviewer asks about the failing tests
    done = s.run_code(q.coding.reference_solution, hidden=True)
    list(done.reply)
    assert done.report.passed == done.report.total == len(q.coding.hidden_tests)
    turns = [t for t in app.store.get(s.id).turns if t.kind == "code"]
    assert [t.code_run.hidden for t in turns] == [False, True] and all(t.probe_item is None for t in turns)
    assert turns[0].code_run.failed == [t.name for t in q.coding.visible_tests] and turns[0].code_run.sandboxed
    resumed = app.resume(s.id)
    assert resumed.current.code_results["passed"] == len(q.coding.hidden_tests)
    assert resumed.current.code == q.coding.reference_solution
    app.store.engine.dispose()


def test_every_kind_of_literal_argument_reaches_the_function_intact():
    spec = _spec(function_name="echo", signature="echo(*values) -> tuple", starter_code="def echo(*v):\n    pass\n",
                 reference_solution="def echo(*v, **k):\n    return [repr(x) for x in v] + sorted(k)\n",
                 visible_tests=[CodeTest(
                     name="literals", call="echo(set(), {1, 2}, 1e999, -1e999, (1+2j), b'x', 'caf\\u00e9\\n', None, "
                                           "True, [1, (2, {'a': 3.5})], kw=0)",
                     expected="['set()', '{1, 2}', 'inf', '-inf', '(1+2j)', \"b'x'\", \"'caf\\u00e9\\\\n'\", "
                              "'None', 'True', \"[1, (2, {'a': 3.5})]\", 'kw']")],
                 hidden_tests=[])
    result = run_code(spec, spec.reference_solution).tests[0]
    assert result.status == "pass", result.message
