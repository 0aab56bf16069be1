"""Grade a candidate's solution: import policy, test selection, comparison, pass counts.

`CodeRunner.run(spec, code, tests=...)` checks the code's imports, sends the tests' CALLS (never the
expected values) to the sandbox with `sandbox_harness.py`, and compares what came back here, in the
app: a candidate who prints, exits early, writes fake records or patches the harness gains nothing
without returning the right values. The isolation itself lives in `sandbox.py`.
"""

from __future__ import annotations

import ast
import math
import signal
from pathlib import Path
from typing import Any, Literal, cast

from pydantic import BaseModel, Field

from .errors import InterviewerError
from .sandbox import Isolation, Sandbox, SandboxRun
from .types import CodeTest, CodingSpec, literal_value, parse_call

__all__ = ["CodeRunner", "CodeSyntaxError", "RunReport", "TestResult", "check_imports", "report_json",
           "values_match"]

Status = Literal["pass", "fail", "error", "timeout", "not_run"]
Which = Literal["visible", "hidden", "all"]
REPR_LIMIT = 200
MESSAGE_LIMIT = 400
RUN_BUDGET_S = 12.0  # a whole submission, startup included: an infinite loop is reported well within 15 s
LOAD_TIMEOUT_S = 5.0
SANDBOX_PACKAGES = ("numpy",)  # mounted read-only unless the question forbids them

_HARNESS = (Path(__file__).resolve().parent / "sandbox_harness.py").read_text(encoding="utf-8")


class CodeSyntaxError(InterviewerError):
    """The candidate's code does not parse; `str(err)` is a sentence fit to show."""

    def __init__(self, message: str, line: int | None = None):
        self.line = line
        super().__init__(message)


class TestResult(BaseModel):
    __test__ = False  # not a pytest class

    name: str
    status: Status
    message: str
    hidden: bool = False


class RunReport(BaseModel):
    passed: int = 0
    failed: int = 0
    tests: list[TestResult] = Field(default_factory=list)
    violations: list[str] = Field(default_factory=list)
    isolation: Isolation = Field(default_factory=lambda: Isolation(sandboxed=False, summary="Your code was not run."))
    stdout: str = ""
    stderr: str = ""
    output_truncated: bool = False
    error: str | None = None
    duration_s: float = 0.0

    @property
    def total(self) -> int:
        return self.passed + self.failed


# ------------------------------------------------------------------------------------ imports

def _matches(module: str, forbidden: list[str]) -> str | None:
    return next((f for f in forbidden if module == f or module.startswith(f + ".")), None)


def check_imports(code: str, forbidden: list[str]) -> list[str]:
    """Violations (plain sentences) for forbidden imports in `code`, in line order.

    Raises `CodeSyntaxError` if the code does not parse.
    """
    try:
        tree = ast.parse(code, filename="<solution>")
    except SyntaxError as exc:
        where = f" on line {exc.lineno}" if exc.lineno else ""
        raise CodeSyntaxError(f"Your code has a syntax error{where}: {(exc.msg or 'invalid syntax').rstrip('.')}.",
                              exc.lineno) from None
    except ValueError as exc:  # e.g. null bytes
        raise CodeSyntaxError(f"Your code could not be read: {exc}.") from None
    found: set[tuple[int, str]] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            fname = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if fname in ("__import__", "import_module") and isinstance(node.args[0].value, str):
                names = [node.args[0].value]
        for name in names:
            if hit := _matches(name, forbidden):
                found.add((getattr(node, "lineno", 0), hit))
    return [f"uses {name} (line {line}): this challenge must be solved without it" for line, name in sorted(found)]


# ------------------------------------------------------------------------------------ values

class _Opaque:
    """A value the sandbox could only describe by its repr; equal to nothing."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text

    def __eq__(self, other: object) -> bool:
        return False

    __hash__ = object.__hash__


def _unwire(v: Any) -> Any:
    if not isinstance(v, dict):
        return v
    t, x = v.get("t"), v.get("v")
    x = cast(Any, x)
    if t == "float":
        return float(x)
    if t == "int":
        return int(x)
    if t in ("list", "tuple", "set"):
        items = [_unwire(i) for i in x]
        if t == "list":
            return items
        if t == "tuple":
            return tuple(items)
        try:
            return set(items)
        except TypeError:
            return _Opaque("{" + ", ".join(map(repr, items)) + "}")
    if t == "dict":
        try:
            return {_unwire(k): _unwire(val) for k, val in x}
        except TypeError:
            return _Opaque(repr(x))
    if t == "complex":
        return complex(float(x[0]), float(x[1]))
    return _Opaque(str(x))


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def approx_equal(got: Any, expected: Any, tol: float) -> bool:
    """Recursive comparison for `compare: approx`."""
    if _is_number(got) and _is_number(expected):
        if isinstance(got, float) and isinstance(expected, float) and math.isnan(got) and math.isnan(expected):
            return True
        return math.isclose(got, expected, rel_tol=tol, abs_tol=tol)
    if isinstance(got, (list, tuple)) and isinstance(expected, (list, tuple)):
        return len(got) == len(expected) and all(approx_equal(g, e, tol) for g, e in zip(got, expected))
    if isinstance(got, dict) and isinstance(expected, dict):
        return got.keys() == expected.keys() and all(approx_equal(got[k], expected[k], tol) for k in got)
    if got is None or expected is None:
        return got is None and expected is None
    try:
        return bool(got == expected)
    except Exception:
        return False


def values_match(got: Any, test: CodeTest, expected: Any) -> bool:
    if test.compare == "approx":
        return approx_equal(got, expected, test.tolerance)
    try:
        return bool(got == expected)
    except Exception:
        return False


def _short(value: Any, limit: int = REPR_LIMIT) -> str:
    try:
        text = repr(value)
    except Exception:
        text = "<unprintable>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ------------------------------------------------------------------------------------ running

class CodeRunner:
    """Runs a candidate's code against a challenge's tests in a `Sandbox` (built in `bootstrap`)."""

    def __init__(self, sandbox: Sandbox | None = None, *, budget_s: float = RUN_BUDGET_S):
        self.sandbox = sandbox or Sandbox()
        self.budget_s = budget_s

    def problem(self) -> str | None:
        """None when code can run here; else the fail-closed sentence to show instead of a Run button."""
        try:
            self.sandbox.check()
        except InterviewerError as exc:
            return str(exc)
        return None

    def run(self, spec: CodingSpec, code: str, *, tests: Which = "visible",
            test_timeout_s: float | None = None) -> RunReport:
        """Run `code` against the chosen tests. Raises `SandboxUnavailable` (fail closed)."""
        selected = _select(spec, tests)
        report = RunReport()
        try:
            report.violations = check_imports(code, spec.forbidden_imports)
        except CodeSyntaxError as exc:
            report.error = str(exc)
            report.tests = _not_run(selected, "not run: the code has a syntax error")
            return _count(report)
        if report.violations:
            report.error = "Your code uses a library this challenge forbids, so it was not run."
            report.tests = _not_run(selected, "not run: the code uses a forbidden import")
            return _count(report)
        test_timeout = min(test_timeout_s or spec.time_limit_s, self.budget_s - 1)
        load_timeout = min(LOAD_TIMEOUT_S, test_timeout)
        calls = []
        for t, _ in selected:
            function, args, kwargs = parse_call(t.call)
            calls.append({"function": function, "args": args, "kwargs": kwargs, "observe": t.observe})
        payload = {"code": code, "calls": calls, "forbidden": list(spec.forbidden_imports),
                   "load_timeout": load_timeout, "test_timeout": test_timeout}
        packages = tuple(p for p in SANDBOX_PACKAGES if not _matches(p, spec.forbidden_imports))
        limits = self.sandbox.limits.model_copy(update={"wall_s": self.budget_s,
                                                        "cpu_s": int(math.ceil(self.budget_s))})
        run = self.sandbox.run(_HARNESS, repr(payload).encode("utf-8"), packages=packages, limits=limits)
        report.isolation = run.isolation
        report.stdout, report.stderr, report.output_truncated = run.stdout, run.stderr, run.output_truncated
        report.duration_s = run.seconds
        report.tests, report.error = _grade(selected, _records(run), run, self.budget_s, test_timeout, load_timeout)
        return _count(report)


def _select(spec: CodingSpec, which: str) -> list[tuple[CodeTest, bool]]:
    visible = [(t, False) for t in spec.visible_tests]
    hidden = [(t, True) for t in spec.hidden_tests]
    choices = {"visible": visible, "hidden": hidden, "all": visible + hidden}
    if which not in choices:
        raise ValueError(f"tests must be 'visible', 'hidden' or 'all', not {which!r}")
    return choices[which]


def _count(report: RunReport) -> RunReport:
    report.passed = sum(1 for t in report.tests if t.status == "pass")
    report.failed = len(report.tests) - report.passed
    return report


def _not_run(selected: list[tuple[CodeTest, bool]], message: str) -> list[TestResult]:
    return [TestResult(name=t.name, status="not_run", message=message, hidden=h) for t, h in selected]


def _records(run: SandboxRun) -> dict:
    """The harness's records (one Python literal a line), first of each kind (and call index) only."""
    records: dict[str, Any] = {"calls": {}}
    for raw in run.results.decode("utf-8", "replace").splitlines():
        try:
            rec = ast.literal_eval(raw)  # candidate-writable: read as data, never evaluated
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        if not isinstance(rec, dict):
            continue
        kind = rec.get("type")
        if kind == "call" and isinstance(rec.get("i"), int) and rec["i"] not in records["calls"]:
            records["calls"][rec["i"]] = rec
        elif kind in ("load", "done") and kind not in records:
            records[kind] = rec
    return records


def _death(run: SandboxRun, budget: float) -> str:
    if run.timed_out:
        return f"stopped after the run's {budget:g} s time limit"
    rc = run.returncode
    sig = -rc if rc is not None and rc < 0 else None
    if sig == signal.SIGXCPU:
        return "stopped at the CPU-time limit"
    if sig == signal.SIGXFSZ:
        return "a file grew past the size limit"
    if sig:
        try:
            return f"killed by signal {signal.Signals(sig).name}"
        except ValueError:
            return f"killed by signal {sig}"
    if run.results_truncated:
        return "it sent too much data"
    return f"the process exited (code {rc})"


def _grade(selected, records: dict, run: SandboxRun, budget: float, test_timeout: float,
           load_timeout: float) -> tuple[list[TestResult], str | None]:
    load = records.get("load")
    if load is None:
        if run.stderr.startswith("bwrap:"):
            tail = run.stderr.strip().splitlines()[0][:200]
            return _not_run(selected, "not run: the sandbox could not start"), \
                f"The sandbox could not start this time ({tail})."
        return _not_run(selected, "not run: the code stopped while loading"), \
            f"Your code stopped while loading: {_death(run, budget)}."
    if load.get("status") == "timeout":
        return _not_run(selected, "not run: loading the code timed out"), (
            f"Your code's top-level statements ran longer than {load_timeout:g} s "
            "(an infinite loop outside a function?), so no test ran.")
    if load.get("status") == "error":
        exc = str(load.get("exc_type") or "Exception")
        where = f" on line {load['line']}" if load.get("line") else ""
        detail = f": {load.get('exc_message')}" if load.get("exc_message") else ""
        return _not_run(selected, f"not run: loading the code raised {exc}"), \
            f"Your code raised {exc}{where} while loading{detail}"[:MESSAGE_LIMIT]

    results: list[TestResult] = []
    stopped: str | None = None
    for i, (test, hidden) in enumerate(selected):
        rec = records["calls"].get(i)
        if stopped:
            results.append(TestResult(name=test.name, status="not_run", hidden=hidden, message=stopped))
        elif rec is None:
            why = _death(run, budget)
            status: Literal["timeout", "error"] = "timeout" if run.timed_out else "error"
            results.append(TestResult(name=test.name, status=status, hidden=hidden, message=f"not finished: {why}"))
            stopped = f"not run: an earlier test did not finish ({why})"
        else:
            results.append(_grade_one(test, hidden, rec, test_timeout))
            if rec.get("status") == "timeout":
                stopped = "not run: an earlier test timed out"
    error = None
    if "done" not in records and stopped:
        error = f"The run stopped early: {stopped.removeprefix('not run: ')}."
    return results, error


def _grade_one(test: CodeTest, hidden: bool, rec: dict, test_timeout: float) -> TestResult:
    status = rec.get("status")
    if status == "timeout":
        return TestResult(name=test.name, status="timeout", hidden=hidden,
                          message=f"timed out (limit {test_timeout:g} s)")
    if status == "error":
        exc = str(rec.get("exc_type") or "Exception")[:80]
        raw_mro = rec.get("exc_mro")
        mro: list = raw_mro if isinstance(raw_mro, list) else []
        if test.raises and ["builtins", test.raises] in mro:
            return TestResult(name=test.name, status="pass", hidden=hidden, message="passed")
        if hidden:
            return TestResult(name=test.name, status="error", hidden=True, message=f"raised {exc}")
        where = f" (line {rec['line']})" if rec.get("line") else ""
        detail = f": {rec.get('exc_message')}" if rec.get("exc_message") else ""
        want = f"; expected {test.raises}" if test.raises else ""
        return TestResult(name=test.name, status="error", hidden=False,
                          message=f"raised {exc}{where}{detail}{want}"[:MESSAGE_LIMIT])
    try:
        got = _unwire(rec.get("value"))
    except (TypeError, ValueError, KeyError, IndexError, AttributeError):
        got = _Opaque("<unreadable result>")
    if test.raises:
        ok, expected = False, None
        msg = f"expected {test.raises} to be raised, got {_short(got)}"
    elif test.observe == "arguments":
        _, args, kwargs = parse_call(test.call)
        expected = (args, kwargs)
        ok = values_match(got, test, expected)
        msg = f"the function changed its arguments: they became {_short(got[0] if isinstance(got, tuple) else got)}"
    else:
        expected = literal_value(test.expected or "")
        ok = values_match(got, test, expected)
        msg = f"expected {_short(expected)}, got {_short(got)}"
        if test.compare == "approx":
            msg += f" (tolerance {test.tolerance:g})"
    if ok:
        return TestResult(name=test.name, status="pass", hidden=hidden, message="passed")
    if hidden:
        return TestResult(name=test.name, status="fail", hidden=True, message="wrong answer")
    if test.why:
        msg += f". {test.why.strip()}"
    return TestResult(name=test.name, status="fail", hidden=False, message=msg[:MESSAGE_LIMIT])


def report_json(question_id: str, report: RunReport) -> dict:
    """The CLI's `run-code --json` shape."""
    return {
        "question_id": question_id,
        "passed": report.passed,
        "failed": report.failed,
        "tests": [{"name": t.name, "status": t.status, "message": t.message} for t in report.tests],
        "violations": list(report.violations),
        "error": report.error,
        "sandbox": report.isolation.model_dump(),
    }
