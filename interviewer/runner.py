"""Run a candidate's solution to a coding challenge in a sandbox and grade it.

Public API
----------
- ``check_imports(code, forbidden) -> list[str]``: static (AST) check for forbidden
  imports; raises :class:`CodeSyntaxError` (a plain sentence) when the code does not parse.
- ``run_code(spec, code, tests=..., limits=...) -> RunReport``: run the tests.
- ``report_json(question_id, report) -> dict``: the CLI's JSON shape.

How a run works
---------------
1. The code is parsed; forbidden imports (``import sklearn``, ``from sklearn.x import y``,
   ``__import__("sklearn")``, ``importlib.import_module("sklearn.x")``) stop the run before
   anything executes.
2. A child process ``sys.executable -I -c <harness>`` starts with cwd a private temporary
   directory (deleted afterwards), an environment built from scratch (PATH, LANG, HOME and
   TMPDIR = the temp dir, and OMP/OPENBLAS thread counts = 1 so numpy fits the memory cap; never
   a copy of ``os.environ``, so no API key reaches it), rlimits set in ``preexec_fn`` (CPU,
   address space 1 GiB, file size, open files, no core dumps; the harness sets them again and
   reports the values it actually has), its own session (so the whole group can be killed),
   and stdin carrying the code and the tests' *calls* (never the expected values).
3. The harness exec's the code, then evaluates each test's ``call`` with a per-test
   ``signal.setitimer`` alarm (``while True: pass`` inside the function ends that test as
   ``timeout``; the same alarm bounds the top-level code). The parent keeps a wall clock for
   the whole run and kills the process group when it expires.
4. Results travel on a separate pipe (an fd passed with ``pass_fds``), not on stdout, and they
   carry only the *value* each call returned (as tagged JSON). The parent compares the values
   with the expected ones, which never enter the sandbox: a candidate who prints or even writes
   fake records on the pipe cannot make a hidden test pass without returning the right value.
   stdout/stderr are read up to a cap; the rest is drained and discarded.

Isolation on Linux (what was tested on the build machine)
---------------------------------------------------------
The build machine is a container where we run as root, with util-linux 2.38 ``unshare`` and
unprivileged user namespaces enabled. There, the child runs under
``unshare --user --map-root-user --net --mount --pid --fork --kill-child --mount-proc --ipc --uts``
and the harness, before reading the candidate's code:

- mounts a size-capped tmpfs over the temp dir (falls back to a bind mount) and re-enters it;
- remounts every other mount read-only (bind remount, keeping each mount's locked flags), so
  writes outside the temp dir fail with EROFS;
- drops every capability (bounding set, ambient, effective/permitted) and sets no_new_privs, so
  the code cannot remount ``/`` read-write again, and exec'd programs gain nothing;
- checks that the network namespace only has ``lo`` (down): connecting to a port listening on
  the host's 127.0.0.1 fails with ENETUNREACH;
- is PID 1 of a new PID namespace: it cannot see or signal host processes (nor read their
  ``/proc/<pid>/environ``), and when the run is killed every process it started dies with it
  (``--kill-child``). As PID 1 it would ignore the kernel's SIGXCPU, so the harness handles
  SIGXCPU itself (reports "cpu" and exits); the hard CPU limit (soft + 1 s) SIGKILLs it anyway.

Measured here: one challenge's visible tests take about 70 ms end to end
(``bench/bench_runner.py``); the namespace probe takes about 20 ms once per process.

Whether this works is probed once at runtime (cached) by running a tiny command under the full
``unshare`` line, then under ``unshare --user --map-root-user --net`` alone; if neither works the
code runs without namespaces. Every run's ``RunReport.sandbox`` lists the protections that were
*actually* active in that run (as reported by the harness from inside, e.g. ``getrlimit``,
``/proc/net/dev``, ``statvfs("/")``, ``CapEff``), with a sentence the UI can show.

In-process guards (second layer only: Python code can defeat in-process checks with ctypes, so
the namespaces above are the real isolation): a meta-path finder and an audit hook refuse
forbidden imports at run time; the audit hook also refuses socket creation, subprocesses / exec /
fork, file writes outside the temp dir, and opening other processes' ``/proc/<pid>`` entries
(which matters when there is no PID namespace: ``/proc/<parent>/environ`` holds the app's secrets).

Known limits: even with namespaces the code can *read* every file the app's user can read (the
root is read-only, not hidden), so keep secrets in the environment, not in world-readable files.
Without namespaces (e.g. macOS, or a container that forbids user namespaces) it can also write
where the app's user can and reach the network, guarded only in-process; the report says so. The
private tmpfs (64 MiB by default) is memory not counted by RLIMIT_AS. ``preexec_fn`` is used for
the rlimits as asked; it only calls ``resource.setrlimit``, and the harness re-applies the limits.
"""

from __future__ import annotations

import ast
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from .errors import InterviewerError
from .types import CodeTest, CodingSpec

__all__ = [
    "CodeSyntaxError",
    "Limits",
    "RunReport",
    "SandboxInfo",
    "TestResult",
    "check_imports",
    "isolation_mode",
    "report_json",
    "run_code",
]

Status = Literal["pass", "fail", "error", "timeout"]

REPR_LIMIT = 200
MESSAGE_LIMIT = 400
MAX_RESULT_BYTES = 8 * 1024 * 1024


class CodeSyntaxError(InterviewerError):
    """The candidate's code does not parse; ``str(err)`` is a sentence fit to show."""

    def __init__(self, message: str, line: int | None = None):
        self.line = line
        super().__init__(message)


class Limits(BaseModel):
    """Resource limits of one run. ``None`` means "derive from the challenge"."""

    test_timeout_s: float | None = Field(default=None, gt=0, description="per test (default: spec.time_limit_s)")
    load_timeout_s: float | None = Field(default=None, gt=0, description="top-level code (default: per-test)")
    wall_timeout_s: float | None = Field(default=None, gt=0, description="whole run (default: derived, <= 60 s)")
    cpu_s: int | None = Field(default=None, gt=0, description="RLIMIT_CPU (default: wall clock + 1)")
    memory_bytes: int = Field(default=1024**3, gt=0, description="RLIMIT_AS")
    file_bytes: int = Field(default=16 * 1024**2, gt=0, description="RLIMIT_FSIZE")
    open_files: int = Field(default=64, gt=8, description="RLIMIT_NOFILE")
    output_bytes: int = Field(default=64 * 1024, gt=0, description="stdout and stderr, each")
    tmpfs_bytes: int = Field(default=64 * 1024**2, gt=0, description="size of the private tmpfs")
    isolation: Literal["auto", "none"] = Field(default="auto", description="'none' skips namespaces")


class TestResult(BaseModel):
    __test__ = False  # not a pytest class

    name: str
    status: Status
    message: str
    hidden: bool = False


class SandboxInfo(BaseModel):
    """Which protections were actually active during the run."""

    separate_process: bool = False
    private_temp_dir: bool = False
    clean_environment: bool = False
    cpu_limit: bool = False
    memory_limit: bool = False
    file_size_limit: bool = False
    open_files_limit: bool = False
    no_core_dumps: bool = False
    wall_clock: bool = False
    per_test_timeout: bool = False
    output_cap: bool = False
    user_namespace: bool = False
    network_namespace: bool = False
    filesystem_namespace: bool = False
    read_only_root: bool = False
    private_tmpfs: bool = False
    pid_namespace: bool = False
    capabilities_dropped: bool = False
    import_guard: bool = False
    in_process_guards: bool = False
    summary: str = ""


class RunReport(BaseModel):
    passed: int = 0
    failed: int = 0
    tests: list[TestResult] = Field(default_factory=list)
    violations: list[str] = Field(default_factory=list)
    sandbox: SandboxInfo = Field(default_factory=SandboxInfo)
    stdout: str = ""
    stderr: str = ""
    output_truncated: bool = False
    error: str | None = None
    duration_s: float = 0.0


# --------------------------------------------------------------------------------------
# Static import check
# --------------------------------------------------------------------------------------


def _matches(module: str, forbidden: list[str]) -> str | None:
    for f in forbidden:
        if module == f or module.startswith(f + "."):
            return f
    return None


def _call_name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def check_imports(code: str, forbidden: list[str]) -> list[str]:
    """Violations (plain sentences) for forbidden imports in ``code``, in line order.

    Raises :class:`CodeSyntaxError` if the code does not parse.
    """
    try:
        tree = ast.parse(code, filename="<solution>")
    except SyntaxError as exc:
        raise CodeSyntaxError(_syntax_message(exc), exc.lineno) from None
    except ValueError as exc:  # e.g. null bytes
        raise CodeSyntaxError(f"Your code could not be read: {exc}.") from None
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                names = [node.module]
        elif isinstance(node, ast.Call) and node.args:
            fname = _call_name(node.func)
            arg = node.args[0]
            if fname in ("__import__", "import_module") and isinstance(arg, ast.Constant):
                if isinstance(arg.value, str):
                    names = [arg.value]
        for name in names:
            hit = _matches(name, forbidden)
            if hit:
                found.append((node.lineno, hit))
    seen: set[tuple[int, str]] = set()
    out = []
    for line, name in sorted(found):
        if (line, name) in seen:
            continue
        seen.add((line, name))
        out.append(f"uses {name} (line {line}): this challenge must be solved without it")
    return out


def _syntax_message(exc: SyntaxError) -> str:
    where = f" on line {exc.lineno}" if exc.lineno else ""
    msg = (exc.msg or "invalid syntax").rstrip(".")
    return f"Your code has a syntax error{where}: {msg}."


# --------------------------------------------------------------------------------------
# The harness (runs inside the sandboxed child; standard library only)
# --------------------------------------------------------------------------------------

_HARNESS = (Path(__file__).resolve().parent / "sandbox_harness.py").read_text(encoding="utf-8")


# --------------------------------------------------------------------------------------
# Isolation probe
# --------------------------------------------------------------------------------------

_FULL_NS = [
    "--user",
    "--map-root-user",
    "--net",
    "--mount",
    "--pid",
    "--fork",
    "--kill-child",
    "--mount-proc",
    "--ipc",
    "--uts",
]
_NET_NS = ["--user", "--map-root-user", "--net"]

_probe_lock = threading.Lock()
_probe_cache: dict[str, Any] = {}


def isolation_mode() -> tuple[str, list[str]]:
    """('full' | 'net' | 'none', unshare argv prefix), probed once and cached."""
    with _probe_lock:
        if "mode" in _probe_cache:
            return _probe_cache["mode"]
        mode: tuple[str, list[str]] = ("none", [])
        unshare = shutil.which("unshare") if sys.platform.startswith("linux") else None
        if unshare:
            for name, flags in (("full", _FULL_NS), ("net", _NET_NS)):
                prefix = [unshare, *flags, "--"]
                try:
                    done = subprocess.run(
                        [*prefix, sys.executable, "-I", "-c", "print('ok')"],
                        capture_output=True,
                        timeout=10,
                        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
                        cwd=tempfile.gettempdir(),
                    )
                except (OSError, subprocess.SubprocessError):
                    continue
                if done.returncode == 0 and done.stdout.strip() == b"ok":
                    mode = (name, prefix)
                    break
        _probe_cache["mode"] = mode
        return mode


# --------------------------------------------------------------------------------------
# Values: parse expected, decode the wire, compare
# --------------------------------------------------------------------------------------


class _Opaque:
    """A value the sandbox could only describe by its repr; equal to nothing."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text

    def __eq__(self, other: object) -> bool:
        return False

    __hash__ = object.__hash__


_SAFE_NAMES: dict[str, Any] = {
    "float": float,
    "int": int,
    "complex": complex,
    "bool": bool,
    "str": str,
    "tuple": tuple,
    "list": list,
    "dict": dict,
    "set": set,
    "frozenset": frozenset,
    "range": range,
    "abs": abs,
    "round": round,
    "inf": math.inf,
    "nan": math.nan,
    "math": math,
    "True": True,
    "False": False,
    "None": None,
}


def parse_expected(text: str) -> Any:
    """A test's ``expected``: a literal, or a small expression like ``float('inf')``."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return eval(text, {"__builtins__": {}}, dict(_SAFE_NAMES))  # noqa: S307 - trusted bank text


def _unwire(v: Any) -> Any:
    if not isinstance(v, dict):
        return v
    t, x = v.get("t"), v.get("v")
    if t == "float":
        return float(x)
    if t == "int":
        return int(x)
    if t == "list":
        return [_unwire(i) for i in x]
    if t == "tuple":
        return tuple(_unwire(i) for i in x)
    if t == "set":
        items = [_unwire(i) for i in x]
        try:
            return set(items)
        except TypeError:
            return _Opaque("{" + ", ".join(map(repr, items)) + "}")
    if t == "dict":
        out = {}
        for k, val in x:
            k = _unwire(k)
            try:
                out[k] = _unwire(val)
            except TypeError:
                return _Opaque(repr(x))
        return out
    if t == "complex":
        return complex(float(x[0]), float(x[1]))
    return _Opaque(str(x))


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def approx_equal(got: Any, expected: Any, tol: float) -> bool:
    """Recursive comparison for ``compare: approx``."""
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


# --------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------


def _clean_env(tmpdir: str) -> dict[str, str]:
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": tmpdir,
        "TMPDIR": tmpdir,
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }


class _CappedReader(threading.Thread):
    """Reads a pipe to EOF, keeping at most ``cap`` bytes (the rest is discarded)."""

    def __init__(self, stream: Any, cap: int):
        super().__init__(daemon=True)
        self.stream = stream
        self.cap = cap
        self.chunks: list[bytes] = []
        self.kept = 0
        self.total = 0

    def run(self) -> None:
        read = getattr(self.stream, "read1", self.stream.read)
        try:
            while True:
                chunk = read(65536)
                if not chunk:
                    break
                self.total += len(chunk)
                room = self.cap - self.kept
                if room > 0:
                    part = chunk[:room]
                    self.chunks.append(part)
                    self.kept += len(part)
        except (OSError, ValueError):
            pass
        finally:
            try:
                self.stream.close()
            except OSError:
                pass

    @property
    def data(self) -> bytes:
        return b"".join(self.chunks)

    @property
    def truncated(self) -> bool:
        return self.total > self.kept


def _rlimits(limits: Limits, cpu_s: int) -> dict[str, tuple[int, int]]:
    return {
        "RLIMIT_CPU": (cpu_s, cpu_s + 1),
        "RLIMIT_AS": (limits.memory_bytes, limits.memory_bytes),
        "RLIMIT_FSIZE": (limits.file_bytes, limits.file_bytes),
        "RLIMIT_NOFILE": (limits.open_files, limits.open_files),
        "RLIMIT_CORE": (0, 0),
    }


def _make_preexec(rlimits: dict[str, tuple[int, int]]):
    import resource

    pairs = [(getattr(resource, name), value) for name, value in rlimits.items()]
    setrlimit = resource.setrlimit

    def preexec() -> None:  # runs in the forked child: keep it to C calls
        for res, value in pairs:
            try:
                setrlimit(res, value)
            except (ValueError, OSError):
                pass

    return preexec


def _select_tests(spec: CodingSpec, which: str) -> list[tuple[CodeTest, bool]]:
    visible = [(t, False) for t in spec.visible_tests]
    hidden = [(t, True) for t in spec.hidden_tests]
    if which == "visible":
        return visible
    if which == "hidden":
        return hidden
    if which == "all":
        return visible + hidden
    raise ValueError(f"tests must be 'visible', 'hidden' or 'all', not {which!r}")


def _finish(report: RunReport) -> RunReport:
    report.passed = sum(1 for t in report.tests if t.status == "pass")
    report.failed = len(report.tests) - report.passed
    return report


def _not_run(selected: list[tuple[CodeTest, bool]], status: Status, message: str) -> list[TestResult]:
    return [TestResult(name=t.name, status=status, message=message, hidden=h) for t, h in selected]


def run_code(
    spec: CodingSpec,
    code: str,
    *,
    tests: Literal["visible", "hidden", "all"] = "visible",
    limits: Limits | None = None,
) -> RunReport:
    """Run ``code`` against the challenge's tests in a sandboxed child process."""
    started = time.monotonic()
    limits = limits or Limits()
    selected = _select_tests(spec, tests)
    report = RunReport()

    try:
        report.violations = check_imports(code, spec.forbidden_imports)
    except CodeSyntaxError as exc:
        report.error = str(exc)
        report.tests = _not_run(selected, "error", "not run: the code has a syntax error")
        report.sandbox = _describe(SandboxInfo(), limits, ran=False)
        return _finish(report)
    if report.violations:
        report.error = "Your code uses a library this challenge forbids, so it was not run."
        report.tests = _not_run(selected, "error", "not run: the code uses a forbidden import")
        report.sandbox = _describe(SandboxInfo(), limits, ran=False)
        return _finish(report)

    test_timeout = limits.test_timeout_s or spec.time_limit_s
    load_timeout = limits.load_timeout_s or test_timeout
    wall = limits.wall_timeout_s or min(60.0, 3.0 + load_timeout + test_timeout * max(1, len(selected)))
    cpu_s = limits.cpu_s or int(math.ceil(wall)) + 1

    mode, prefix = isolation_mode() if limits.isolation == "auto" else ("none", [])
    rlimits = _rlimits(limits, cpu_s)
    tmpdir = os.path.realpath(tempfile.mkdtemp(prefix="interviewer-run-"))
    info = SandboxInfo(separate_process=True, clean_environment=True, wall_clock=True, output_cap=True)
    try:
        payload = {
            "code": code,
            "tests": [{"name": t.name, "call": t.call} for t, _ in selected],
            "forbidden": list(spec.forbidden_imports),
            "tmpdir": tmpdir,
            "limits": rlimits,
            "mount_ns": mode == "full",
            "tmpfs_bytes": limits.tmpfs_bytes,
            "load_timeout": load_timeout,
            "test_timeout": test_timeout,
        }
        outcome = _spawn(prefix, payload, tmpdir, limits, rlimits, wall)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
        info.private_temp_dir = not os.path.exists(tmpdir)

    report.stdout = outcome["stdout"]
    report.stderr = outcome["stderr"]
    report.output_truncated = outcome["truncated"]
    setup = outcome["records"].get("setup")
    if setup:
        _apply_setup(info, setup, rlimits, mode)
    report.sandbox = _describe(info, limits, ran=True, test_timeout=test_timeout)
    report.tests, report.error = _grade(selected, outcome, test_timeout, load_timeout, wall, cpu_s)
    report.duration_s = round(time.monotonic() - started, 3)
    return _finish(report)


def _spawn(
    prefix: list[str],
    payload: dict,
    tmpdir: str,
    limits: Limits,
    rlimits: dict[str, tuple[int, int]],
    wall: float,
) -> dict:
    if not sys.executable:
        raise InterviewerError("The code runner needs a Python executable, and none was found.")
    r_fd, w_fd = os.pipe()
    cmd = [*prefix, sys.executable, "-I", "-c", _HARNESS, str(w_fd)]
    try:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=tmpdir,
            env=_clean_env(tmpdir),
            pass_fds=(w_fd,),
            preexec_fn=_make_preexec(rlimits),
            start_new_session=True,
            close_fds=True,
        )
    except BaseException:
        os.close(r_fd)
        os.close(w_fd)
        raise
    os.close(w_fd)
    results = _CappedReader(os.fdopen(r_fd, "rb"), MAX_RESULT_BYTES)
    out = _CappedReader(proc.stdout, limits.output_bytes)
    err = _CappedReader(proc.stderr, limits.output_bytes)
    for reader in (results, out, err):
        reader.start()

    def feed() -> None:
        try:
            proc.stdin.write(json.dumps(payload).encode("utf-8"))
        except (BrokenPipeError, OSError, ValueError):
            pass
        finally:
            try:
                proc.stdin.close()
            except (BrokenPipeError, OSError):
                pass

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    # A blocking waitpid in a helper thread wakes up as soon as the child exits
    # (Popen.wait(timeout=...) polls with sleeps of up to 50 ms).
    waiter = threading.Thread(target=proc.wait, daemon=True)
    waiter.start()
    timed_out = True
    try:
        waiter.join(timeout=wall)
        timed_out = waiter.is_alive()
    finally:
        if timed_out:  # only while unreaped: the group id cannot have been reused yet
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        proc.wait()
    for reader in (results, out, err):
        reader.join(timeout=2.0)
    feeder.join(timeout=1.0)

    records: dict[str, Any] = {"tests": {}}
    for raw in results.data.decode("utf-8", "replace").splitlines():
        try:
            rec = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(rec, dict):
            continue
        kind = rec.get("type")
        if kind == "test":
            name = rec.get("name")
            if isinstance(name, str) and name not in records["tests"]:
                records["tests"][name] = rec
        elif kind in ("setup", "load", "done", "cpu") and kind not in records:
            records[kind] = rec
    return {
        "records": records,
        "timed_out": timed_out,
        "returncode": proc.returncode,
        "stdout": out.data.decode("utf-8", "replace"),
        "stderr": err.data.decode("utf-8", "replace"),
        "truncated": out.truncated or err.truncated,
        "results_truncated": results.truncated,
    }


def _apply_setup(info: SandboxInfo, setup: dict, rlimits: dict, mode: str) -> None:
    got = setup.get("rlimits") or {}

    def limited(name: str) -> bool:
        want = rlimits[name][0]
        have = got.get(name)
        return bool(have) and 0 <= have[0] <= want and have[0] != -1

    info.cpu_limit = limited("RLIMIT_CPU")
    info.memory_limit = limited("RLIMIT_AS")
    info.file_size_limit = limited("RLIMIT_FSIZE")
    info.open_files_limit = limited("RLIMIT_NOFILE")
    info.no_core_dumps = bool(got.get("RLIMIT_CORE")) and got["RLIMIT_CORE"][0] == 0
    info.per_test_timeout = True
    info.user_namespace = mode in ("full", "net")
    info.network_namespace = mode in ("full", "net") and bool(setup.get("net_isolated"))
    info.filesystem_namespace = mode == "full" and bool(setup.get("tmp_rw"))
    info.read_only_root = info.filesystem_namespace and bool(setup.get("root_ro"))
    info.private_tmpfs = info.filesystem_namespace and bool(setup.get("tmpfs"))
    info.pid_namespace = mode == "full" and setup.get("pid") == 1
    info.capabilities_dropped = bool(setup.get("caps_dropped"))
    info.import_guard = bool(setup.get("guards"))
    info.in_process_guards = bool(setup.get("guards"))


def _fmt_bytes(n: int) -> str:
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= size:
            value = n / size
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n} bytes"


def _describe(info: SandboxInfo, limits: Limits, *, ran: bool, test_timeout: float | None = None) -> SandboxInfo:
    if not ran:
        info.summary = "Your code was not run."
        return info
    isolated = []
    if info.network_namespace:
        isolated.append("no network")
    if info.read_only_root:
        isolated.append("a read-only filesystem except a private temporary folder")
    if info.pid_namespace:
        isolated.append("no view of other processes")
    caps = []
    if info.memory_limit:
        caps.append(f"{_fmt_bytes(limits.memory_bytes)} of memory")
    if info.cpu_limit:
        caps.append("a CPU-time limit")
    if info.per_test_timeout and test_timeout:
        caps.append(f"{test_timeout:g} s per test")
    if info.output_cap:
        caps.append(f"output capped at {_fmt_bytes(limits.output_bytes)}")
    text = "Your code ran in a separate process with a clean environment"
    if isolated:
        text += ", " + (", ".join(isolated[:-1]) + " and " if len(isolated) > 1 else "") + isolated[-1]
    if caps:
        text += "; limits: " + ", ".join(caps)
    text += "."
    missing = []
    if not info.network_namespace:
        missing.append("network")
    if not info.read_only_root:
        missing.append("filesystem")
    if missing:
        text += (
            f" Note: {' and '.join(missing)} isolation is not available on this machine, "
            "so only in-process guards block it."
        )
    info.summary = text
    return info


def _grade(
    selected: list[tuple[CodeTest, bool]],
    outcome: dict,
    test_timeout: float,
    load_timeout: float,
    wall: float,
    cpu_s: int,
) -> tuple[list[TestResult], str | None]:
    records = outcome["records"]
    load = records.get("load")
    rc = outcome["returncode"]
    died = _death_reason(outcome, wall, cpu_s)

    if load is None:
        if outcome["timed_out"]:
            msg = f"Your code did not finish loading within the {wall:g} s time limit."
            return _not_run(selected, "timeout", "not run: the run timed out"), msg
        if "setup" not in records:
            tail = outcome["stderr"].strip().splitlines()[-1:] or [""]
            msg = f"The sandbox could not start ({died or f'exit code {rc}'}). {tail[0]}".strip()
            return _not_run(selected, "error", "not run: the sandbox could not start"), msg
        msg = f"Your code stopped while loading: {died or f'exit code {rc}'}."
        return _not_run(selected, "error", "not run: the code stopped while loading"), msg
    if load.get("status") == "timeout":
        msg = (
            f"Your code's top-level statements ran longer than {load_timeout:g} s "
            "(an infinite loop outside a function?), so no test ran."
        )
        return _not_run(selected, "timeout", "not run: loading the code timed out"), msg
    if load.get("status") == "error":
        exc = load.get("exc_type", "Exception")
        where = f" on line {load['line']}" if load.get("line") else ""
        detail = f": {load.get('exc_message')}" if load.get("exc_message") else ""
        msg = f"Your code raised {exc}{where} while loading{detail}"
        return _not_run(selected, "error", f"not run: loading the code raised {exc}"), msg[:MESSAGE_LIMIT]

    results: list[TestResult] = []
    error: str | None = None
    for test, hidden in selected:
        rec = records["tests"].get(test.name)
        if rec is None:
            if outcome["timed_out"] or "cpu" in records:
                results.append(TestResult(name=test.name, status="timeout", hidden=hidden,
                                          message=f"not finished: {died}"))
            else:
                results.append(TestResult(name=test.name, status="error", hidden=hidden,
                                          message=f"not finished: the process stopped ({died or f'exit code {rc}'})"[:MESSAGE_LIMIT]))
            continue
        results.append(_grade_one(test, hidden, rec, test_timeout))
    if outcome["timed_out"] and "done" not in records:
        error = f"The run was stopped after {wall:g} s."
    elif "done" not in records and died:
        error = f"The sandboxed process stopped early: {died}."
    return results, error


def _death_reason(outcome: dict, wall: float, cpu_s: int) -> str | None:
    rc = outcome["returncode"]
    if outcome["timed_out"]:
        return f"killed after the {wall:g} s wall-clock limit"
    if "cpu" in outcome["records"]:
        return f"the {cpu_s} s CPU-time limit was reached"
    sig = -rc if rc is not None and rc < 0 else (rc - 128 if rc is not None and rc > 128 else None)
    if sig == signal.SIGXCPU:
        return f"the {cpu_s} s CPU-time limit was reached"
    if sig == signal.SIGXFSZ:
        return "a file grew past the size limit"
    if sig:
        try:
            return f"killed by signal {signal.Signals(sig).name}"
        except ValueError:
            return f"killed by signal {sig}"
    if outcome.get("results_truncated"):
        return "it sent too much data"
    return None


def _grade_one(test: CodeTest, hidden: bool, rec: dict, test_timeout: float) -> TestResult:
    status = rec.get("status")
    if status == "timeout":
        return TestResult(name=test.name, status="timeout", hidden=hidden,
                          message=f"timed out (limit {test_timeout:g} s)")
    if status == "error":
        exc = str(rec.get("exc_type") or "Exception")
        if hidden:
            return TestResult(name=test.name, status="error", hidden=True, message=f"raised {exc}")
        where = f" (line {rec['line']})" if rec.get("line") else ""
        detail = f": {rec.get('exc_message')}" if rec.get("exc_message") else ""
        return TestResult(name=test.name, status="error", hidden=False,
                          message=f"raised {exc}{where}{detail}"[:MESSAGE_LIMIT])
    try:
        got = _unwire(rec.get("value"))
    except (TypeError, ValueError, KeyError, IndexError, AttributeError):
        got = _Opaque("<unreadable result>")
    expected = parse_expected(test.expected)
    if values_match(got, test, expected):
        return TestResult(name=test.name, status="pass", hidden=hidden, message="passed")
    if hidden:
        return TestResult(name=test.name, status="fail", hidden=True, message="wrong answer")
    msg = f"expected {_short(expected)}, got {_short(got)}"
    if test.compare == "approx":
        msg += f" (tolerance {test.tolerance:g})"
    if test.why:
        msg += f". {test.why.strip()}"
    return TestResult(name=test.name, status="fail", hidden=False, message=msg[:MESSAGE_LIMIT])


# --------------------------------------------------------------------------------------
# JSON for the CLI
# --------------------------------------------------------------------------------------


def report_json(question_id: str, report: RunReport) -> dict:
    return {
        "question_id": question_id,
        "passed": report.passed,
        "failed": report.failed,
        "tests": [{"name": t.name, "status": t.status, "message": t.message} for t in report.tests],
        "violations": list(report.violations),
        "sandbox": report.sandbox.model_dump(),
    }
