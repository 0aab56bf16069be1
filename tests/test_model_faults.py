"""Issue 5 acceptance: model faults through the whole engine, with the REAL adapter over real HTTP.

`OpenAIChatModel` (interviewer.llm) talks to the local OpenAI-compatible server of
tests/openai_server.py; the app is built with `build_app` from `load_settings(env=...)`.
For each fault kind: no lost turn (the candidate's answer is in the store after the
failure), a clear message (one plain line: no traceback, no key), and recovery on
retry (the interviewer) or an offline score labelled with `fallback_reason` (the judge),
after which the LLM judge scores again. Also: the API key never reaches the database,
the exports, the transcript or the logs; and the CLI end to end with a model server.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from interviewer import cli
from interviewer.bank import load_bank
from interviewer.bootstrap import build_app
from interviewer.config import load_settings
from interviewer.errors import ModelError
from interviewer.llm import OpenAIChatModel
from interviewer.report import export, transcript_json
from interviewer.scoring import OfflineJudge
from interviewer.session import SessionError
from interviewer.store import Store
from tests.judge_fakes import judge_verdict as fake_judge_verdict
from tests.openai_server import default_handler, request_schema

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parent.parent
NO_SECRETS = Path("/nonexistent/secrets.toml")
KEY = f"sk-leakcheck-{uuid.uuid4().hex}"  # a unique marker: it must never be written anywhere
WEAK = "Regularization is a way to make a model better when you train it on data."
NOTES = "<notes>Probe the weights.</notes>"
FOLLOW_UP = ("Interesting. What would happen to the individual weights of a linear model under each kind of "
             "penalty, and how would you choose how strong the penalty is?")
SECOND = "Suppose the penalty is far too strong: what would you see in the training and validation curves?"

_ANSWER_RE = re.compile(r"<<ANSWER-(\w+)>>\n(.*)\n<<END-ANSWER-\1>>", re.S)
_IDS_RE = re.compile(r"Return one entry for each of these ids: (.+)")


@pytest.fixture(scope="module")
def bank():
    return load_bank()


def judge_verdict(body: dict, bank) -> dict | None:
    """A sensible verdict for a judge request: the offline judge's decisions, cited by sentence number."""
    return fake_judge_verdict(body, bank)


def make_handler(bank, follow_ups=(FOLLOW_UP, SECOND)):
    """Interviewer text (with private notes) for streaming requests, a judge verdict for structured ones.

    The n-th follow-up on a question (read from the request's list of follow-ups already asked) is
    `follow_ups[n]`, so a retried request gets the same text as the one that failed.
    """

    def handler(body: dict):
        if body.get("stream") and request_schema(body) is None:  # (the judge streams too, in JSON mode)
            # The flat context lists the follow-ups already asked on this question ("none yet" for the first).
            instruction = body.get("messages", [{}])[-1].get("content", "")
            asked = 0 if "already asked on this question (never repeat them): none yet" in instruction else 1
            return NOTES + follow_ups[min(asked, len(follow_ups) - 1)]
        verdict = judge_verdict(body, bank)
        return verdict if verdict is not None else default_handler(body)

    return handler


def settings_for(base_url: str, db: Path, **extra: str):
    env = {
        "OPENAI_BASE_URL": base_url,
        "OPENAI_API_KEY": KEY,
        "INTERVIEWER_MAX_RETRIES": "0",
        "INTERVIEWER_TIMEOUT_S": "1",
        "INTERVIEWER_DB_URL": f"sqlite:///{db}",
        **extra,
    }
    return load_settings(env=env, secrets_path=NO_SECRETS)


def app_for(server, db: Path, bank, **extra: str):
    app = build_app(settings_for(server if isinstance(server, str) else server.base_url, db, **extra), bank=bank)
    assert isinstance(app.interviewer_model, OpenAIChatModel) and isinstance(app.judge_model, OpenAIChatModel)
    return app


def stored(db: Path, interview_id: str) -> list[tuple[str, str, str]]:
    """(role, kind, text) of every saved turn, read through a brand-new store (what survives a crash)."""
    store = Store(f"sqlite:///{db}")
    try:
        return [(t.role, t.kind, t.text) for t in store.get(interview_id).turns]
    finally:
        store.engine.dispose()


def assert_plain(message: str) -> None:
    """A message fit for a person: one short line, no traceback, no exception names, no JSON, no key."""
    assert message and message == message.strip() and "\n" not in message, repr(message)
    assert len(message) <= 240, message
    assert message[0].isupper() and message.endswith((".", "?")), message
    for bad in ("Traceback", "Error code", "{", "}", "File \"", "httpx", "openai."):
        assert bad not in message, message
    assert not re.search(r"\b[A-Z][A-Za-z]+(Error|Exception)\b", message), message
    assert KEY not in message and "sk-" not in message, message


def _say(session, text: str) -> str:
    return "".join(session.submit(text))


# --------------------------------------------------------------------------- the interviewer's faults


@pytest.mark.parametrize(("fault", "kind"), [
    ("429", "rate_limited"),
    ("500", "server_error"),
    ("timeout", "timeout"),
    ("stream_cut", "stream_interrupted"),
])
def test_interviewer_fault_keeps_the_answer_says_so_plainly_and_retry_recovers(
        openai_server, tmp_path, bank, fault, kind):
    openai_server.set_handler(make_handler(bank))
    openai_server.timeout_sleep_s = 2.5  # > INTERVIEWER_TIMEOUT_S=1
    db = tmp_path / "faults.db"
    app = app_for(openai_server, db, bank)
    s = app.start([bank.get("regularization"), bank.get("bias-variance-tradeoff")])

    openai_server.inject(fault)
    shown: list[str] = []
    with pytest.raises(ModelError) as err:
        for chunk in s.submit(WEAK):
            shown.append(chunk)
    assert err.value.kind == kind
    message = str(err.value)
    assert_plain(message)
    assert s.last_error == message

    # No lost turn: the answer is committed, and nothing half-said by the interviewer is.
    assert stored(db, s.id) == [("interviewer", "question", bank.get("regularization").prompt),
                                ("candidate", "answer", WEAK)]
    # Nothing half-said reached the candidate: the guard shows a reply only once its question has passed
    # (a cut stream's partial text stays in `err.partial`, which still holds the private notes).
    assert shown == []
    if fault == "stream_cut":
        assert err.value.partial and "Probe the weights" in err.value.partial
    assert s.pending is not None and not s.awaiting_answer
    with pytest.raises(SessionError, match="retry"):
        s.submit("A second answer before the interviewer replied.")

    # Recovery: the owed follow-up, phrased by the model, once.
    assert "".join(s.retry()) == FOLLOW_UP
    assert s.awaiting_answer and s.last_error is None
    turns = stored(db, s.id)
    assert [(r, k) for r, k, _ in turns] == [("interviewer", "question"), ("candidate", "answer"),
                                             ("interviewer", "probe")]
    assert turns[-1][2] == FOLLOW_UP
    assert s.transcript(include_private=True)[-1]["private_notes"] == "Probe the weights."
    # ... and the interview goes on through the model.
    assert _say(s, "It shrinks them, I think, and it depends on the data.") == SECOND
    assert sum(1 for r in openai_server.chat_requests if r.get("stream")) == 3


def test_connection_refused_then_a_working_server_resumes_the_interview(openai_server, tmp_path, bank):
    openai_server.set_handler(make_handler(bank))
    db = tmp_path / "refused.db"
    down = app_for(openai_server.refused_base_url, db, bank)
    s = down.start([bank.get("regularization"), bank.get("model-drift")])
    with pytest.raises(ModelError) as err:
        _say(s, WEAK)
    assert err.value.kind == "connection"
    assert_plain(str(err.value))
    assert "127.0.0.1" in str(err.value)  # says which server
    assert stored(db, s.id)[-1] == ("candidate", "answer", WEAK)
    with pytest.raises(ModelError):  # still down: retrying fails the same way, and loses nothing
        "".join(s.retry())
    assert [k for _, k, _ in stored(db, s.id)] == ["question", "answer"]
    assert openai_server.chat_requests == []

    up = app_for(openai_server, db, bank)  # e.g. the app restarted with the server running
    r = up.resume(s.id)
    assert r.pending is not None and not r.awaiting_answer
    assert "".join(r.retry()) == FOLLOW_UP
    assert [k for _, k, _ in stored(db, s.id)] == ["question", "answer", "probe"]


def test_a_transient_429_is_retried_by_the_client_without_bothering_the_candidate(openai_server, tmp_path, bank):
    openai_server.set_handler(make_handler(bank))
    app = app_for(openai_server, tmp_path / "r.db", bank, INTERVIEWER_MAX_RETRIES="2")
    s = app.start([bank.get("regularization")])
    openai_server.inject("429", times=1)
    assert _say(s, WEAK) == FOLLOW_UP
    assert len(openai_server.chat_requests) == 2


# --------------------------------------------------------------------------- the judge's faults

GOOD_ANSWER = (
    "Regularization adds a penalty on the size of the weights to the training loss, which reduces overfitting "
    "by trading a little bias for lower variance. L1 regularization adds the sum of absolute weights and drives "
    "some weights to exactly zero, so it gives sparse models and acts as feature selection. L2 regularization adds "
    "the sum of squared weights and shrinks all weights smoothly towards zero. The strength lambda is a "
    "hyperparameter that I would tune with cross-validation."
)


@pytest.mark.parametrize(("fault", "times", "kind"), [
    ("invalid_json", None, "invalid_output"),  # every reply invalid (the adapter's own retry included)
    ("refusal", 1, "refusal"),
    ("length", 1, "truncated"),
])
def test_judge_fault_falls_back_to_the_offline_score_then_the_llm_judges_again(
        openai_server, tmp_path, bank, fault, times, kind):
    openai_server.set_handler(make_handler(bank))
    db = tmp_path / "judge.db"
    app = app_for(openai_server, db, bank)
    q = bank.get("regularization")
    s = app.start([q])
    _say(s, GOOD_ANSWER)
    answer_turns = [t for t in stored(db, s.id) if t[1] == "answer"]
    assert answer_turns == [("candidate", "answer", GOOD_ANSWER)]

    openai_server.inject(fault, times=times)
    [fallback] = s.score()
    assert fallback.judge == "offline" and fallback.estimate
    assert fallback.fallback_reason and fallback.fallback_reason.endswith("The offline estimate is shown instead.")
    assert_plain(fallback.fallback_reason)
    assert fallback.score == OfflineJudge().score(q, GOOD_ANSWER).score
    rec = app.store.get(s.id)
    assert rec.status == "scored"
    assert rec.results[0]["judge"] == "offline" and rec.results[0]["fallback_reason"] == fallback.fallback_reason
    assert [t for t in stored(db, s.id) if t[1] == "answer"] == answer_turns  # nothing lost

    openai_server.clear_faults()
    [judged] = s.score()  # a re-score, with the fault gone
    assert judged.judge == "llm" and not judged.estimate and judged.fallback_reason is None
    assert judged.model == app.judge_model.name
    covered = [i for i in judged.items if i.covered]
    assert covered and all(i.evidence and i.evidence in GOOD_ANSWER for i in covered)
    rec = app.store.get(s.id)
    assert rec.results[0]["judge"] == "llm" and "fallback_reason" not in rec.results[0]
    assert rec.prompt_tokens > 0
    assert [t for t in stored(db, s.id) if t[1] == "answer"] == answer_turns


def test_judge_falls_back_after_two_invalid_json_replies(openai_server, tmp_path, bank):
    openai_server.set_handler(make_handler(bank))
    app = app_for(openai_server, tmp_path / "twice.db", bank)
    q = bank.get("regularization")
    s = app.start([q])
    _say(s, GOOD_ANSWER)
    before = len(openai_server.chat_requests)
    openai_server.inject("invalid_json", times=2)
    [result] = s.score()
    assert len(openai_server.chat_requests) - before == 2
    assert result.judge == "offline" and result.fallback_reason


def test_a_judge_fault_on_one_question_does_not_spoil_the_others(openai_server, tmp_path, bank):
    openai_server.set_handler(make_handler(bank))
    app = app_for(openai_server, tmp_path / "mixed.db", bank)
    reg, drift = bank.get("regularization"), bank.get("model-drift")
    s = app.start([reg, drift])
    _say(s, reg.reference_answer)
    _say(s, drift.reference_answer)
    assert s.finished
    openai_server.inject("refusal", times=1)  # only the first judge call is refused
    first, second = s.score()
    assert first.judge == "offline" and first.fallback_reason
    assert second.judge == "llm" and second.fallback_reason is None


# --------------------------------------------------------------------------- the API key


def test_the_api_key_never_reaches_the_database_exports_transcript_or_logs(
        openai_server, tmp_path, bank, caplog, capsys, monkeypatch):
    caplog.set_level(logging.DEBUG)
    db = tmp_path / "interviewer.db"
    monkeypatch.setenv("INTERVIEWER_DB_URL", f"sqlite:///{db}")
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.base_url)
    openai_server.set_handler(make_handler(bank))
    app = app_for(openai_server, db, bank)
    s = app.start([bank.get("regularization"), bank.get("model-drift")])
    messages = []
    # Every fault on the way, the 401 (whose body echoes the key it got, as OpenAI's does) included.
    steps = [("401", WEAK), ("429", "It depends on the data, I think."), (None, "Maybe, I am not sure."),
             ("stream_cut", "Models drift when the data changes, so I would retrain them sometimes.")]
    for fault, answer in steps:
        if fault is None:
            assert bank.get("model-drift").prompt in _say(s, answer)
            continue
        openai_server.inject(fault)
        with pytest.raises(ModelError) as err:
            _say(s, answer)
        messages.append(str(err.value))
        said = "".join(s.retry())
        # On the second question the fake server's canned follow-up repeats one already asked: the guard
        # replaces it with that question's scripted probe.
        assert said in (FOLLOW_UP, SECOND) or said in {p.text for p in bank.get("model-drift").probes}
    assert len(messages) == 3
    _say(s, bank.get("model-drift").reference_answer)
    openai_server.inject("invalid_json", times=None)
    fallback = s.score()
    openai_server.clear_faults()
    judged = s.score()
    assert fallback[0].fallback_reason and judged[0].judge == "llm"
    assert openai_server.headers[0]["authorization"] == f"Bearer {KEY}"  # the key was really in play

    rec = app.store.get(s.id)
    texts = {
        "messages": "\n".join(messages + [f.fallback_reason or "" for f in fallback]),
        "transcript": json.dumps(s.transcript(include_private=True)),
        "transcript_json": json.dumps(transcript_json(rec)),
        "record": rec.model_dump_json(),
        "settings": f"{app.settings!r} {app.settings} {app.settings.describe()} {app.interviewer_model!r}",
    }
    for fmt in ("md", "json"):
        out = tmp_path / f"export.{fmt}"
        assert cli.main(["transcripts", "export", s.id, "--format", fmt, "-o", str(out)]) == 0
        texts[f"export_{fmt}"] = out.read_text(encoding="utf-8")
        texts[f"export_{fmt}_direct"] = export(rec, fmt)
    assert cli.main(["transcripts", "show", s.id, "--json"]) == 0
    captured = capsys.readouterr()
    texts["cli_output"] = captured.out + captured.err
    texts["logs"] = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    assert "model call failed (auth)" in texts["logs"]  # the adapter's log was captured
    assert "private: " not in texts["export_md"] and "Probe the weights" not in texts["export_json"]

    for name, text in texts.items():
        assert KEY not in text, f"the API key leaked into {name}"
        assert KEY[len("sk-leakcheck-"):] not in text, f"part of the API key leaked into {name}"
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert db in files
    for path in files:  # the database (and any journal), the exports
        assert KEY.encode() not in path.read_bytes(), f"the API key leaked into {path.name}"


# --------------------------------------------------------------------------- the CLI, end to end


def _cli(args: list[str], server, tmp_path: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, OPENAI_BASE_URL=server.base_url, OPENAI_API_KEY=KEY, INTERVIEWER_MAX_RETRIES="0",
               INTERVIEWER_TIMEOUT_S="20", INTERVIEWER_DB_URL=f"sqlite:///{tmp_path / 'cli.db'}",
               INTERVIEWER_BLOCK_REMOTE_MODELS="1")
    return subprocess.run([sys.executable, "-m", "interviewer", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=90)


def test_cli_interview_loop_with_the_model_server(openai_server, tmp_path, bank):
    openai_server.set_handler(make_handler(bank))
    answers = tmp_path / "answers.txt"
    generic = ("I would start by clarifying the goal and the constraints, then pick a simple baseline, measure it "
               "offline with a held-out set, and iterate on the biggest source of error.")
    answers.write_text("\n---\n".join([GOOD_ANSWER] + [generic] * 14), encoding="utf-8")
    out = _cli(["interview", "--loop", "ml-engineer-onsite", "--answers", str(answers), "--json"], openai_server,
               tmp_path)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    asked = [t for t in data["turns"] if t["role"] == "interviewer" and t["question_id"]]
    questions = list(dict.fromkeys(t["question_id"] for t in data["turns"]))
    assert len(questions) >= 2 and asked
    follow_ups = [t for t in data["turns"] if t["text"] == FOLLOW_UP]
    assert follow_ups, "no follow-up was phrased by the model"
    assert [r["question_id"] for r in data["results"]] == questions
    assert all(r["judge"] == "llm" and not r["estimate"] and "fallback_reason" not in r for r in data["results"])
    assert any(r.get("question_id") and r["score"] > 0 for r in data["results"])
    assert any(r.get("stream") for r in openai_server.chat_requests)
    assert any((r.get("response_format") or {}).get("type") == "json_schema" for r in openai_server.chat_requests)
    assert "model: gpt-4o-mini" in out.stderr
    assert KEY not in out.stdout + out.stderr


def test_cli_score_with_the_llm_judge(openai_server, tmp_path, bank):
    openai_server.set_handler(make_handler(bank))
    answer = tmp_path / "answer.txt"
    answer.write_text(GOOD_ANSWER, encoding="utf-8")
    out = _cli(["score", "--question", "regularization", "--answer-file", str(answer), "--judge", "llm", "--json"],
               openai_server, tmp_path)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["judge"] == "llm" and data["estimate"] is False and "fallback_reason" not in data
    assert data["question_id"] == "regularization" and data["score"] >= 70 and data["band"] == "strong"
    covered = [i for i in data["items"] if i["covered"]]
    assert covered and all(i["evidence"] in GOOD_ANSWER for i in covered)
    assert len(openai_server.chat_requests) == 1
    assert KEY not in out.stdout + out.stderr


# --------------------------------------------------------------------------- what a real llama.cpp server does


def test_json_schema_answered_with_500_falls_back_and_the_judge_still_runs(openai_server, tmp_path, bank):
    """llama-cpp-python answers a json_schema response_format with HTTP 500 (issue 14): the judge must not
    silently become the offline estimate; the mode that works is learned once and remembered."""
    openai_server.set_handler(make_handler(bank))
    openai_server.inject("json_schema_500", times=None)
    app = app_for(openai_server, tmp_path / "500.db", bank)
    reg, drift = bank.get("regularization"), bank.get("model-drift")
    s = app.start([reg, drift])
    _say(s, reg.reference_answer)
    _say(s, drift.reference_answer)
    first, second = s.score()
    for result in (first, second):
        assert result.judge == "llm" and result.fallback_reason is None and not result.estimate
        assert result.output_mode == "json_object_schema"
        assert result.output_fallback.startswith("json_schema: HTTP 500")
    judge_requests = [r for r in openai_server.chat_requests if "<<ANSWER-" in json.dumps(r)]
    # json_schema once (500, not retried), then JSON mode with a schema, for both questions
    assert [(r.get("response_format") or {}).get("type") for r in judge_requests] == [
        "json_schema", "json_object", "json_object"]
    assert all("schema" in r["response_format"] for r in judge_requests[1:])
    # the grammar fixes this question's rubric ids, in order, so a small model cannot invent or skip one
    fixed = judge_requests[1]["response_format"]["schema"]["properties"]["items"]
    assert [i["properties"]["id"] for i in fixed["prefixItems"]] == [{"const": i.id} for i in reg.rubric]
    assert fixed["minItems"] == fixed["maxItems"] == len(reg.rubric)
    md = export(app.store.get(s.id), "md")
    assert "Judge: LLM (structured output: json_object_schema; json_schema: HTTP 500" in md


def test_a_slow_judge_is_closed_at_its_own_time_limit_not_retried_and_falls_back(openai_server, tmp_path, bank):
    openai_server.set_handler(make_handler(bank))
    openai_server.inject("json_schema_500", times=None)  # JSON mode streams, like on llama.cpp
    app = app_for(openai_server, tmp_path / "slow.db", bank, INTERVIEWER_JUDGE_TIMEOUT_S="1",
                  INTERVIEWER_TIMEOUT_S="20", INTERVIEWER_MAX_RETRIES="2")
    assert app.judge_model.timeout_s == 1 and app.interviewer_model.timeout_s == 20
    q = bank.get("regularization")
    s = app.start([q])
    _say(s, GOOD_ANSWER)
    openai_server.slow_delta_s = 0.3
    openai_server.inject("slow", times=None)
    started = time.monotonic()
    [result] = s.score()
    elapsed = time.monotonic() - started
    assert result.judge == "offline" and "did not finish within 1 seconds" in result.fallback_reason
    assert "INTERVIEWER_JUDGE_TIMEOUT_S" in result.fallback_reason
    assert elapsed < 3, elapsed  # one closed attempt; a timeout is never retried
    deadline = time.monotonic() + 3
    while openai_server.abandoned < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert openai_server.abandoned == 1  # the server saw the request closed and stopped
    assert app.store.get(s.id).prompt_tokens > 0  # the abandoned call's tokens count


@pytest.mark.parametrize("fault", ["template_junk", "lecture"])
def test_a_reply_that_breaks_interview_rules_is_replaced_counted_and_explained(openai_server, tmp_path, bank, fault):
    openai_server.set_handler(make_handler(bank))
    app = app_for(openai_server, tmp_path / f"{fault}.db", bank)
    q = bank.get("regularization")
    s = app.start([q])
    openai_server.inject(fault)
    shown = _say(s, WEAK)
    assert shown in {p.text for p in q.probes}  # the scripted probe, and nothing of the model's reply
    assert "<|im_start|>" not in shown and "L1 regularization" not in shown
    assert s.guard_replacements == 1
    assert transcript_json(app.store.get(s.id))["guard_replacements"] == 1  # counted in the transcript export
    notes = s.transcript(include_private=True)[-1]["private_notes"]
    assert "guard replaced the model's reply" in notes
    if fault == "template_junk":
        assert "chat template" in s.model_advice and "template" in notes
    else:
        assert s.model_advice == ""
    assert s.usage.completion_tokens > 0  # the replaced reply's tokens still count
    assert _say(s, "It shrinks them, I think, and it depends on the data.") == SECOND  # the model goes on
    assert s.guard_replacements == 1


def test_cli_interview_reports_guard_replacements(openai_server, tmp_path, bank):
    openai_server.set_handler(make_handler(bank))
    openai_server.inject("template_junk", times=None)
    answers = tmp_path / "answers.txt"
    answers.write_text("\n---\n".join([WEAK, "It depends, I think."]), encoding="utf-8")
    out = _cli(["interview", "--question", "regularization", "--answers", str(answers), "--json"], openai_server,
               tmp_path)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["guard_replacements"] == 2
    assert "start it with the model's chat template" in out.stderr
    assert not any("<|im_start|>" in t["text"] for t in data["turns"])


def test_eval_counts_fallbacks_and_refuses_to_call_offline_figures_the_llm_judges(openai_server, tmp_path, bank):
    import yaml

    from interviewer.evaluation import DEV_SET
    cases = yaml.safe_load(DEV_SET.read_text(encoding="utf-8"))["cases"][:20]
    dev = tmp_path / "dev.yaml"
    dev.write_text(yaml.safe_dump({"cases": cases}), encoding="utf-8")
    openai_server.inject("500", times=None)
    out = _cli(["eval", "--judge", "llm", "--dev-set", str(dev)], openai_server, tmp_path)
    assert out.returncode == 3, out.stderr
    assert "fallbacks to the offline judge: 20 of 20 cases" in out.stdout
    assert "REFUSED" in out.stdout and "ordering accuracy" not in out.stdout
    assert "20 x The model server had an internal error (HTTP 500)" in out.stdout

    openai_server.clear_faults()
    openai_server.set_handler(make_handler(bank))
    openai_server.inject("500", times=2)  # a few fallbacks are reported, and the figures still stand
    out = _cli(["eval", "--judge", "llm", "--dev-set", str(dev), "--json"], openai_server, tmp_path)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["figures_valid"] is True and 1 <= data["fallbacks"] <= 2 and data["judge"] == "llm"


def test_simulate_fails_a_persona_when_the_interviewer_breaks_the_rules_and_prints_the_turn(
        openai_server, tmp_path, bank):
    openai_server.set_handler(make_handler(bank))
    out = _cli(["simulate", "--question", "regularization", "--personas", "weak"], openai_server, tmp_path)
    assert out.returncode == 0 and out.stdout.startswith("OK   weak"), out.stdout + out.stderr
    openai_server.inject("lecture", times=None)
    out = _cli(["simulate", "--question", "regularization", "--personas", "weak"], openai_server, tmp_path)
    assert out.returncode == 1 and out.stdout.startswith("FAIL weak"), out.stdout + out.stderr
    assert "the model broke the rules (replaced by the scripted probe): turn 3 (" in out.stdout
    assert "Regularization is a broad family of techniques." in out.stdout


def test_simulate_reports_a_rule_breaking_turn_that_reached_the_candidate(bank, tmp_path):
    from datetime import datetime, timezone

    from interviewer.simulate import guard_report
    from interviewer.store import TurnRecord

    app = build_app(settings_for("http://127.0.0.1:9/v1", tmp_path / "v.db"), bank=bank, use_configured_models=False)
    q = bank.get("regularization")
    s = app.start([q])
    praise = "Great answer! What else would you add?"
    app.store.add_turn(s.id, TurnRecord(seq=0, role="interviewer", kind="follow_up", question_id=q.id, text=praise,
                                        created_at=datetime.now(timezone.utc), model="some-model"))
    replaced, violations = guard_report(s)
    assert replaced == [] and violations == [f"turn 2 (praise or a verdict on the answer): {praise}"]


def test_every_interviewer_call_counts_toward_the_budget_truncated_and_failed_ones_too(openai_server, tmp_path, bank):
    openai_server.set_handler(make_handler(bank))
    app = app_for(openai_server, tmp_path / "budget.db", bank)
    q = bank.get("regularization")
    s = app.start([q])
    openai_server.inject("length")  # the follow-up is cut off at the length limit
    shown = _say(s, WEAK)
    assert shown in {p.text for p in q.probes} and s.guard_replacements == 1
    assert "cut off at the length limit" in s.transcript(include_private=True)[-1]["private_notes"]
    after_truncated = s.usage.completion_tokens
    assert after_truncated > 0
    openai_server.inject("stream_cut")  # a failed call: the candidate retries, and its tokens still count
    with pytest.raises(ModelError):
        _say(s, "It shrinks them, I think, and it depends on the data.")
    assert s.usage.completion_tokens > after_truncated
    assert app.store.get(s.id).completion_tokens >= s.usage.completion_tokens - after_truncated
