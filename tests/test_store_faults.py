"""The database never hangs and never says the wrong thing: timeouts and one true sentence per failure.

Real servers and real files: a TCP server that accepts and never answers, a corrupt SQLite file, a
full disk (a 256 KiB tmpfs when we are root), a held lock, a runaway statement, a bad URL.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from interviewer import store as store_module
from interviewer.store import Store, StoreError, TurnRecord

ROOT = Path(__file__).resolve().parents[1]


def _cli(*args: str, db_url: str, timeout: float = 30) -> subprocess.CompletedProcess:
    env = dict(os.environ, INTERVIEWER_DB_URL=db_url)
    return subprocess.run([sys.executable, "-m", "interviewer", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def _one_sentence(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


@pytest.fixture
def silent_server():
    """A TCP server that accepts every connection and never sends a byte."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(2)
    for s in held + [server]:
        s.close()


def test_cli_gives_one_sentence_within_10_s_when_the_server_never_answers(silent_server):
    start = time.monotonic()
    proc = _cli("transcripts", "list", db_url=f"postgresql+psycopg://u@127.0.0.1:{silent_server}/interviewer")
    elapsed = time.monotonic() - start
    line = _one_sentence(proc)
    assert elapsed < 10, elapsed
    assert line.startswith("error: The transcript database") and "did not answer within 3 seconds" in line


def test_every_page_gives_one_sentence_within_10_s_when_the_server_never_answers(silent_server, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("INTERVIEWER_DB_URL", f"postgresql+psycopg://u@127.0.0.1:{silent_server}/interviewer")
    for page in ("app_pages/review.py", "app_pages/progress.py"):
        at = AppTest.from_file("../app.py", default_timeout=30)
        start = time.monotonic()
        at.run()
        if page:
            at.switch_page(page).run()
        assert time.monotonic() - start < 20  # two page runs, each within 10 s
        assert not at.exception, at.exception
        errors = [e.value for e in at.error]
        assert any("did not answer within 3 seconds" in e for e in errors), errors


def test_a_corrupt_database_file_says_so(tmp_path):
    db = tmp_path / "corrupt.db"
    db.write_bytes(b"this is not an SQLite database, just bytes " * 200)
    with pytest.raises(StoreError, match="is corrupt"):
        Store(f"sqlite:///{db}")
    line = _one_sentence(_cli("transcripts", "list", db_url=f"sqlite:///{db}"))
    assert "is corrupt; restore it from a backup" in line


def _turn(text: str) -> TurnRecord:
    return TurnRecord(seq=0, role="candidate", kind="answer", question_id="regularization", text=text,
                      created_at=datetime.now(timezone.utc))


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tiny tmpfs (a real full disk) needs root")
def test_a_full_disk_says_so(tmp_path):
    disk = tmp_path / "tiny"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)], check=True)
    try:
        store = Store(f"sqlite:///{disk / 'full.db'}")
        iid = store.create_interview(user_id="u", mode="interview", title="t", plan=["regularization"],
                                     loop_name=None, interviewer_model=None, judge_model=None)
        with pytest.raises(StoreError) as err:
            for i in range(200):
                store.add_turn(iid, _turn(f"{i} " + "an answer that fills the disk " * 200))
        assert "is full; free some space" in str(err.value), str(err.value)
        store.engine.dispose()
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_a_held_lock_and_a_runaway_statement_end_within_the_timeout(tmp_path, monkeypatch):
    monkeypatch.setattr(store_module, "STATEMENT_TIMEOUT_S", 0.5)
    db = tmp_path / "locked.db"
    store = Store(f"sqlite:///{db}")
    iid = store.create_interview(user_id="u", mode="interview", title="t", plan=["regularization"],
                                 loop_name=None, interviewer_model=None, judge_model=None)
    import sqlite3

    holder = sqlite3.connect(db)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        start = time.monotonic()
        with pytest.raises(StoreError, match="did not answer within 0.5 seconds"):
            store.add_turn(iid, _turn("waits for the lock"))
        assert time.monotonic() - start < 3
        # every other write says the same plain sentence, not a driver traceback
        for write in (lambda: store.set_status(iid, "finished"), lambda: store.set_plan(iid, ["regularization"]),
                      lambda: store.add_usage(iid, prompt_tokens=1, completion_tokens=1, cost_usd=None),
                      lambda: store.new_interview(user_id="u", mode="interview", title="t", plan=["regularization"],
                                                  loop_name=None, interviewer_model=None, judge_model=None)):
            with pytest.raises(StoreError, match="did not answer within 0.5 seconds"):
                write()
    finally:
        holder.rollback()
        holder.close()
    start = time.monotonic()
    with pytest.raises(Exception) as err:
        with store.engine.connect() as conn:
            conn.exec_driver_sql("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                                 "SELECT count(*) FROM c").all()
    assert time.monotonic() - start < 3
    assert "did not answer within 0.5 seconds" in str(store_module.plain_error(err.value, "x"))
    store.add_turn(iid, _turn("works again"))  # nothing stays broken
    store.engine.dispose()


@pytest.mark.parametrize("url", ["mysql://user@host/db", "not a url", "mongodb://host/db"])
def test_an_unsupported_database_url_is_one_sentence(url):
    with pytest.raises(StoreError, match="is not a supported database URL"):
        Store(url)
    line = _one_sentence(_cli("transcripts", "list", db_url=url))
    assert "use sqlite:///path/to/file.db or postgresql+psycopg://" in line


@pytest.mark.parametrize("content, words", [(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
                                            (b"caf\xe9 au lait is my answer", "not UTF-8 text")])
def test_a_binary_or_non_utf8_answer_file_is_one_sentence(tmp_path, content, words):
    answer = tmp_path / "answer.txt"
    answer.write_bytes(content)
    line = _one_sentence(_cli("score", "--question", "regularization", "--answer-file", str(answer),
                              db_url=f"sqlite:///{tmp_path / 'x.db'}"))
    assert words in line
    line = _one_sentence(_cli("interview", "--question", "regularization", "--answers", str(answer),
                              db_url=f"sqlite:///{tmp_path / 'y.db'}"))
    assert words in line


def test_the_sqlite_fast_path_writes_exactly_what_sqlalchemy_writes(tmp_path):
    """add_turn goes straight to the driver on SQLite; the rows must be byte for byte those of the
    SQLAlchemy path (same SQL, same bind conversions), with and without a cost."""
    import sqlite3

    db = tmp_path / "same.db"
    store = Store(f"sqlite:///{db}")
    assert store._turn_sql is not None
    iid = store.create_interview(user_id="u", mode="interview", title="t", plan=["regularization"],
                                 loop_name=None, interviewer_model=None, judge_model=None)
    now = datetime.now(timezone.utc)
    fast = store._turn_sql
    for cost in (0.25, None):
        turn = TurnRecord(seq=0, role="candidate", kind="answer", question_id="regularization", text="an answer",
                          created_at=now, model="m", prompt_tokens=5, completion_tokens=7, cost_usd=cost,
                          probe_item="bias", private_notes="notes")
        store._turn_sql = fast
        assert store.add_turn(iid, turn) in (1, 3)
        store._turn_sql = None  # the SQLAlchemy path
        assert store.add_turn(iid, turn) in (2, 4)
    store._turn_sql = fast
    rows = sqlite3.connect(db).execute("SELECT * FROM turns ORDER BY seq").fetchall()
    strip = [tuple(v for k, v in enumerate(r) if k not in (0, 2)) for r in rows]  # all but id and seq
    assert strip[0] == strip[1] and strip[2] == strip[3], rows
    assert [r[2] for r in rows] == [1, 2, 3, 4]
    rec = store.get(iid)
    assert rec is not None and rec.prompt_tokens == 20 and rec.cost_usd == 0.5
    store.engine.dispose()


def test_sqlite_writes_of_an_interview_are_each_one_statement_in_autocommit(tmp_path):
    """SQLite has one write lock for the whole database. A transaction spanning two driver calls holds it while its
    thread, back in Python between the calls, waits for the GIL behind every other running session, and every other
    writer sleeps in SQLite's busy handler meanwhile: with 50 users, saves took up to 0.6 s. So no write of an
    interview (its row, a turn, the plan, status and usage) may start a statement inside an open transaction: SQLite
    calls the trace callback at the start of every statement, the connection says whether a transaction is open."""
    from sqlalchemy import event

    store = Store(f"sqlite:///{tmp_path / 'lock.db'}")
    store.engine.dispose()  # every connection from here on is traced
    inside: list[str] = []
    seen: list[str] = []

    def traced(conn, _record) -> None:
        def statement_starts(sql: str) -> None:
            seen.append(sql.split()[0].upper())
            if conn.in_transaction:
                inside.append(sql[:60])
        conn.set_trace_callback(statement_starts)

    event.listen(store.engine, "connect", traced)
    iid = store.new_interview(user_id="u", mode="interview", title="t", plan=["regularization"], loop_name=None,
                              interviewer_model=None, judge_model=None).id
    for i in range(3):
        store.add_turn(iid, _turn(f"answer {i}").model_copy(update={"prompt_tokens": 5, "cost_usd": 0.25}))
    rec = store.get(iid)  # each turn's INSERT updated the interview row (its trigger), once
    assert rec is not None and [t.seq for t in rec.turns] == [1, 2, 3]
    assert (rec.prompt_tokens, rec.cost_usd, rec.updated_at) == (15, 0.75, rec.turns[-1].created_at)
    store.set_plan(iid, ["regularization", "bias_variance"])
    store.add_usage(iid, prompt_tokens=3, completion_tokens=4, cost_usd=0.5)
    store.set_status(iid, "finished")
    assert {"INSERT", "UPDATE"} <= set(seen), seen  # the trace saw the writes
    assert inside == [], inside
    rec = store.get(iid)
    assert rec is not None and (rec.prompt_tokens, rec.completion_tokens, rec.cost_usd) == (18, 4, 1.25)
    assert rec.status == "finished" and rec.plan == ["regularization", "bias_variance"]
    store.engine.dispose()
