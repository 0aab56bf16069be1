"""The transcript store and whole interviews against a REAL PostgreSQL server.

A session-scoped fixture runs `initdb` + `pg_ctl` from Debian's postgresql package
(/usr/lib/postgresql/*/bin) into a temporary directory, on 127.0.0.1 and a free
port, and stops it afterwards; each test gets a fresh database in that cluster.
The tests are skipped (with the reason) only when PostgreSQL is not installed:
`scripts/install-system-deps.sh`, run by `make test`, installs it.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
import threading
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select

from interviewer.bank import load_bank
from interviewer.bootstrap import build_app
from interviewer.config import load_settings
from interviewer.errors import ModelError
from interviewer.fake import FunctionModel, ScriptedModel
from interviewer.session import SessionError
from interviewer.store import MIGRATIONS, Store, interviews, results, schema_version, turns

pytestmark = pytest.mark.timeout(120)

NO_SECRETS = Path("/nonexistent/secrets.toml")
WEAK = "Regularization is a way to make a model better when you train it on data."


# --------------------------------------------------------------------------- the server

def _pg_bindir() -> Path | None:
    def version(path: str) -> tuple[int, ...]:
        m = re.search(r"/postgresql/([\d.]+)/", path)
        return tuple(int(x) for x in m.group(1).split(".")) if m else (0,)

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version)
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Cluster:
    """initdb + pg_ctl as the `postgres` user when we are root (initdb refuses root), else as ourselves."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.as_postgres = os.geteuid() == 0
        self.root = Path(tempfile.mkdtemp(prefix="interviewer-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = 0
        if self.as_postgres:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                pytest.fail("running as root, PostgreSQL is installed but there is no `postgres` user to run initdb as")
            shutil.chown(self.root, "postgres", "postgres")

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_postgres:
            cmd = ["su", "postgres", "-s", "/bin/sh", "-c", shlex.join(cmd)]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)

    def _log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def start(self) -> str:
        init = self.run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync",
                        "--encoding=UTF8", "--locale=C")
        if init.returncode != 0:
            pytest.fail(f"initdb failed: {init.stderr or init.stdout}")
        last = None
        for _ in range(3):  # the free port could be taken between choosing and binding it
            self.port = _free_port()
            opts = (f"-h 127.0.0.1 -p {self.port} -k /tmp -c fsync=off -c synchronous_commit=off "
                    f"-c full_page_writes=off -c max_connections=200")
            last = self.run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", opts, "-w", "-t", "30", "start")
            if last.returncode == 0:
                return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        pytest.fail(f"pg_ctl start failed: {last.stderr or last.stdout}\n{self._log_tail()}")

    def stop(self) -> None:
        if self.data.exists():
            self.run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server_url():
    """`postgresql+psycopg://postgres@127.0.0.1:PORT/postgres` of a private, throwaway PostgreSQL server."""
    bindir = _pg_bindir()
    if bindir is None or not (bindir / "pg_ctl").exists():
        pytest.skip("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb); "
                    "`make test` installs it via scripts/install-system-deps.sh")
    cluster = _Cluster(bindir)
    try:
        yield cluster.start()
    finally:
        cluster.stop()


@pytest.fixture()
def pg_url(postgres_server_url):
    """A fresh, empty database in the session's cluster, as a SQLAlchemy URL."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    dsn = postgres_server_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield postgres_server_url.rsplit("/", 1)[0] + f"/{name}"


# --------------------------------------------------------------------------- helpers

@pytest.fixture(scope="module")
def bank():
    return load_bank()


def _app(url: str, bank, **kw):
    return build_app(load_settings(env={"INTERVIEWER_DB_URL": url}, secrets_path=NO_SECRETS), bank=bank,
                     use_configured_models=False, **kw)


def _say(session, text: str) -> str:
    return "".join(session.submit(text))


def _kinds(session) -> list[tuple[str, str]]:
    return [(t["role"], t["kind"]) for t in session.transcript()]


def _count(store: Store, table, **where) -> int:
    q = select(func.count()).select_from(table)
    for col, value in where.items():
        q = q.where(table.c[col] == value)
    with store.engine.begin() as conn:
        return conn.execute(q).scalar()


# --------------------------------------------------------------------------- tests

def test_the_server_is_really_postgresql(pg_url):
    store = Store(pg_url)
    try:
        assert store.engine.dialect.name == "postgresql"
        with store.engine.begin() as conn:
            assert conn.exec_driver_sql("select version()").scalar().startswith("PostgreSQL")
    finally:
        store.engine.dispose()


def test_migrations_are_applied_once_in_order(pg_url):
    first = Store(pg_url)
    assert first.version() == len(MIGRATIONS)
    again = Store(pg_url)  # a second process opening the same database
    assert again.version() == len(MIGRATIONS)
    with again.engine.begin() as conn:
        versions = [r[0] for r in conn.execute(select(schema_version.c.version).order_by(schema_version.c.version))]
    assert versions == list(range(1, len(MIGRATIONS) + 1))
    insp = inspect(again.engine)
    assert {"interviews", "turns", "results", "schema_version"} <= set(insp.get_table_names())
    assert "ix_turns_interview_seq" in {ix["name"] for ix in insp.get_indexes("turns")}
    for s in (first, again):
        s.engine.dispose()


def test_a_whole_interview_with_follow_ups_score_and_resume(pg_url, bank):
    def interviewer(messages, output_type):
        return "<notes>private: probe the weights.</notes>What happens to the individual weights under each penalty?"

    model = FunctionModel(fn=interviewer, name="fake-interviewer")
    app = _app(pg_url, bank, interviewer_model=model)
    plan = [bank.get("regularization"), bank.get("bias-variance-tradeoff"), bank.get("model-drift")]
    s = app.start(plan, user_id="alice", title="Three questions \u2014 \u00e9t\u00e9 \u2713")
    reply = _say(s, WEAK)
    assert reply == "What happens to the individual weights under each penalty?"
    assert _kinds(s) == [("interviewer", "question"), ("candidate", "answer"), ("interviewer", "probe")]

    # A new app (a new engine and connection pool: another process or a refreshed tab) resumes it.
    app2 = _app(pg_url, bank, interviewer_model=model)
    r = app2.resume(s.id, user_id="alice")
    assert r.current.question.id == "regularization"
    assert r.current.follow_ups == 1 and len(r.current.probes_asked) == 1
    assert r.awaiting_answer and r.pending is None
    assert r.transcript(include_private=True)[-1]["private_notes"] == "private: probe the weights."
    assert all("probe the weights" not in t["text"] for t in r.transcript())
    with pytest.raises(SessionError):
        app2.resume(s.id, user_id="bob")

    _say(r, "I am not really sure about that part, it depends on the data I think.")  # second follow-up
    moved = _say(r, "Maybe it just depends on the model you use in the end.")  # cap of 2 reached: next question
    assert bank.get("bias-variance-tradeoff").prompt in moved
    skipped = _say(r, "skip")
    assert bank.get("model-drift").prompt in skipped and "move on" in skipped.lower()
    end = _say(r, bank.get("model-drift").reference_answer)
    assert "end of the interview" in end and r.finished

    scores = r.score()
    assert [x.question_id for x in scores] == [q.id for q in plan]
    rec = app.store.get(s.id, user_id="alice")  # read back through the FIRST app's engine
    assert rec.status == "scored" and rec.title == "Three questions \u2014 \u00e9t\u00e9 \u2713"
    assert rec.plan == [q.id for q in plan]
    assert rec.overall_score == round(sum(x.score for x in scores) / len(scores))
    assert [t.seq for t in rec.turns] == list(range(1, len(rec.turns) + 1))
    assert all(t.created_at.tzinfo is not None for t in rec.turns)
    assert rec.created_at.tzinfo is not None and rec.updated_at >= rec.created_at
    assert [(t.role, t.kind) for t in rec.turns].count(("interviewer", "probe")) == 2
    assert rec.interviewer_model == "fake-interviewer"
    assert rec.prompt_tokens == sum(t.prompt_tokens for t in rec.turns) > 0
    assert [d["question_id"] for d in rec.results] == [q.id for q in plan]
    drift = rec.results[2]
    assert drift["band"] == "strong" and drift["judge"] == "offline"
    assert any(i["evidence"] for i in drift["items"])  # JSON column round trip: nested dicts and lists
    assert rec.results[1]["score"] == 0  # declined

    # A finished interview resumes as finished and refuses more answers.
    done = _app(pg_url, bank).resume(s.id, user_id="alice")
    assert done.finished
    with pytest.raises(SessionError, match="over"):
        done.submit("one more thing")
    for a in (app, app2):
        a.store.engine.dispose()


def test_the_answer_is_committed_before_the_model_call(pg_url, bank):
    model = ScriptedModel(replies=[ModelError("timeout", "The model server did not answer in time."),
                                   "And how would you pick the penalty strength?"])
    app = _app(pg_url, bank, interviewer_model=model)
    s = app.start([bank.get("regularization")])
    with pytest.raises(ModelError):
        _say(s, WEAK)
    other = Store(pg_url)  # another connection sees the committed answer
    rec = other.get(s.id)
    assert [(t.role, t.kind, t.text) for t in rec.turns][-1] == ("candidate", "answer", WEAK)
    resumed = app.resume(s.id)
    assert resumed.pending is not None
    assert "".join(resumed.retry()) == "And how would you pick the penalty strength?"
    assert [(t.role, t.kind) for t in other.get(s.id).turns] == [
        ("interviewer", "question"), ("candidate", "answer"), ("interviewer", "probe")]
    other.engine.dispose()
    app.store.engine.dispose()


def test_list_delete_results_and_recent_questions_per_user(pg_url, bank):
    app = _app(pg_url, bank)
    reg, cnn, drift = bank.get("regularization"), bank.get("cnns"), bank.get("model-drift")

    a = app.start([reg], user_id="alice")
    _say(a, reg.reference_answer)
    a.score()
    b = app.start([cnn, drift], user_id="alice")
    _say(b, "skip")
    _say(b, drift.reference_answer)
    b.score()
    c = app.start([drift], user_id="bob")
    _say(c, WEAK)
    active = app.start([reg], user_id="alice")  # not scored

    assert [r.id for r in app.store.list(user_id="alice")] == [active.id, b.id, a.id]  # newest first
    assert [r.id for r in app.store.list(user_id="alice", status="scored")] == [b.id, a.id]
    assert [r.id for r in app.store.list(user_id="bob")] == [c.id]
    assert {r.id for r in app.store.list()} == {a.id, b.id, c.id, active.id}
    assert app.store.list(user_id="alice")[1].overall_score == round(sum(x["score"] for x in app.store.get(b.id).results) / 2)

    res = app.store.results_for_user("alice")
    assert [(r["interview_id"], r["question_id"]) for r in res] == [(a.id, "regularization"), (b.id, "cnns"),
                                                                   (b.id, "model-drift")]
    assert res[0]["band"] == "strong" and res[1]["score"] == 0
    assert all(r["created_at"].endswith("+00:00") for r in res)
    assert app.store.results_for_user("bob") == []  # bob's interview is not scored
    assert app.store.results_for_user("nobody") == []

    assert app.store.recent_question_ids("alice") == ["regularization", "model-drift", "cnns"]
    assert app.store.recent_question_ids("bob") == ["model-drift"]
    assert app.store.recent_question_ids("alice", limit=1) == ["regularization"]

    # Delete is scoped to the owner and removes turns and results too.
    assert app.store.delete(b.id, user_id="bob") is False
    assert app.store.get(b.id, user_id="alice") is not None
    assert app.store.delete(b.id, user_id="alice") is True
    assert app.store.get(b.id) is None
    assert _count(app.store, turns, interview_id=b.id) == 0
    assert _count(app.store, results, interview_id=b.id) == 0
    assert [r["interview_id"] for r in app.store.results_for_user("alice")] == [a.id]
    assert app.store.delete(b.id) is False
    assert _count(app.store, interviews) == 3
    app.store.engine.dispose()


def test_new_plans_avoid_questions_the_user_saw_recently(pg_url, bank):
    app = _app(pg_url, bank)
    designs = [q.id for q in bank.filter(kind="system_design")]
    for qid in designs[:-1]:
        app.start([bank.get(qid)], user_id="carol")
    assert set(app.store.recent_question_ids("carol")) == set(designs[:-1])
    assert app.plan(kind="system_design", user_id="carol")[0].id == designs[-1]
    app.store.engine.dispose()


def test_a_failed_hidden_test_run_is_saved(pg_url, bank):
    """A submission failing every hidden test: its typed run record (with the failing test names) must store."""
    q = max(bank.filter(kind="coding"), key=lambda x: len(x.coding.hidden_tests))
    app = _app(pg_url, bank)
    if app.runner.problem():
        pytest.skip(app.runner.problem())
    s = app.start([q])
    names = [t.name for t in q.coding.hidden_tests]
    code = f"def {q.coding.function_name}(*a, **k):\n    return None\n"
    outcome = s.run_code(code, hidden=True)
    list(outcome.reply)
    assert outcome.report.passed == 0 and outcome.report.total == len(names)
    run = [t for t in app.resume(s.id).transcript() if t["kind"] == "code"][-1]["run"]
    assert run == {"passed": 0, "total": len(names), "hidden": True, "failed": names, "sandboxed": True,
                   "error": None}
    code_turn = [t for t in app.store.get(s.id).turns if t.kind == "code"][-1]
    assert code_turn.probe_item is None and code_turn.code_run.failed == names
    app.store.engine.dispose()


def test_concurrent_writers_to_one_interview_get_distinct_seqs(pg_url, bank):
    """Two tabs (threads, each its own Store) appending to one interview at once: every turn keeps a distinct seq."""
    app = _app(pg_url, bank)
    s = app.start([bank.get("regularization")])
    from datetime import datetime, timezone

    from interviewer.store import TurnRecord

    stores = [Store(pg_url) for _ in range(4)]
    barrier = threading.Barrier(len(stores))
    errors: list[BaseException] = []

    def writer(store: Store, n: int) -> None:
        try:
            barrier.wait()
            for i in range(15):
                store.add_turn(s.id, TurnRecord(seq=0, role="candidate", kind="answer", question_id="regularization",
                                                text=f"writer {n} turn {i}", created_at=datetime.now(timezone.utc)))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(st, n)) for n, st in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    seqs = [t.seq for t in app.store.get(s.id).turns]
    assert len(seqs) == 1 + 4 * 15
    assert len(set(seqs)) == len(seqs), f"duplicate seqs: {sorted(x for x in set(seqs) if seqs.count(x) > 1)}"
    for st in stores + [app.store]:
        st.engine.dispose()
