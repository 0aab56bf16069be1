"""Isolation for untrusted Python: bubblewrap, an unprivileged uid, seccomp, rlimits, a wall clock.

`Sandbox.run(script, payload)` runs `python -I -S -c script` with `payload` on stdin and returns what the
script wrote on its result pipe, plus capped stdout/stderr. It knows nothing about tests.

What the process sees (bubblewrap, `bwrap`, Debian's `bubblewrap`, the tool Flatpak uses):
- a new mount namespace whose root is an empty read-only tmpfs holding only, read-only, the Python
  executable, its standard library, the system's shared-library directories, and the packages a
  question allows (numpy, from the app's own environment, under /opt/sandbox-site); plus a private
  size-capped tmpfs at /tmp (its cwd and HOME), a minimal read-only /dev and its own /proc. Not the project,
  HOME, the database, `.streamlit`, /etc, /run, /var or the host's /tmp;
- new PID, network (loopback only, down), IPC, UTS and (where possible) cgroup namespaces: no
  other process, no TCP/UDP, no host Unix sockets (their paths are not mounted, and abstract sockets
  belong to the network namespace);
- an environment built from scratch (no API key).

Who it is: when the app runs as root, bubblewrap runs privileged with every capability dropped but
CAP_SETUID/CAP_SETGID/CAP_SETPCAP, which the harness uses (before any candidate code) to clear the
bounding set and become a uid of its own (`RUN_UID_BASE` + n, unique per concurrent run) and then sets
no_new_privs; otherwise bubblewrap makes an unprivileged user namespace (uid 1000 inside, no
capabilities, no_new_privs, no further user namespaces). Either way a seccomp deny list is loaded
(`interviewer.seccomp`) where the architecture is covered.

Resources: RLIMIT_AS per process, RLIMIT_NPROC for processes and threads (so processes x memory is
bounded: 4 x 512 MiB = 2 GiB by default; cgroup v2 is not used), RLIMIT_CPU, RLIMIT_FSIZE,
RLIMIT_NOFILE, no core dumps, a capped tmpfs, capped output, and a wall clock. The run is killed as a
whole: bubblewrap is in its own session and dies with the app; when it dies, the PID namespace's
init dies and the kernel kills every process left inside.

Fail closed: if bubblewrap cannot start, `SandboxUnavailable` says so in one sentence and nothing
runs, unless the operator set `INTERVIEWER_SANDBOX=trusted-local` (single-user local use), in which
case code runs in a plain child process with the rlimits only, and every result says it ran
unsandboxed.
"""

from __future__ import annotations

import functools
import itertools
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import threading
import time
from dataclasses import dataclass, field
from importlib.util import find_spec

from pydantic import BaseModel, Field

from . import seccomp
from .errors import InterviewerError

SITE = "/opt/sandbox-site"
RUN_UID_BASE = 2_000_000_000  # far above any real account
MAX_RESULT_BYTES = 8 * 1024 * 1024
_PROBE = "import resource, ctypes; print('ok')"


class SandboxUnavailable(InterviewerError):
    """The strong sandbox can't start here and the operator did not opt in to running code without it."""


class SandboxLimits(BaseModel):
    wall_s: float = Field(default=12.0, gt=0, description="the whole run, startup included")
    cpu_s: int = Field(default=12, gt=0, description="RLIMIT_CPU, per process")
    memory_bytes: int = Field(default=512 * 1024**2, gt=0, description="RLIMIT_AS, per process")
    processes: int = Field(default=4, ge=1, le=16, description="RLIMIT_NPROC: processes and threads")
    file_bytes: int = Field(default=16 * 1024**2, gt=0, description="RLIMIT_FSIZE")
    open_files: int = Field(default=64, gt=8, description="RLIMIT_NOFILE")
    output_bytes: int = Field(default=64 * 1024, gt=0, description="stdout and stderr, each")
    tmpfs_bytes: int = Field(default=64 * 1024**2, gt=0, description="size of the private /tmp")


class Isolation(BaseModel):
    """How a run was isolated; `summary` is a sentence for the candidate."""

    sandboxed: bool
    seccomp: bool = False
    uid: int | None = None
    summary: str = ""


@dataclass
class SandboxRun:
    results: bytes  # what the script wrote on its result pipe (capped)
    stdout: str
    stderr: str
    output_truncated: bool
    returncode: int | None
    timed_out: bool
    isolation: Isolation
    seconds: float = 0.0
    results_truncated: bool = False


def _fmt_bytes(n: int) -> str:
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:g} {unit}"
    return f"{n} bytes"


_uid_counter = itertools.count()


@dataclass
class Sandbox:
    """Runs scripts in bubblewrap. `policy` defaults to `$INTERVIEWER_SANDBOX` ('' or 'trusted-local')."""

    bwrap: str | None = None
    policy: str | None = None
    limits: SandboxLimits = field(default_factory=SandboxLimits)
    _probed: str | None = field(default=None, init=False, repr=False)  # "ok" or the failure sentence
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.bwrap is None:
            self.bwrap = os.environ.get("INTERVIEWER_BWRAP") or shutil.which("bwrap") or "bwrap"
        if self.policy is None:
            self.policy = os.environ.get("INTERVIEWER_SANDBOX", "").strip()
        if self.policy not in ("", "bubblewrap", "trusted-local"):
            raise InterviewerError(
                f"INTERVIEWER_SANDBOX={self.policy!r} is not understood: leave it unset, or set it to "
                "'trusted-local' to run code without the sandbox on a single-user machine.")

    # ------------------------------------------------------------------ availability
    def problem(self) -> str | None:
        """None when bubblewrap works here, else one sentence saying why it does not (probed once)."""
        with self._lock:
            if self._probed is None:
                self._probed = self._probe()
        return None if self._probed == "ok" else self._probed

    def check(self) -> Isolation:
        """How code will run; raises `SandboxUnavailable` (fail closed) unless trusted-local was chosen."""
        problem = self.problem()
        if problem is None:
            return Isolation(sandboxed=True, seccomp=seccomp.program() is not None)
        if self.policy == "trusted-local":
            return Isolation(sandboxed=False, summary=(
                f"Your code ran UNSANDBOXED, with this computer's permissions ({problem[:-1]}; "
                "INTERVIEWER_SANDBOX=trusted-local is set)."))
        raise SandboxUnavailable(
            f"Code can't be run: the sandbox (bubblewrap) could not start ({problem[:-1]}), and this app "
            "refuses to run candidate code without it.")

    def _probe(self) -> str:
        if not sys.platform.startswith("linux"):
            return "bubblewrap needs Linux."
        if not (self.bwrap and os.access(self.bwrap, os.X_OK)):
            return f"{self.bwrap or 'bwrap'} is not installed (Debian: apt-get install bubblewrap)."
        try:
            run = self._spawn(_PROBE, b"", self.limits, packages=(), sandboxed=True)
        except OSError as exc:
            return f"bwrap could not be started: {exc.strerror or exc}."
        if run.returncode == 0 and run.stdout.strip() == "ok":
            return "ok"
        tail = (run.stderr.strip().splitlines() or ["no output"])[-1][:200].rstrip(".")
        return f"bwrap failed: {tail}."

    # ------------------------------------------------------------------ running
    def run(self, script: str, payload: bytes, *, packages: tuple[str, ...] = (),
            limits: SandboxLimits | None = None) -> SandboxRun:
        """Run `script` under the sandbox with `payload` on stdin; `packages` are mounted read-only."""
        isolation = self.check()
        run = self._spawn(script, payload, limits or self.limits, packages=packages,
                          sandboxed=isolation.sandboxed)
        run.isolation = isolation.model_copy(update={"uid": run.isolation.uid})
        run.isolation.summary = run.isolation.summary or self.describe(limits or self.limits, run.isolation)
        return run

    def describe(self, limits: SandboxLimits, isolation: Isolation) -> str:
        filt = ", a seccomp filter" if isolation.seccomp else ""
        return (f"Your code ran in a bubblewrap sandbox: no network, no other processes, no files but the "
                f"Python runtime (read-only) and its own /tmp, an unprivileged user{filt}; limits: "
                f"{limits.processes} processes, {_fmt_bytes(limits.memory_bytes)} of memory each, "
                f"{limits.wall_s:g} s in all.")

    def _spawn(self, script: str, payload: bytes, limits: SandboxLimits, *, packages: tuple[str, ...],
               sandboxed: bool) -> SandboxRun:
        started = time.monotonic()
        as_root = os.geteuid() == 0
        uid = RUN_UID_BASE + (os.getpid() % 100_000) * 1000 + next(_uid_counter) % 1000 if as_root else None
        r_fd, w_fd = os.pipe()
        keep = [w_fd]
        filt = seccomp.program() if sandboxed else None
        tmpdir = None
        if sandboxed:
            seccomp_fd = None
            if filt is not None:
                seccomp_fd, s_w = os.pipe()
                os.write(s_w, filt)
                os.close(s_w)
                keep.append(seccomp_fd)
            cmd = self._bwrap_argv(limits, packages, as_root=as_root, seccomp_fd=seccomp_fd)
        else:
            import tempfile

            cmd = []
            tmpdir = tempfile.mkdtemp(prefix="interviewer-unsandboxed-")
        site = None
        if packages:  # the packages' own folder when unsandboxed (trusted-local): nothing is mounted then
            dirs = [d for name in packages for d in _package_dirs(name)]
            site = SITE if sandboxed else (os.path.dirname(dirs[0]) if dirs else None)
        setup = {"fd": w_fd, "uid": uid if sandboxed else None, "site": site,
                 "nproc": (limits.processes + (0 if as_root else 1)) if sandboxed else None,
                 "rlimits": _rlimits(limits)}
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "HOME": tmpdir or "/tmp",
               "TMPDIR": tmpdir or "/tmp", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
               "MKL_NUM_THREADS": "1"}
        argv = [*cmd, os.path.realpath(sys.executable), "-I", "-S", "-c", _prologue(setup) + script]
        try:
            proc = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmpdir or "/",
                env=env, pass_fds=keep, preexec_fn=_preexec(_rlimits(limits)), start_new_session=True,
                close_fds=True)
        except BaseException:
            os.close(r_fd)
            for fd in keep:
                os.close(fd)
            if tmpdir:
                shutil.rmtree(tmpdir, ignore_errors=True)
            raise
        for fd in keep:
            os.close(fd)
        results = _CappedReader(os.fdopen(r_fd, "rb"), MAX_RESULT_BYTES)
        out = _CappedReader(proc.stdout, limits.output_bytes)
        err = _CappedReader(proc.stderr, limits.output_bytes)
        for reader in (results, out, err):
            reader.start()
        feeder = threading.Thread(target=_feed, args=(proc, payload), daemon=True)
        feeder.start()
        waiter = threading.Thread(target=proc.wait, daemon=True)  # wakes the moment the child exits
        waiter.start()
        waiter.join(timeout=limits.wall_s)
        timed_out = waiter.is_alive()
        if timed_out:  # still unreaped, so the group id can't have been reused
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        proc.wait()
        for reader in (results, out, err):
            reader.join(timeout=2.0)
        feeder.join(timeout=1.0)
        if tmpdir:
            shutil.rmtree(tmpdir, ignore_errors=True)
        return SandboxRun(
            results=results.data, stdout=out.data.decode("utf-8", "replace"),
            stderr=err.data.decode("utf-8", "replace"), output_truncated=out.truncated or err.truncated,
            returncode=proc.returncode, timed_out=timed_out, results_truncated=results.truncated,
            isolation=Isolation(sandboxed=sandboxed, seccomp=filt is not None, uid=uid),
            seconds=round(time.monotonic() - started, 3))

    def _bwrap_argv(self, limits: SandboxLimits, packages: tuple[str, ...], *, as_root: bool,
                    seccomp_fd: int | None) -> list[str]:
        argv: list[str] = [str(self.bwrap), "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
                "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--hostname", "sandbox"]
        if as_root:
            argv += ["--cap-drop", "ALL"] + [a for c in ("CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP")
                                             for a in ("--cap-add", c)]
        else:
            argv += ["--unshare-user", "--disable-userns", "--uid", "1000", "--gid", "1000"]
        made: set[str] = set()

        def ro_bind(src: str, dest: str) -> None:
            parents, p = [], os.path.dirname(dest)
            while p not in ("/", "") and p not in made:
                parents.append(p)
                p = os.path.dirname(p)
            for d in reversed(parents):
                argv.extend(["--perms", "0755", "--dir", d])
                made.add(d)
            argv.extend(["--ro-bind", src, dest])
            made.add(dest)

        for path in _runtime_paths():
            if os.path.islink(path):
                argv.extend(["--symlink", os.readlink(path), path])
            else:
                ro_bind(path, path)
        for name in packages:
            for src in _package_dirs(name):
                ro_bind(src, f"{SITE}/{os.path.basename(src)}")
        argv += ["--proc", "/proc", "--dev", "/dev", "--remount-ro", "/dev", "--perms", "01777",
                 "--size", str(limits.tmpfs_bytes), "--tmpfs", "/tmp", "--remount-ro", "/", "--chdir", "/tmp"]
        if seccomp_fd is not None:
            argv += ["--seccomp", str(seccomp_fd)]
        return argv


_PROLOGUE = """\
import resource as _r, sys as _s
def _drop(S):
    for n, (soft, hard) in S["rlimits"].items():
        _r.setrlimit(getattr(_r, n), (soft, hard))
    if S["uid"] is not None:
        import ctypes, os
        libc = ctypes.CDLL(None, use_errno=True)
        for cap in range(int(open("/proc/sys/kernel/cap_last_cap").read()) + 1):
            libc.prctl(24, cap, 0, 0, 0)  # PR_CAPBSET_DROP
        os.setgroups([])
        os.setgid(S["uid"])
        os.setuid(S["uid"])
        if os.getuid() == 0 or libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
            raise SystemExit("could not drop privileges")
    if S["nproc"] is not None:
        _r.setrlimit(_r.RLIMIT_NPROC, (S["nproc"], S["nproc"]))
    if S["site"]:
        _s.path.insert(0, S["site"])
_drop(_SETUP)
del _drop, _r, _s
"""


def _prologue(setup: dict) -> str:
    """Trusted code run first in the child: limits, then a uid of its own without privileges."""

    return f"_SETUP = {setup!r}\n" + _PROLOGUE


@functools.lru_cache(maxsize=1)
def _runtime_paths() -> tuple[str, ...]:
    """The interpreter, its standard library, and the shared-library directories, deduplicated."""
    exe = os.path.realpath(sys.executable)
    paths = [exe]
    base = {"base": sys.base_prefix, "platbase": sys.base_exec_prefix, "installed_base": sys.base_prefix,
            "installed_platbase": sys.base_exec_prefix}  # the interpreter's own library, not a venv's
    for key in ("stdlib", "platstdlib"):
        paths.append(os.path.realpath(sysconfig.get_paths(vars=base)[key]))
    libdir = sysconfig.get_config_var("LIBDIR")
    if libdir and sysconfig.get_config_var("Py_ENABLE_SHARED"):
        paths.append(os.path.realpath(libdir))
    multiarch = sysconfig.get_config_var("MULTIARCH") or ""
    for p in ("/lib", "/lib32", "/lib64", "/libx32", "/usr/lib64", f"/usr/lib/{multiarch}" if multiarch else ""):
        if p and (os.path.islink(p) or os.path.isdir(p)):
            paths.append(p)
    out: list[str] = []
    for p in sorted(paths, key=lambda p: (os.path.islink(p), len(p))):  # parents first
        real = os.path.realpath(p)
        if os.path.islink(p) or not any(real == q or real.startswith(q.rstrip("/") + "/") for q in out):
            out.append(p)
    return tuple(out)


@functools.lru_cache(maxsize=None)
def _package_dirs(name: str) -> tuple[str, ...]:
    """A package's directory in the app's environment and its bundled libraries (`numpy.libs`)."""
    spec = find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return ()
    pkg = os.path.realpath(list(spec.submodule_search_locations)[0])
    libs = pkg + ".libs"
    return (pkg, libs) if os.path.isdir(libs) else (pkg,)


def _rlimits(limits: SandboxLimits) -> dict[str, tuple[int, int]]:
    return {
        "RLIMIT_CPU": (limits.cpu_s, limits.cpu_s + 1),
        "RLIMIT_AS": (limits.memory_bytes, limits.memory_bytes),
        "RLIMIT_FSIZE": (limits.file_bytes, limits.file_bytes),
        "RLIMIT_NOFILE": (limits.open_files, limits.open_files),
        "RLIMIT_CORE": (0, 0),
    }


def _preexec(rlimits: dict[str, tuple[int, int]]):
    import ctypes
    import resource

    pairs = [(getattr(resource, name), value) for name, value in rlimits.items()]
    setrlimit = resource.setrlimit
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        prctl = None

    def preexec() -> None:  # in the forked child: C calls only
        if prctl is not None:
            prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG: dies with the app
        for res, value in pairs:
            try:
                setrlimit(res, value)
            except (ValueError, OSError):
                pass

    return preexec


def _feed(proc: subprocess.Popen, payload: bytes) -> None:
    assert proc.stdin is not None  # started with stdin=PIPE
    try:
        proc.stdin.write(payload)
    except (BrokenPipeError, OSError, ValueError):
        pass
    finally:
        try:
            proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass


class _CappedReader(threading.Thread):
    """Reads a pipe to EOF, keeping at most `cap` bytes (the rest is drained and dropped)."""

    def __init__(self, stream, cap: int):
        super().__init__(daemon=True)
        self.stream, self.cap = stream, cap
        self.chunks: list[bytes] = []
        self.kept = self.total = 0

    def run(self) -> None:
        read = getattr(self.stream, "read1", self.stream.read)
        try:
            while chunk := read(65536):
                self.total += len(chunk)
                room = self.cap - self.kept
                if room > 0:
                    self.chunks.append(chunk[:room])
                    self.kept += min(room, len(chunk))
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
