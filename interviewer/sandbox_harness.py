"""What runs INSIDE the sandbox (standard library only; never imported by the app).

`grading.py` passes this file's text to the sandbox, which runs it after its own prologue (limits,
uid; `_SETUP["fd"]` is the result pipe). On stdin, as a Python literal: the candidate's code and the
tests' CALLS only (function name and literal arguments), never an expected value. For each call it
reports what the candidate's function returned (or raised) on the result pipe, one literal per line
(`repr`: neither json nor ast is imported, which keeps start-up fast); the app reads them with
`ast.literal_eval`, compares and counts. Stops at the first timeout: the app marks the rest "not run".
"""


def _main():
    import os
    import signal
    import sys
    import time

    out = os.fdopen(_SETUP["fd"], "w", buffering=1, encoding="utf-8", closefd=True)  # noqa: F821 (_SETUP is injected when the harness starts)

    def send(rec):
        try:
            out.write(repr(rec) + "\n")
            out.flush()
        except Exception:
            pass

    literals = {"__builtins__": {}, "inf": float("inf"), "nan": float("nan"), "set": set}
    payload = eval(sys.stdin.buffer.read().decode("utf-8"), literals)  # the app's own repr() of literals
    nul = os.open(os.devnull, os.O_RDONLY)
    os.dup2(nul, 0)
    os.close(nul)
    sys.dont_write_bytecode = True
    forbidden = list(payload["forbidden"])

    def blocked(name):
        for f in forbidden:
            if name == f or name.startswith(f + "."):
                return f
        return None

    class ImportGuard:  # second layer: a forbidden package is not even mounted in the sandbox
        def find_spec(self, name, path=None, target=None):
            hit = blocked(name)
            if hit:
                raise ImportError("%s is not allowed in this challenge" % hit, name=name)
            return None

    sys.meta_path.insert(0, ImportGuard())

    def audit(event, args):
        if event == "import" and blocked(args[0]):
            raise ImportError("%s is not allowed in this challenge" % blocked(args[0]))

    sys.addaudithook(audit)

    class Timeout(BaseException):
        pass

    def alarm(signum, frame):
        raise Timeout()

    signal.signal(signal.SIGALRM, alarm)

    def exc_info(e):
        line, tb = None, e.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == "<solution>":
                line = tb.tb_lineno
            tb = tb.tb_next
        try:
            text = str(e)[:300]
        except Exception:
            text = ""
        mro = [[getattr(c, "__module__", ""), getattr(c, "__name__", "")] for c in type(e).__mro__][:12]
        return {"exc_type": type(e).__name__[:80], "exc_mro": mro, "exc_message": text, "line": line}

    def wire(v, depth=0):
        if depth > 40:
            return {"t": "repr", "v": "<too deeply nested>"}
        if v is None or isinstance(v, bool):
            return v
        if isinstance(v, str):
            return v if len(v) < 100000 else {"t": "repr", "v": repr(v[:200])}
        if isinstance(v, int):
            return v if -2**53 < v < 2**53 else {"t": "int", "v": str(v)}
        if isinstance(v, float):
            return {"t": "float", "v": repr(float(v))}
        if isinstance(v, (list, tuple, set, frozenset)):
            if len(v) > 100000:
                return {"t": "repr", "v": "<a %s of %d items>" % (type(v).__name__, len(v))}
            kind = "list" if isinstance(v, list) else "tuple" if isinstance(v, tuple) else "set"
            return {"t": kind, "v": [wire(x, depth + 1) for x in v]}
        if isinstance(v, dict):
            return {"t": "dict", "v": [[wire(k, depth + 1), wire(x, depth + 1)] for k, x in v.items()]}
        if isinstance(v, complex):
            return {"t": "complex", "v": [repr(v.real), repr(v.imag)]}
        if (type(v).__module__ or "").split(".")[0] == "numpy" and hasattr(v, "tolist"):
            return wire(v.tolist(), depth + 1)
        try:
            r = repr(v)
        except BaseException:
            r = "<%s object>" % type(v).__name__
        return {"t": "repr", "v": r[:300]}

    def flush():
        for s in (sys.stdout, sys.stderr):
            try:
                s.flush()
            except BaseException:
                pass

    ns = {"__name__": "solution", "__builtins__": __builtins__}
    try:
        code = compile(payload["code"], "<solution>", "exec")
        signal.setitimer(signal.ITIMER_REAL, payload["load_timeout"])
        try:
            exec(code, ns)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        send({"type": "load", "status": "ok"})
    except Timeout:
        flush()
        send({"type": "load", "status": "timeout"})
        return
    except BaseException as e:
        flush()
        rec = {"type": "load", "status": "error"}
        rec.update(exc_info(e))
        send(rec)
        return

    for i, call in enumerate(payload["calls"]):
        rec = {"type": "call", "i": i}
        t0 = time.perf_counter()
        try:
            args, kwargs = call["args"], call["kwargs"]
            fn = ns.get(call["function"])
            if not callable(fn):
                raise NameError("name %r is not defined" % call["function"])
            signal.setitimer(signal.ITIMER_REAL, payload["test_timeout"])
            try:
                value = fn(*args, **kwargs)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            rec["status"] = "ok"
            rec["value"] = wire((args, kwargs) if call["observe"] == "arguments" else value)
        except Timeout:
            rec["status"] = "timeout"
        except BaseException as e:
            rec["status"] = "error"
            rec.update(exc_info(e))
        rec["seconds"] = round(time.perf_counter() - t0, 4)
        flush()
        send(rec)
        if rec["status"] == "timeout":
            return
    send({"type": "done"})


_main()
flush_and_exit = __import__("os")._exit
try:
    __import__("sys").stdout.flush()
except BaseException:
    pass
flush_and_exit(0)
