"""The harness that runs INSIDE the sandboxed child process (standard library only).

Never imported by the app: `runner.py` passes this file's text to `python -I -c`, with the result
pipe's fd as argv[1]. It exec's the candidate's code and reports each test call's value on that pipe.
"""
import json, os, resource, signal, sys, time
RESULT_FD = int(sys.argv[1])
_out = os.fdopen(RESULT_FD, "w", buffering=1, encoding="utf-8", closefd=True)
_dumps = json.dumps

def send(rec):
    try:
        _out.write(_dumps(rec) + "\n")
        _out.flush()
    except Exception:
        pass

P = json.loads(sys.stdin.buffer.read().decode("utf-8"))
_nul = os.open(os.devnull, os.O_RDONLY)
os.dup2(_nul, 0)
os.close(_nul)
sys.dont_write_bytecode = True
TMP = P["tmpdir"]
LIM = P["limits"]
setup = {"type": "setup", "pid": os.getpid(), "errors": []}

# 1. rlimits (again: the preexec_fn already set them; lowering is always allowed)
for _name, _val in LIM.items():
    try:
        _res = getattr(resource, _name)
        _soft, _hard = resource.getrlimit(_res)
        _new_hard = _val[1] if _hard == resource.RLIM_INFINITY or _hard > _val[1] else _hard
        resource.setrlimit(_res, (min(_val[0], _new_hard), _new_hard))
    except Exception as e:
        setup["errors"].append("rlimit %s: %s" % (_name, e))
setup["rlimits"] = {n: list(resource.getrlimit(getattr(resource, n))) for n in LIM}

# 2. filesystem (inside a mount namespace only)
def _fs_setup():
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
    MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
    MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND = 32, 1024, 2048, 4096
    MS_REC, MS_PRIVATE, MS_RELATIME = 16384, 1 << 18, 1 << 21
    ST = [(1, MS_RDONLY), (2, MS_NOSUID), (4, MS_NODEV), (8, MS_NOEXEC), (1024, MS_NOATIME),
          (2048, MS_NODIRATIME), (4096, MS_RELATIME)]
    def err(what):
        e = ctypes.get_errno()
        setup["errors"].append("%s: %s" % (what, os.strerror(e)))
    libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None)
    tb = TMP.encode()
    opts = ("size=%d,mode=0700" % P["tmpfs_bytes"]).encode()
    if libc.mount(b"tmpfs", tb, b"tmpfs", MS_NOSUID | MS_NODEV, opts) == 0:
        setup["tmpfs"] = True
    else:
        err("tmpfs")
        if libc.mount(tb, tb, None, MS_BIND | MS_REC, None) != 0:
            err("bind temp dir")
            return
    os.chdir(TMP)
    points = []
    with open("/proc/self/mountinfo") as fh:
        for line in fh:
            mp = line.split()[4]
            mp = mp.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")
            if mp not in points:
                points.append(mp)
    for mp in points:
        if mp == TMP or mp.startswith(TMP.rstrip("/") + "/"):
            continue
        try:
            flags = os.statvfs(mp).f_flag
        except OSError:
            continue
        keep = 0
        for st, ms in ST:
            if flags & st:
                keep |= ms
        if libc.mount(None, mp.encode(), None, MS_REMOUNT | MS_BIND | MS_RDONLY | keep, None) != 0:
            err("read-only " + mp)
    setup["root_ro"] = bool(os.statvfs("/").f_flag & 1)
    setup["tmp_rw"] = not (os.statvfs(TMP).f_flag & 1)
    _drop_caps(libc, ctypes)
    # verify: remounting / read-write must now fail
    root_flags = 0
    for st, ms in ST[1:]:
        if os.statvfs("/").f_flag & st:
            root_flags |= ms
    if libc.mount(None, b"/", None, MS_REMOUNT | MS_BIND | root_flags, None) == 0:
        setup["root_ro"] = False
        setup["errors"].append("could remount / read-write after dropping capabilities")

def _drop_caps(libc, ctypes):
    try:
        last = int(open("/proc/sys/kernel/cap_last_cap").read())
    except Exception:
        last = 63
    for c in range(last + 1):
        libc.prctl(24, c, 0, 0, 0)           # PR_CAPBSET_DROP
    libc.prctl(47, 4, 0, 0, 0)               # PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL
    libc.prctl(38, 1, 0, 0, 0)               # PR_SET_NO_NEW_PRIVS
    class Hdr(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]
    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]
    libc.capset(ctypes.byref(Hdr(0x20080522, 0)), ctypes.byref((Data * 2)()))

def _status_field(name):
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(name + ":"):
                    return line.split()[1]
    except OSError:
        pass
    return None

if P["mount_ns"]:
    try:
        _fs_setup()
    except Exception as e:
        setup["errors"].append("filesystem setup: %r" % (e,))
elif os.geteuid() == 0:
    try:
        import ctypes
        _drop_caps(ctypes.CDLL(None, use_errno=True), ctypes)
    except Exception as e:
        setup["errors"].append("drop capabilities: %r" % (e,))
_eff, _bnd = _status_field("CapEff"), _status_field("CapBnd")
setup["caps_dropped"] = _eff is not None and int(_eff, 16) == 0 and int(_bnd or "1", 16) == 0
try:
    with open("/proc/self/net/dev") as fh:
        _ifaces = [l.split(":")[0].strip() for l in fh.readlines()[2:] if ":" in l]
    setup["net_isolated"] = _ifaces == ["lo"] or _ifaces == []
except OSError:
    setup["net_isolated"] = False
setup["pid"] = os.getpid()
setup["cwd"] = os.getcwd()

# 3. in-process guards (second layer)
FORBIDDEN = list(P["forbidden"])

def _forbidden(name):
    for f in FORBIDDEN:
        if name == f or name.startswith(f + "."):
            return f
    return None

class _ImportGuard:
    def find_spec(self, name, path=None, target=None):
        hit = _forbidden(name)
        if hit:
            raise ImportError("%s is not allowed in this challenge" % hit, name=name)
        return None
    def find_module(self, name, path=None):
        return None

sys.meta_path.insert(0, _ImportGuard())
_TMP_PREFIX = os.path.realpath(TMP).rstrip("/") + "/"
_WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_PROC_EVENTS = {"os.system", "subprocess.Popen", "os.exec", "os.posix_spawn", "os.spawn",
                "os.fork", "os.forkpty", "pty.spawn"}
_PATH_EVENTS = {"os.remove", "os.rename", "os.mkdir", "os.rmdir", "os.chmod", "os.chown",
                "os.symlink", "os.link", "os.truncate", "os.utime", "shutil.rmtree",
                "shutil.move", "shutil.copyfile"}
_realpath = os.path.realpath
_fspath = os.fspath

def _text_path(p):
    p = _fspath(p)
    return p.decode("utf-8", "replace") if isinstance(p, bytes) else p

def _inside(p):
    try:
        if isinstance(p, int):
            return True
        p = _text_path(p)
        if p in ("/dev/null", "/dev/stdout", "/dev/stderr"):
            return True
        return (_realpath(p).rstrip("/") + "/").startswith(_TMP_PREFIX)
    except Exception:
        return False

_MY_PID = str(os.getpid())

def _other_proc(p):
    try:
        if isinstance(p, int):
            return False
        parts = _realpath(_text_path(p)).split("/")
        return len(parts) > 2 and parts[1] == "proc" and parts[2].isdigit() and parts[2] != _MY_PID
    except Exception:
        return True

def _audit(event, args):
    if event == "import":
        hit = _forbidden(args[0])
        if hit:
            raise ImportError("%s is not allowed in this challenge" % hit)
    elif event.startswith("socket.") and event in ("socket.__new__", "socket.connect", "socket.bind",
                                                    "socket.sendto", "socket.getaddrinfo"):
        raise PermissionError("network access is blocked in the sandbox")
    elif event in _PROC_EVENTS:
        raise PermissionError("starting processes is blocked in the sandbox")
    elif event == "open":
        if _other_proc(args[0]):
            raise PermissionError("reading other processes' /proc entries is blocked in the sandbox")
        flags = args[2] if len(args) > 2 else 0
        mode = args[1] if len(args) > 1 else None
        writing = (isinstance(flags, int) and flags & _WRITE) or (
            isinstance(mode, str) and any(c in mode for c in "wax+"))
        if writing and not _inside(args[0]):
            raise PermissionError("writing outside the sandbox's temporary directory is blocked")
    elif event in _PATH_EVENTS:
        for a in args[:2]:
            if isinstance(a, (str, bytes)) or hasattr(a, "__fspath__"):
                if not _inside(a):
                    raise PermissionError("changing files outside the sandbox's temporary directory is blocked")

sys.addaudithook(_audit)
setup["guards"] = True
send(setup)

# 4. run
class _Timeout(BaseException):
    pass

def _alarm(signum, frame):
    raise _Timeout()

signal.signal(signal.SIGALRM, _alarm)

def _cpu_exceeded(signum, frame):
    # As PID 1 of a PID namespace the default action of SIGXCPU would be ignored: exit ourselves.
    send({"type": "cpu"})
    os._exit(0)

signal.signal(signal.SIGXCPU, _cpu_exceeded)

def _exc_info(e):
    name = "MemoryError" if isinstance(e, MemoryError) else type(e).__name__
    line = None
    tb = e.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<solution>":
            line = tb.tb_lineno
        tb = tb.tb_next
    try:
        text = str(e)
    except Exception:
        text = ""
    return {"exc_type": name, "exc_message": text[:300], "line": line}

def _wire(v, depth=0):
    if depth > 40:
        return {"t": "repr", "v": "<too deeply nested>"}
    if v is None or isinstance(v, (bool, str)):
        return v if not isinstance(v, str) or len(v) < 100000 else {"t": "repr", "v": repr(v[:200])}
    if isinstance(v, int):
        return v if -2**53 < v < 2**53 else {"t": "int", "v": str(v)}
    if isinstance(v, float):
        return {"t": "float", "v": repr(float(v))}
    if isinstance(v, (list, tuple, set, frozenset)):
        if len(v) > 100000:
            return {"t": "repr", "v": "<a %s of %d items>" % (type(v).__name__, len(v))}
        items = [_wire(x, depth + 1) for x in v]
        if isinstance(v, list):
            return {"t": "list", "v": items}
        if isinstance(v, tuple):
            return {"t": "tuple", "v": items}
        return {"t": "set", "v": items}
    if isinstance(v, dict):
        return {"t": "dict", "v": [[_wire(k, depth + 1), _wire(x, depth + 1)] for k, x in v.items()]}
    if isinstance(v, complex):
        return {"t": "complex", "v": [repr(v.real), repr(v.imag)]}
    mod = type(v).__module__ or ""
    if mod.split(".")[0] == "numpy" and hasattr(v, "tolist"):
        return _wire(v.tolist(), depth + 1)
    try:
        r = repr(v)
    except BaseException:
        r = "<%s object>" % type(v).__name__
    return {"t": "repr", "v": r[:300]}

def _flush_std():
    for s in (sys.stdout, sys.stderr):
        try:
            s.flush()
        except BaseException:
            pass

NS = {"__name__": "solution", "__builtins__": __builtins__}
T_LOAD = P["load_timeout"]
T_TEST = P["test_timeout"]
try:
    code = compile(P["code"], "<solution>", "exec")
    signal.setitimer(signal.ITIMER_REAL, T_LOAD)
    try:
        exec(code, NS)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    send({"type": "load", "status": "ok"})
except _Timeout:
    _flush_std()
    send({"type": "load", "status": "timeout"})
    os._exit(0)
except BaseException as e:
    _flush_std()
    rec = {"type": "load", "status": "error"}
    rec.update(_exc_info(e))
    send(rec)
    os._exit(0)

for t in P["tests"]:
    rec = {"type": "test", "name": t["name"]}
    t0 = time.perf_counter()
    try:
        expr = compile(t["call"], "<test>", "eval")
        signal.setitimer(signal.ITIMER_REAL, T_TEST)
        try:
            value = eval(expr, NS)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        rec["status"] = "ok"
        rec["value"] = _wire(value)
    except _Timeout:
        rec["status"] = "timeout"
    except BaseException as e:
        rec["status"] = "error"
        rec.update(_exc_info(e))
    rec["seconds"] = round(time.perf_counter() - t0, 4)
    _flush_std()
    send(rec)
send({"type": "done"})
_flush_std()
os._exit(0)
