"""Attack probes: one candidate solution per attack class, each asserting containment.

Each probe is a solution whose `probe(...)` returns the evidence of what it managed to do (what it
read, wrote, reached, killed); the test asserts that evidence is empty. They run against the real
bubblewrap sandbox; where it cannot start, the module is skipped with the sandbox's own sentence
(and test_fail_closed_* show what the app does then).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from interviewer.bootstrap import build_runner
from interviewer.grading import CodeRunner, RunReport
from interviewer.sandbox import Sandbox, SandboxUnavailable, _runtime_paths
from interviewer.types import CodeTest, CodingSpec

ROOT = Path(__file__).resolve().parents[1]
RUNNER = build_runner()
STRONG = RUNNER.problem() is None
needs_sandbox = pytest.mark.skipif(not STRONG, reason=RUNNER.problem() or "")


def _spec(arg, expected="[]", *, forbidden=("sklearn",), hidden: list[CodeTest] | None = None) -> CodingSpec:
    return CodingSpec(
        function_name="probe", signature="probe(arg) -> list",
        statement="An attack probe: returns the evidence of what it managed to do. Long enough for the schema.",
        starter_code="def probe(arg):\n    return []\n", reference_solution="def probe(arg):\n    return []\n",
        visible_tests=[CodeTest(name="probe", call=f"probe({arg!r})", expected=expected)],
        hidden_tests=hidden or [], forbidden_imports=list(forbidden), time_limit_s=5)


def run_probe(code: str, arg=None, **kw) -> tuple[RunReport, str]:
    """Run a probe; returns the report and the probe test's message ('passed' when it returned [])."""
    report = RUNNER.run(_spec(arg, **kw), code, tests="visible")
    return report, report.tests[0].message


def _assert_contained(report: RunReport) -> None:
    t = report.tests[0]
    assert t.status == "pass", f"{t.status}: {t.message}\nstdout: {report.stdout[-2000:]}\nstderr: {report.stderr[-2000:]}"
    assert report.isolation.sandboxed


def _run_uid_processes(uid: int | None) -> list[int]:
    if uid is None:
        return []
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    pids.append(int(entry))
            except OSError:
                pass
    return pids


# ------------------------------------------------------------------------------ reading the host


@needs_sandbox
def test_probe_cannot_read_secrets_database_bank_or_source(tmp_path, monkeypatch):
    secrets = tmp_path / ".streamlit" / "secrets.toml"
    secrets.parent.mkdir()
    secrets.write_text('cookie_secret = "probe-cookie-secret"\n')
    db = tmp_path / "interviewer.db"
    db.write_bytes(b"SQLite format 3\x00 probe-transcripts")
    targets = [str(secrets), str(db), str(ROOT / "question_bank/coding/knn-from-scratch.yaml"),
               str(ROOT / "interviewer/session.py"), str(ROOT / ".streamlit"), str(ROOT / ".venv/pyvenv.cfg"),
               os.path.expanduser("~"), "/etc/passwd", "/etc/hostname", "/run", "/var", "/home",
               os.environ.get("INTERVIEWER_DB_URL", "").removeprefix("sqlite:///")]
    # What the sandbox may show: its own /tmp, /dev, /proc, and the path components leading to the runtime.
    allowed = {"tmp", "dev", "proc", "opt"} | {p.split("/")[1] for p in _runtime_paths()}
    home = os.path.expanduser("~")
    home_allowed = sorted({p[len(home) + 1:].split("/")[0] for p in _runtime_paths() if p.startswith(home + "/")})
    code = (
        "import os, ctypes\n"
        "def probe(arg):\n"
        "    paths, allowed, home, home_allowed = arg\n"
        "    got = []\n"
        "    libc = ctypes.CDLL(None, use_errno=True)\n"
        "    for p in paths:\n"
        "        try:\n"
        "            if os.path.isdir(p):\n"
        "                if p != home or sorted(os.listdir(p)) != home_allowed:\n"
        "                    got.append((p, os.listdir(p)))\n"
        "            else:\n"
        "                got.append((p, open(p, 'rb').read(64)))\n"
        "        except OSError:\n"
        "            pass\n"
        "        if not os.path.isdir(p) and libc.open(p.encode(), 0) >= 0:  # libc, past any Python guard\n"
        "            got.append((p, 'libc open'))\n"
        "    if os.listdir('/tmp'):\n"
        "        got.append(('/tmp', os.listdir('/tmp')))\n"
        "    extra = set(os.listdir('/')) - set(allowed)\n"
        "    if extra:\n"
        "        got.append(('/', sorted(extra)))\n"
        "    return got\n")
    targets = [targets, sorted(allowed), home, home_allowed]
    report, _ = run_probe(code, targets)
    _assert_contained(report)


@needs_sandbox
def test_probe_sees_no_environment_secret_and_no_other_process(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-probe-secret-value")
    code = (
        "import os\n"
        "def probe(host_pid):\n"
        "    got = [k for k in os.environ if k not in ('PATH', 'PWD', 'LANG', 'LC_ALL', 'HOME', 'TMPDIR', 'OMP_NUM_THREADS',\n"
        "                                               'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS')]\n"
        "    pids = [int(p) for p in os.listdir('/proc') if p.isdigit()]\n"
        "    for pid in pids:\n"
        "        for f in ('environ', 'cmdline'):\n"
        "            try:\n"
        "                if b'sk-probe' in open(f'/proc/{pid}/{f}', 'rb').read():\n"
        "                    got.append((pid, f))\n"
        "            except OSError:\n"
        "                pass\n"
        "    if len(pids) > 3 or os.path.exists(f'/proc/{host_pid}'):\n"
        "        got.append(('processes visible', pids))\n"
        "    return got\n")
    report, _ = run_probe(code, os.getpid())
    _assert_contained(report)


@needs_sandbox
def test_probe_cannot_read_its_own_expected_values():
    # The hidden test's expected value can't be computed from the call: the sandbox must never hold it.
    hidden = [CodeTest(name="secret", call="probe('x')", expected="'tangerine-7781'")]
    code = (
        "import gc, re, sys\n"
        "def probe(arg):\n"
        "    found = []\n"
        "    def look(text):\n"
        "        m = re.search(r'tangerine-[0-9]+', text)\n"
        "        if m:\n"
        "            found.append(m.group(0))\n"
        "    for obj in gc.get_objects():\n"
        "        try:\n"
        "            look(repr(obj))\n"
        "        except Exception:\n"
        "            pass\n"
        "    for f in ('/proc/self/cmdline', '/proc/self/environ', '/proc/1/cmdline', '/proc/1/environ'):\n"
        "        try:\n"
        "            look(open(f, 'rb').read().decode('latin-1'))\n"
        "        except OSError:\n"
        "            pass\n"
        "    look(repr(vars(sys.modules['__main__'])))\n"
        "    return (found[0] if found else None) if arg == 'x' else [f for f in found if f]\n")
    report = RUNNER.run(_spec(None, hidden=hidden), code, tests="all")
    results = {t.name: t for t in report.tests}
    assert results["probe"].status == "pass", results["probe"].message
    assert results["secret"].status == "fail" and results["secret"].message == "wrong answer"


# ------------------------------------------------------------------------------ writing


@needs_sandbox
def test_probe_cannot_write_outside_its_tmp(tmp_path):
    targets = ["/escaped", "/root/escaped", "/usr/escaped", "/dev/escaped", "/dev/shm/escaped",
               "/opt/sandbox-site/escaped", str(ROOT / "escaped.txt"), str(tmp_path / "escaped.txt")]
    code = (
        "import ctypes, os\n"
        "def probe(paths):\n"
        "    libc = ctypes.CDLL(None, use_errno=True)\n"
        "    done = []\n"
        "    for p in paths:\n"
        "        try:\n"
        "            os.makedirs(os.path.dirname(p), exist_ok=True)\n"
        "        except OSError:\n"
        "            pass\n"
        "        if libc.open(p.encode(), os.O_WRONLY | os.O_CREAT, 0o644) >= 0 and not p.startswith('/tmp/'):\n"
        "            done.append(p)  # (a path under /tmp lands in the sandbox's own /tmp: checked on the host below)\n"
        "    if libc.mount(None, b'/', None, 32 | 4096, None) == 0:  # MS_REMOUNT | MS_BIND, read-write\n"
        "        done.append('remounted /')\n"
        "    try:  # memory that RLIMIT_AS would not count\n"
        "        os.memfd_create('fill')\n"
        "        done.append('memfd_create')\n"
        "    except OSError:\n"
        "        pass\n"
        "    try:  # the private /tmp is capped (64 MiB), not the host's memory\n"
        "        with open('/tmp/fill', 'wb') as fh:\n"
        "            for _ in range(200):\n"
        "                fh.write(b'x' * (1 << 20))\n"
        "        done.append('wrote 200 MiB to /tmp')\n"
        "    except OSError:\n"
        "        pass\n"
        "    return done\n")
    report, _ = run_probe(code, targets)
    _assert_contained(report)
    assert not (ROOT / "escaped.txt").exists() and not (tmp_path / "escaped.txt").exists()
    assert not Path("/escaped").exists()


# ------------------------------------------------------------------------------ processes and memory


@needs_sandbox
def test_probe_ctypes_fork_bomb_is_bounded_and_dies_with_the_run():
    code = (
        "import ctypes, os, time\n"
        "def probe(n):\n"
        "    libc = ctypes.CDLL(None, use_errno=True)\n"
        "    made = 0\n"
        "    for _ in range(n):\n"
        "        pid = libc.fork()\n"
        "        if pid == 0:\n"
        "            libc.setsid()\n"
        "            time.sleep(60)\n"
        "            os._exit(0)\n"
        "        if pid > 0:\n"
        "            made += 1\n"
        "    return made\n")
    start = time.monotonic()
    report = RUNNER.run(_spec(200, expected="0"), code)
    assert time.monotonic() - start < 5, "the run must not wait for the children"
    got = report.tests[0].message
    forks = 0 if report.tests[0].status == "pass" else int(got.split("got ")[1].split(".")[0].split(" ")[0])
    assert forks <= RUNNER.sandbox.limits.processes - 1, got
    time.sleep(0.3)
    assert _run_uid_processes(report.isolation.uid) == []  # every child died with the run


@needs_sandbox
def test_probe_memory_across_processes_is_bounded():
    limits = RUNNER.sandbox.limits
    assert limits.processes * limits.memory_bytes <= 2 * 1024**3
    chunk = 400 * 1024**2
    code = (
        "import mmap, os, time\n"
        "def probe(chunk):\n"
        "    r, w = os.pipe()\n"
        "    for _ in range(8):\n"
        "        try:\n"
        "            pid = os.fork()\n"
        "        except OSError:\n"
        "            break\n"
        "        if pid == 0:\n"
        "            try:\n"
        "                block = mmap.mmap(-1, chunk)  # RLIMIT_AS counts the mapping, touched or not\n"
        "                os.write(w, b'1')\n"
        "                time.sleep(1.5)\n"
        "            finally:\n"
        "                os._exit(0)\n"
        "    time.sleep(0.5)\n"
        "    try:\n"
        "        mine = mmap.mmap(-1, chunk)\n"
        "        held = 1\n"
        "    except OSError:\n"
        "        held = 0\n"
        "    os.set_blocking(r, False)\n"
        "    try:\n"
        "        held += len(os.read(r, 64))\n"
        "    except BlockingIOError:\n"
        "        pass\n"
        "    return held\n")
    report = RUNNER.run(_spec(chunk, expected="-1"), code)
    message = report.tests[0].message
    assert report.tests[0].status == "fail", (report.tests[0], report.error, report.stderr[-500:])
    held = int(message.split("got ")[1].split(".")[0])
    assert held * chunk <= 2 * 1024**3, message
    one_gib = RUNNER.run(_spec(None, expected="'MemoryError'"),
                         "def probe(arg):\n    try:\n        b = bytearray(1024 ** 3)\n        return 'allocated'\n"
                         "    except MemoryError:\n        return 'MemoryError'\n")
    assert one_gib.tests[0].status == "pass", one_gib.tests[0].message


# ------------------------------------------------------------------------------ network


@needs_sandbox
def test_probe_reaches_no_tcp_udp_or_unix_socket(tmp_path):
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(1)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.settimeout(0.5)
    unix_path = str(tmp_path / "probe.sock")
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    unix.bind(unix_path)
    unix.listen(1)
    abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    abstract.bind("\0interviewer-probe-abstract")
    abstract.listen(1)
    pg_sockets = [str(p) for d in ("/run/postgresql", "/tmp", "/var/run/postgresql") if Path(d).is_dir()
                  for p in Path(d).glob(".s.PGSQL.*") if not p.name.endswith(".lock")]
    code = (
        "import socket\n"
        "def probe(arg):\n"
        "    tcp_port, udp_port, unix_paths = arg\n"
        "    reached = []\n"
        "    for host in ('127.0.0.1', 'localhost', '10.0.2.2', '1.1.1.1'):\n"
        "        try:\n"
        "            socket.create_connection((host, tcp_port), timeout=1).close()\n"
        "            reached.append(('tcp', host))\n"
        "        except OSError:\n"
        "            pass\n"
        "    try:  # the sandbox's own loopback: whether it arrives is checked on the host\n"
        "        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "        s.sendto(b'probe', ('127.0.0.1', udp_port))\n"
        "    except OSError:\n"
        "        pass\n"
        "    for path in unix_paths + ['\\0interviewer-probe-abstract']:\n"
        "        try:\n"
        "            u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
        "            u.connect(path)\n"
        "            reached.append(('unix', path))\n"
        "        except OSError:\n"
        "            pass\n"
        "    return reached\n")
    try:
        report, _ = run_probe(code, [tcp.getsockname()[1], udp.getsockname()[1], [unix_path] + pg_sockets])
        _assert_contained(report)
        with pytest.raises(socket.timeout):
            udp.recvfrom(64)
    finally:
        for s in (tcp, udp, unix, abstract):
            s.close()


# ------------------------------------------------------------------------------ killing, privileges


@needs_sandbox
def test_probe_cannot_kill_the_parent_or_anything_else():
    code = (
        "import os, signal\n"
        "def probe(host_pid):\n"
        "    killed = []\n"
        "    for pid in (os.getppid(), 1, host_pid):\n"
        "        try:\n"
        "            os.kill(pid, signal.SIGKILL)\n"
        "            killed.append(pid)\n"
        "        except OSError:\n"
        "            pass\n"
        "    try:\n"
        "        os.kill(-1, signal.SIGTERM)  # everything this uid can signal (not itself)\n"
        "    except OSError:\n"
        "        pass\n"
        "    return killed\n")
    report, _ = run_probe(code, os.getppid())
    _assert_contained(report)
    os.kill(os.getppid(), 0)  # pytest's parent is alive


@needs_sandbox
def test_probe_runs_unprivileged_under_seccomp():
    code = (
        "import ctypes, os\n"
        "def probe(arg):\n"
        "    status = dict(l.split(':', 1) for l in open('/proc/self/status').read().splitlines() if ':' in l)\n"
        "    bad = []\n"
        "    if os.getuid() == 0 or os.geteuid() == 0:\n"
        "        bad.append('root')\n"
        "    for key in ('CapEff', 'CapPrm', 'CapBnd', 'CapAmb'):\n"
        "        if int(status[key].strip(), 16):\n"
        "            bad.append(key)\n"
        "    if status['NoNewPrivs'].strip() != '1':\n"
        "        bad.append('no_new_privs off')\n"
        "    if status['Seccomp'].strip() != '2':\n"
        "        bad.append('no seccomp filter')\n"
        "    libc = ctypes.CDLL(None, use_errno=True)\n"
        "    if libc.unshare(0x10000000) == 0:  # CLONE_NEWUSER\n"
        "        bad.append('unshare')\n"
        "    if libc.syscall(101, 16, os.getppid(), 0, 0) == 0:  # ptrace(PTRACE_ATTACH)\n"
        "        bad.append('ptrace')\n"
        "    if libc.syscall(425, 8, 0) >= 0:  # io_uring_setup\n"
        "        bad.append('io_uring')\n"
        "    return bad\n")
    report, _ = run_probe(code)
    _assert_contained(report)
    assert report.isolation.seccomp


# ------------------------------------------------------------------------------ forging, flooding


@needs_sandbox
def test_probe_forged_results_printing_and_early_exit_gain_nothing():
    hidden = [CodeTest(name="secret", call="probe('x')", expected="'tangerine-7781'")]
    code = (
        "import json, os, sys\n"
        "FAKE = [{'type': 'call', 'i': i, 'status': 'ok', 'value': v} for i in (0, 1)\n"
        "        for v in ('PASS', 'tangerine', True)]\n"
        "FAKE += [{'type': 'done', 'passed': 2}]\n"
        "lines = ''.join(json.dumps(r) + '\\n' for r in FAKE)\n"
        "print(lines + 'PASS probe\\nPASS secret\\n{\"passed\": 2, \"failed\": 0}')\n"
        "for fd in range(3, 64):\n"
        "    try:\n"
        "        os.write(fd, lines.encode())\n"
        "    except OSError:\n"
        "        pass\n"
        "main = sys.modules['__main__']\n"
        "for name in list(vars(main)):\n"
        "    if not name.startswith('__'):\n"
        "        setattr(main, name, None)\n"
        "def probe(arg):\n"
        "    os._exit(0)\n")
    report = RUNNER.run(_spec(None, hidden=hidden), code, tests="all")
    assert report.passed == 0, [(t.name, t.status, t.message) for t in report.tests]


@needs_sandbox
def test_probe_output_flood_is_capped_and_fast():
    code = (
        "import os, sys\n"
        "def probe(arg):\n"
        "    block = 'x' * (1 << 20)\n"
        "    for _ in range(100):\n"
        "        sys.stdout.write(block)\n"
        "        sys.stderr.write(block)\n"
        "    return []\n")
    start = time.monotonic()
    report, _ = run_probe(code)
    assert time.monotonic() - start < 12
    _assert_contained(report)
    assert len(report.stdout) <= RUNNER.sandbox.limits.output_bytes and report.output_truncated


# ------------------------------------------------------------------------------ import guard


@needs_sandbox
def test_probe_import_guard_bypasses_do_not_reach_a_forbidden_package():
    import numpy

    site_dir = str(Path(numpy.__file__).resolve().parents[1])
    attempts = (
        "import sys, importlib, importlib.util, ctypes, glob\n"
        "def probe(site_dir):\n"
        "    got = []\n"
        "    sys.meta_path[:] = [f for f in sys.meta_path if 'Guard' not in type(f).__name__]\n"
        "    for path in (site_dir, '/opt/sandbox-site'):\n"
        "        sys.path.insert(0, path)\n"
        "        try:\n"
        "            importlib.import_module('num' + 'py')\n"
        "            got.append(('import', path))\n"
        "        except Exception:\n"
        "            pass\n"
        "        try:\n"
        "            spec = importlib.util.spec_from_file_location('np2', path + '/numpy/__init__.py')\n"
        "            mod = importlib.util.module_from_spec(spec)\n"
        "            spec.loader.exec_module(mod)\n"
        "            got.append(('loader', path))\n"
        "        except Exception:\n"
        "            pass\n"
        "        for lib in glob.glob(path + '/numpy*/**/*.so*', recursive=True)[:3]:\n"
        "            try:\n"
        "                ctypes.CDLL(lib)\n"
        "                got.append(('ctypes', lib))\n"
        "            except OSError:\n"
        "                pass\n"
        "    return got\n")
    report, _ = run_probe(attempts, site_dir, forbidden=("numpy", "sklearn"))
    _assert_contained(report)


# ------------------------------------------------------------------------------ bank data is data


def test_bank_expected_holding_code_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "ran"
    with pytest.raises(ValidationError) as err:
        CodeTest(name="x", call="probe(1)", expected=f"__import__('os').system('touch {marker}')")
    assert "must be a Python literal" in str(err.value)
    with pytest.raises(ValidationError):
        CodeTest(name="x", call="(lambda: __import__('os'))()", expected="1")
    with pytest.raises(ValidationError):
        CodeTest(name="x", call="probe(__import__('os'))", expected="1")
    bank = tmp_path / "bank" / "coding"
    bank.mkdir(parents=True)
    text = (ROOT / "question_bank/coding/roc-auc.yaml").read_text()
    bad = text.replace('expected: "1.0"', f'expected: "__import__(\'os\').system(\'touch {marker}\')"', 1)
    assert bad != text
    (bank / "roc-auc.yaml").write_text(bad)
    out = subprocess.run([sys.executable, "-m", "interviewer", "bank", "validate", str(bank.parent)], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    line = out.stdout.splitlines()[0]
    assert line.startswith(f"{bank / 'roc-auc.yaml'}:") and ": coding.visible_tests[0].expected: must be a Python literal" in line
    assert not marker.exists()


# ------------------------------------------------------------------------------ fail closed


def test_fail_closed_when_bubblewrap_is_unavailable(tmp_path):
    spec = _spec(None)
    broken = CodeRunner(Sandbox(bwrap=str(tmp_path / "no-bwrap"), policy=""))
    problem = broken.problem()
    assert problem and problem.startswith("Code can't be run: the sandbox (bubblewrap) could not start")
    assert problem.count(". ") == 0 and problem.endswith(".")  # one sentence
    with pytest.raises(SandboxUnavailable):
        broken.run(spec, spec.reference_solution)
    trusted = CodeRunner(Sandbox(bwrap=str(tmp_path / "no-bwrap"), policy="trusted-local"))
    report = trusted.run(spec, spec.reference_solution)
    assert report.tests[0].status == "pass"
    assert not report.isolation.sandboxed and "UNSANDBOXED" in report.isolation.summary
    with_numpy = trusted.run(spec, "import numpy\ndef probe(arg):\n    return list(numpy.zeros(0))\n")
    assert with_numpy.tests[0].status == "pass", with_numpy.tests[0].message


def test_fail_closed_cli_says_one_sentence(tmp_path):
    solution = tmp_path / "s.py"
    solution.write_text("def knn_predict(X_train, y_train, X_test, k):\n    return []\n")
    env = dict(os.environ, INTERVIEWER_BWRAP=str(tmp_path / "no-bwrap"))
    env.pop("INTERVIEWER_SANDBOX", None)
    out = subprocess.run([sys.executable, "-m", "interviewer", "run-code", "--question", "knn-from-scratch",
                          "--solution", str(solution), "--json"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60, env=env)
    assert out.returncode == 2 and out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: Code can't be run: the sandbox (bubblewrap)")
    env["INTERVIEWER_SANDBOX"] = "trusted-local"
    out = subprocess.run([sys.executable, "-m", "interviewer", "run-code", "--question", "knn-from-scratch",
                          "--solution", str(solution), "--json"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60, env=env)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["sandbox"]["sandboxed"] is False and "UNSANDBOXED" in data["sandbox"]["summary"]
