"""Transcripts in a real database: SQLite by default, PostgreSQL by URL (SQLAlchemy Core).

Every turn is committed the moment it happens (before any model call), so a
crash or a refreshed tab loses nothing. Schema changes are numbered
migrations, applied in order and recorded in `schema_version`.
"""

from __future__ import annotations

import builtins
import json
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    cast,
    create_engine,
    delete,
    event,
    func,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from . import errors
from .errors import InterviewerError

CONNECT_TIMEOUT_S = 3  # a server that accepts and never answers: one plain sentence well within 10 s
STATEMENT_TIMEOUT_S = 5

metadata = MetaData()

interviews = Table(
    "interviews", metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(200), nullable=False, index=True),
    Column("mode", String(20), nullable=False),
    Column("title", String(300), nullable=False),
    Column("plan", JSON, nullable=False),
    Column("loop_name", String(100)),
    Column("status", String(20), nullable=False),  # active | finished | scored
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("interviewer_model", String(200)),
    Column("judge_model", String(200)),
    Column("prompt_tokens", Integer, nullable=False, default=0),
    Column("completion_tokens", Integer, nullable=False, default=0),
    Column("cost_usd", Float),
    Column("overall_score", Integer),
)

turns = Table(
    "turns", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("interview_id", String(36), ForeignKey("interviews.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("seq", Integer, nullable=False),
    Column("role", String(20), nullable=False),  # interviewer | candidate
    Column("kind", String(20), nullable=False),  # question | follow_up | answer | hint | model_answer | notice | code
    Column("question_id", String(100), nullable=False),
    Column("text", Text, nullable=False),
    Column("probe_item", Text),  # the probed rubric item, hint level, or a code run's summary
    Column("private_notes", Text),  # the interviewer's own notes: never shown to the candidate
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("model", String(200)),
    Column("prompt_tokens", Integer, nullable=False, default=0),
    Column("completion_tokens", Integer, nullable=False, default=0),
    Column("cached_tokens", Integer, nullable=False, default=0),
    Column("cost_usd", Float),
)

results = Table(
    "results", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("interview_id", String(36), ForeignKey("interviews.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("question_id", String(100), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("judge", String(20), nullable=False),
    Column("score", Integer, nullable=False),
    Column("band", String(20), nullable=False),
    Column("data", JSON, nullable=False),  # the full Score, verdicts and evidence included
    Column("created_at", DateTime(timezone=True), nullable=False),
)

code_runs = Table(
    "code_runs", metadata,  # a coding turn's typed result (one row per turn of kind "code")
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("interview_id", String(36), ForeignKey("interviews.id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("hidden", Boolean, nullable=False),
    Column("passed", Integer, nullable=False),
    Column("total", Integer, nullable=False),
    Column("failed", JSON, nullable=False),  # names of the tests that did not pass
    Column("sandboxed", Boolean, nullable=False),
    Column("error", Text),
)

schema_version = Table("schema_version", metadata, Column("version", Integer, primary_key=True))


def _m1_initial(engine: Engine) -> None:
    metadata.create_all(engine, tables=[interviews, turns, results])


def _m2_turn_index(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("CREATE INDEX IF NOT EXISTS ix_turns_interview_seq ON turns (interview_id, seq)"))


def _m3_wide_probe_item_unique_seq(engine: Engine) -> None:
    """probe_item holds a code run's summary (failing test names): TEXT; and one seq per turn."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE turns ALTER COLUMN probe_item TYPE TEXT"))
        conn.execute(text("CREATE UNIQUE INDEX IF NOT EXISTS ux_turns_interview_seq ON turns (interview_id, seq)"))


def _m4_code_runs(engine: Engine) -> None:
    """Coding turns get a typed record (they were a summary packed into probe_item)."""
    metadata.create_all(engine, tables=[code_runs])
    with engine.begin() as conn:
        conn.execute(text("CREATE UNIQUE INDEX IF NOT EXISTS ux_code_runs_interview_seq ON code_runs (interview_id, seq)"))


def _m5_sqlite_turn_touches_interview(engine: Engine) -> None:
    """SQLite: a new turn updates its interview's row (last change, tokens, cost) by trigger, in the INSERT
    itself. A turn is then one statement, saved in autocommit: SQLite's single write lock is taken and released
    inside one driver call, never held while the writing thread waits for the GIL behind other sessions (with
    50 users that wait made saves take up to 0.6 s, and every other writer slept in the busy handler).
    PostgreSQL locks rows, not the database: add_turn updates the row itself there, in its transaction."""
    if engine.dialect.name != "sqlite":
        return
    with engine.begin() as conn:
        conn.execute(text(
            "CREATE TRIGGER IF NOT EXISTS turns_touch_interview AFTER INSERT ON turns BEGIN "
            "UPDATE interviews SET updated_at = NEW.created_at, "
            "prompt_tokens = prompt_tokens + NEW.prompt_tokens, "
            "completion_tokens = completion_tokens + NEW.completion_tokens, "
            # no cost for this turn (NULL) keeps the total as it is
            "cost_usd = COALESCE(COALESCE(cost_usd, 0.0) + NEW.cost_usd, cost_usd) "
            "WHERE id = NEW.interview_id; END"))


MIGRATIONS: list[Callable[[Engine], None]] = [_m1_initial, _m2_turn_index, _m3_wide_probe_item_unique_seq,
                                              _m4_code_runs, _m5_sqlite_turn_touches_interview]


# Statements built once (with bind parameters): building them per call costs more than the write itself.
_TOUCH_INTERVIEW = (
    update(interviews).where(interviews.c.id == bindparam("iid")).values(
        updated_at=bindparam("b_created_at"),
        prompt_tokens=interviews.c.prompt_tokens + bindparam("add_prompt"),
        completion_tokens=interviews.c.completion_tokens + bindparam("add_completion"),
        # no cost for this turn (NULL) keeps the total as it is
        cost_usd=func.coalesce(func.coalesce(interviews.c.cost_usd, 0.0) + cast(bindparam("add_cost"), Float),
                               interviews.c.cost_usd),
    )
)
_TURN_FIELDS = ("role", "kind", "question_id", "text", "probe_item", "private_notes", "created_at", "model",
                "prompt_tokens", "completion_tokens", "cached_tokens", "cost_usd")
_INSERT_TURN_ROW = insert(turns).values(
    interview_id=bindparam("iid"),
    seq=select(func.coalesce(func.max(turns.c.seq), 0) + 1)
    .where(turns.c.interview_id == bindparam("iid")).scalar_subquery(),
    **{name: bindparam(f"b_{name}") for name in _TURN_FIELDS},
)
_INSERT_TURN = _INSERT_TURN_ROW.returning(turns.c.seq)


class CodeRunRecord(BaseModel):
    """What a run of the candidate's code gave: counted by the app, never by the sandbox."""

    hidden: bool
    passed: int
    total: int
    failed: list[str] = Field(default_factory=list)
    sandboxed: bool = True
    error: str | None = None

# An interview the candidate said something in (an answer or a code submission).
_ANSWERED = (
    select(turns.c.id).where((turns.c.interview_id == interviews.c.id) & (turns.c.role == "candidate")).exists()
)


class TurnRecord(BaseModel):
    seq: int
    role: Literal["interviewer", "candidate"]
    kind: str
    question_id: str
    text: str
    probe_item: str | None = None
    private_notes: str | None = None
    created_at: datetime
    model: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: float | None = None
    code_run: CodeRunRecord | None = None


class InterviewRecord(BaseModel):
    id: str
    user_id: str
    mode: str
    title: str
    plan: list[str]
    loop_name: str | None = None
    status: str
    created_at: datetime
    updated_at: datetime
    interviewer_model: str | None = None
    judge_model: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    overall_score: int | None = None
    turns: list[TurnRecord] = Field(default_factory=list)
    results: list[dict] = Field(default_factory=list)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


class StoreError(InterviewerError):
    pass


def plain_error(exc: BaseException, where: str) -> StoreError:
    """A database failure as one true sentence: unresponsive, unreachable, corrupt, disk full, or failed."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).lower()
    sqlstate = getattr(orig, "sqlstate", None) or ""
    if sqlstate == "53100" or any(w in text for w in ("database or disk is full", "no space left", "disk full")):
        message = errors.db_disk_full(where)
    elif any(w in text for w in ("file is not a database", "disk image is malformed", "database corrupt")):
        message = errors.db_corrupt(where)
    elif isinstance(exc, PoolTimeout) or sqlstate in ("57014", "55P03") or any(
            w in text for w in ("timeout", "timed out", "interrupted", "database is locked")):
        connecting = isinstance(exc, PoolTimeout) or "connection timeout" in text
        message = errors.db_unresponsive(where, CONNECT_TIMEOUT_S if connecting else STATEMENT_TIMEOUT_S)
    elif "unable to open database file" in text:
        message = errors.db_cannot_open(where)
    elif any(w in text for w in ("connection refused", "could not translate host", "name or service not known",
                                 "no such file or directory")):
        message = errors.db_unreachable(where)
    else:
        message = errors.db_failed(where, exc.__class__.__name__)
    err = StoreError(message)
    err.__cause__ = exc
    return err


def _plain_db_errors(method):
    """Database failures become one plain sentence (`StoreError`); the caller keeps what was typed."""
    import functools

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except SQLAlchemyError as exc:
            raise plain_error(exc, self.safe_url) from exc
    return wrapper


def _sqlite_statement_deadline(conn, _cursor, _statement, _params, _context, _executemany) -> None:
    """SQLite has no statement timeout: a progress handler interrupts a statement past its deadline."""
    deadline = time.monotonic() + STATEMENT_TIMEOUT_S
    conn.connection.dbapi_connection.set_progress_handler(lambda: time.monotonic() > deadline, 10_000)


def _driver_sql(stmt, engine: Engine) -> tuple[str, Callable[[dict], tuple]]:
    """A statement compiled once for the engine's dialect: its SQL and a function from named parameters to
    the driver's positional arguments, each converted by its column type's bind processor."""
    dialect = engine.dialect
    compiled = stmt.compile(dialect=dialect)
    names = list(compiled.positiontup or ())
    binds = [compiled.binds[n] for n in names]
    # (name, literal value for the statement's own constants, bind processor)
    plan = [(n, None if b.required else b.effective_value, b.type.dialect_impl(dialect).bind_processor(dialect))
            for n, b in zip(names, binds)]

    def args(params: dict) -> tuple:
        out = []
        for name, literal, proc in plan:
            value = params[name] if literal is None else literal
            out.append(proc(value) if proc is not None and value is not None else value)
        return tuple(out)
    return compiled.string, args


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    """WAL (readers never block the writer) and NORMAL sync: still durable across an app crash."""
    cur = dbapi_conn.cursor()
    try:
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
    finally:
        cur.close()


class Store:
    """Transcripts for one database URL. Thread-safe (one engine, a connection per call)."""

    def __init__(self, url: str):
        self.url = url
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise StoreError(errors.db_unsupported_url(url)) from None
        backend = parsed.get_backend_name()
        if backend not in ("sqlite", "postgresql"):
            raise StoreError(errors.db_unsupported_url(self.safe_url))
        if parsed.drivername == "postgresql":  # the installed driver, not SQLAlchemy's default psycopg2
            parsed = parsed.set(drivername="postgresql+psycopg")
        if backend == "sqlite" and parsed.database not in (None, "", ":memory:"):
            try:
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(errors.db_unreachable(f"{self.safe_url}: {exc.strerror}")) from None
        try:
            if backend == "sqlite":
                # `timeout`: how long to wait for another writer's lock (busy timeout)
                kwargs: dict = {"connect_args": {"check_same_thread": False, "timeout": STATEMENT_TIMEOUT_S}}
            else:
                kwargs = {
                    "pool_pre_ping": True,  # a server may drop idle connections
                    "pool_timeout": CONNECT_TIMEOUT_S,
                    "connect_args": {
                        "connect_timeout": CONNECT_TIMEOUT_S,
                        "options": f"-c statement_timeout={STATEMENT_TIMEOUT_S * 1000} "
                                   f"-c lock_timeout={STATEMENT_TIMEOUT_S * 1000}",
                    },
                }
            self.engine = create_engine(parsed, **kwargs)
            self._sqlite = backend == "sqlite"
            self._turn_sql: tuple | None = None
            if backend == "sqlite":
                # add_turn runs twice per turn: on SQLite it goes straight to the driver (see _add_turn_sqlite)
                self._turn_sql = _driver_sql(_INSERT_TURN_ROW, self.engine)
                event.listen(self.engine, "connect", _sqlite_pragmas)
                event.listen(self.engine, "before_cursor_execute", _sqlite_statement_deadline)
            self.migrate()
        except (NoSuchModuleError, ImportError):
            raise StoreError(errors.db_unsupported_url(self.safe_url)) from None
        except SQLAlchemyError as exc:
            raise plain_error(exc, self.safe_url) from exc

    @property
    def safe_url(self) -> str:
        try:
            from sqlalchemy.engine import make_url

            return make_url(self.url).render_as_string(hide_password=True)
        except Exception:  # noqa: BLE001 - only for display
            return "the configured database"

    # ------------------------------------------------------------------ migrations
    def migrate(self) -> int:
        insp = inspect(self.engine)
        if not insp.has_table("schema_version"):
            metadata.create_all(self.engine, tables=[schema_version])
        with self.engine.begin() as conn:
            current = conn.execute(select(func.max(schema_version.c.version))).scalar() or 0
        for number, migration in enumerate(MIGRATIONS, start=1):
            if number <= current:
                continue
            migration(self.engine)
            with self.engine.begin() as conn:
                conn.execute(insert(schema_version).values(version=number))
        return len(MIGRATIONS)

    def version(self) -> int:
        with self.engine.begin() as conn:
            return conn.execute(select(func.max(schema_version.c.version))).scalar() or 0

    def _autocommit(self):
        """A connection whose every statement is its own transaction: for writes of one statement. On SQLite
        the write lock then lives inside the driver's call (an explicit transaction holds it from the first
        write to COMMIT, across the thread's waits for the GIL while other sessions run)."""
        return self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    # ------------------------------------------------------------------ writes
    def create_interview(self, *, user_id: str, mode: str, title: str, plan: list[str], loop_name: str | None,
                         interviewer_model: str | None, judge_model: str | None, interview_id: str | None = None) -> str:
        return self.new_interview(user_id=user_id, mode=mode, title=title, plan=plan, loop_name=loop_name,
                                  interviewer_model=interviewer_model, judge_model=judge_model,
                                  interview_id=interview_id).id

    @_plain_db_errors
    def new_interview(self, *, user_id: str, mode: str, title: str, plan: list[str], loop_name: str | None,
                      interviewer_model: str | None, judge_model: str | None,
                      interview_id: str | None = None) -> InterviewRecord:
        """Create an interview and return its record as saved (what `get` would read back, without the read)."""
        iid = interview_id or str(uuid.uuid4())
        now = _now()
        record = InterviewRecord(id=iid, user_id=user_id, mode=mode, title=title, plan=list(plan), loop_name=loop_name,
                                 status="active", created_at=now, updated_at=now, interviewer_model=interviewer_model,
                                 judge_model=judge_model, prompt_tokens=0, completion_tokens=0)
        with self._autocommit() as conn:
            conn.execute(insert(interviews).values(**record.model_dump(exclude={"turns", "results", "cost_usd",
                                                                                "overall_score"})))
        return record

    @_plain_db_errors
    def add_turn(self, interview_id: str, turn: TurnRecord) -> int:
        """Append a turn (its `seq` is assigned here, in the same transaction) and return the seq."""
        params = {f"b_{k}": v for k, v in turn.model_dump(exclude={"code_run"}).items()} | {
            "iid": interview_id, "add_prompt": turn.prompt_tokens, "add_completion": turn.completion_tokens,
            "add_cost": turn.cost_usd}
        if self._turn_sql is not None and turn.code_run is None:
            return self._add_turn_sqlite(params)
        with self.engine.begin() as conn:
            if not self._sqlite:  # SQLite: the INSERT's trigger updates the interview row (migration 5)
                # Update the interview row first: it locks the row, so concurrent writers to one interview
                # (two tabs) take turns and get distinct seqs.
                conn.execute(_TOUCH_INTERVIEW, params)
            seq = conn.execute(_INSERT_TURN, params).scalar_one()
            if turn.code_run is not None:
                conn.execute(insert(code_runs).values(interview_id=interview_id, seq=seq, **turn.code_run.model_dump()))
            return seq

    def _add_turn_sqlite(self, params: dict) -> int:
        """add_turn on SQLite: one INSERT through the driver itself, compiled once by SQLAlchemy (the same SQL
        and bind conversions), in autocommit. Its seq comes from a subquery in the same statement (under the
        write lock) and its trigger updates the interview row, so the write lock is held only inside this one
        driver call; the seq is read back afterwards (WAL: a read takes no lock)."""
        assert self._turn_sql is not None
        try:
            raw = self.engine.raw_connection()
        except Exception as exc:  # SQLAlchemy's or the driver's own (raised while connecting)
            raise plain_error(exc, self.safe_url) from exc
        try:
            deadline = time.monotonic() + STATEMENT_TIMEOUT_S
            driver: Any = raw.driver_connection
            driver.set_progress_handler(lambda: time.monotonic() > deadline, 10_000)
            sql, args = self._turn_sql
            level = driver.isolation_level
            driver.isolation_level = None  # autocommit: no BEGIN before the INSERT, no COMMIT after it
            try:
                cur = raw.cursor()
                cur.execute(sql, args(params))
                row: Any = cur.execute("SELECT seq FROM turns WHERE id = ?", (cur.lastrowid,)).fetchone()
                cur.close()
            finally:
                driver.isolation_level = level
            return int(row[0])
        except Exception as exc:  # the driver's own errors (sqlite3.Error) in plain words, like everywhere else
            raise plain_error(exc, self.safe_url) from exc
        finally:
            raw.close()  # back to the pool

    @_plain_db_errors
    def add_usage(self, interview_id: str, *, prompt_tokens: int, completion_tokens: int,
                  cost_usd: float | None) -> None:
        """Usage not tied to a turn (the judge's calls)."""
        values = {
            "prompt_tokens": interviews.c.prompt_tokens + prompt_tokens,
            "completion_tokens": interviews.c.completion_tokens + completion_tokens,
        }
        if cost_usd is not None:
            values["cost_usd"] = func.coalesce(interviews.c.cost_usd, 0.0) + cost_usd
        with self._autocommit() as conn:
            conn.execute(update(interviews).where(interviews.c.id == interview_id).values(**values))

    @_plain_db_errors
    def set_plan(self, interview_id: str, plan: "builtins.list[str]") -> datetime:
        """Replace the interview's plan (a coding question's part 2 joins it once part 1 passes).
        Returns the time saved as `updated_at`."""
        now = _now()
        with self._autocommit() as conn:
            conn.execute(update(interviews).where(interviews.c.id == interview_id)
                         .values(plan=plan, updated_at=now))
        return now

    @_plain_db_errors
    def set_status(self, interview_id: str, status: str) -> datetime:
        """Returns the time saved as `updated_at`."""
        now = _now()
        with self._autocommit() as conn:
            conn.execute(update(interviews).where(interviews.c.id == interview_id)
                         .values(status=status, updated_at=now))
        return now

    @_plain_db_errors
    def save_results(self, interview_id: str, scored: list[dict], overall: int | None) -> None:
        """Replace the interview's results (a re-score overwrites) and mark it scored, in one transaction."""
        now = _now()
        with self.engine.begin() as conn:
            conn.execute(delete(results).where(results.c.interview_id == interview_id))
            for data in scored:
                conn.execute(insert(results).values(
                    interview_id=interview_id, question_id=data["question_id"], kind=data.get("kind", ""),
                    judge=data["judge"], score=data["score"], band=data["band"], data=data, created_at=now,
                ))
            conn.execute(update(interviews).where(interviews.c.id == interview_id)
                         .values(status="scored", overall_score=overall, updated_at=now))

    @_plain_db_errors
    def delete(self, interview_id: str, *, user_id: str | None = None) -> bool:
        with self.engine.begin() as conn:
            cond = interviews.c.id == interview_id
            if user_id is not None:
                cond = cond & (interviews.c.user_id == user_id)
            found = conn.execute(select(interviews.c.id).where(cond)).first()
            if not found:
                return False
            conn.execute(delete(code_runs).where(code_runs.c.interview_id == interview_id))
            conn.execute(delete(turns).where(turns.c.interview_id == interview_id))
            conn.execute(delete(results).where(results.c.interview_id == interview_id))
            conn.execute(delete(interviews).where(interviews.c.id == interview_id))
        return True

    @_plain_db_errors
    def discard_unanswered(self, *, user_id: str, interview_id: str | None = None) -> int:
        """Delete this user's interviews that hold no candidate turn (or just `interview_id`, if it holds none).

        Returns how many were deleted. An interview with any answer is never touched.
        """
        cond = (interviews.c.user_id == user_id) & ~_ANSWERED
        if interview_id is not None:
            cond = cond & (interviews.c.id == interview_id)
        with self.engine.begin() as conn:
            ids = [r[0] for r in conn.execute(select(interviews.c.id).where(cond)).all()]
            if ids:
                conn.execute(delete(turns).where(turns.c.interview_id.in_(ids)))
                conn.execute(delete(results).where(results.c.interview_id.in_(ids)))
                conn.execute(delete(interviews).where(interviews.c.id.in_(ids)))
        return len(ids)

    @_plain_db_errors
    def count_unanswered(self, *, user_id: str) -> int:
        q = select(func.count()).select_from(interviews).where((interviews.c.user_id == user_id) & ~_ANSWERED)
        with self.engine.begin() as conn:
            return int(conn.execute(q).scalar() or 0)

    # ------------------------------------------------------------------ reads
    @_plain_db_errors
    def get(self, interview_id: str, *, user_id: str | None = None) -> InterviewRecord | None:
        with self.engine.begin() as conn:
            cond = interviews.c.id == interview_id
            if user_id is not None:
                cond = cond & (interviews.c.user_id == user_id)
            row = conn.execute(select(interviews).where(cond)).mappings().first()
            if row is None:
                return None
            trows = conn.execute(select(turns).where(turns.c.interview_id == interview_id)
                                 .order_by(turns.c.seq)).mappings().all()
            rrows = conn.execute(select(results).where(results.c.interview_id == interview_id)
                                 .order_by(results.c.id)).mappings().all()
            crows = conn.execute(select(code_runs).where(code_runs.c.interview_id == interview_id)).mappings().all()
        runs = {c["seq"]: CodeRunRecord(**{k: c[k] for k in CodeRunRecord.model_fields}) for c in crows}
        rec = self._record(row)
        rec.turns = [TurnRecord(**{k: v for k, v in t.items() if k in TurnRecord.model_fields},
                                code_run=runs.get(t["seq"])) for t in trows]
        for t in rec.turns:
            t.created_at = _aware(t.created_at)
        rec.results = [r["data"] if isinstance(r["data"], dict) else json.loads(r["data"]) for r in rrows]
        return rec

    @staticmethod
    def _record(row) -> InterviewRecord:
        data = {k: row[k] for k in InterviewRecord.model_fields if k in row.keys()}
        data["created_at"] = _aware(data["created_at"])
        data["updated_at"] = _aware(data["updated_at"])
        return InterviewRecord(**data)

    @_plain_db_errors
    def list(self, *, user_id: str | None = None, status: str | None = None, limit: int = 500,
             answered_only: bool = False) -> list[InterviewRecord]:
        """Interviews, newest first; with `answered_only`, those holding at least one candidate turn."""
        q = select(interviews).order_by(interviews.c.created_at.desc()).limit(limit)
        if user_id is not None:
            q = q.where(interviews.c.user_id == user_id)
        if status is not None:
            q = q.where(interviews.c.status == status)
        if answered_only:
            q = q.where(_ANSWERED)
        with self.engine.begin() as conn:
            return [self._record(r) for r in conn.execute(q).mappings().all()]

    @_plain_db_errors
    def results_for_user(self, user_id: str) -> "builtins.list[dict]":
        """Every scored question of a user: the Score data plus `interview_id` and `created_at`, oldest first."""
        q = (select(results.c.data, results.c.created_at, results.c.interview_id)
             .join(interviews, interviews.c.id == results.c.interview_id)
             .where(interviews.c.user_id == user_id).order_by(results.c.created_at))
        with self.engine.begin() as conn:
            out = []
            for data, created, iid in conn.execute(q).all():
                d = dict(data if isinstance(data, dict) else json.loads(data))
                d["interview_id"] = iid
                d["created_at"] = _aware(created).isoformat()
                out.append(d)
            return out

    @_plain_db_errors
    def recent_question_ids(self, user_id: str, limit: int = 50) -> "builtins.list[str]":
        """Question ids this user was asked, most recent first (for 'not seen recently')."""
        q = (select(turns.c.question_id, func.max(turns.c.created_at).label("last"))
             .join(interviews, interviews.c.id == turns.c.interview_id)
             .where(interviews.c.user_id == user_id, turns.c.kind == "question")
             .group_by(turns.c.question_id).order_by(text("last DESC")).limit(limit))
        with self.engine.begin() as conn:
            return [r[0] for r in conn.execute(q).all()]
