"""The interview engine: follow-up policy, modes, plans, persistence, resume, CLI, simulated candidates."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from interviewer.bank import load_bank
from interviewer.bootstrap import build_app
from interviewer.config import load_settings
from interviewer.errors import ModelError
from interviewer.fake import FunctionModel, ScriptedModel
from interviewer.policy import follow_up_budget
from interviewer.session import NotesFilter, SessionError, build_plan, is_decline
from interviewer.simulate import PERSONAS, run_persona
from interviewer.store import Store

ROOT = Path(__file__).resolve().parent.parent
WEAK = "Regularization is a way to make a model better when you train it on data."


@pytest.fixture(scope="module")
def bank():
    return load_bank()


@pytest.fixture()
def app(bank, tmp_path):
    return build_app(load_settings(env={"INTERVIEWER_DB_URL": f"sqlite:///{tmp_path}/t.db"}), bank=bank,
                     use_configured_models=False)


def _say(session, text):
    return "".join(session.submit(text))


def _kinds(session):
    return [(t["role"], t["kind"]) for t in session.transcript()]


# --------------------------------------------------------------------------- policy

def test_follow_up_probes_the_most_important_uncovered_item(app, bank):
    s = app.start([bank.get("regularization")])
    reply = _say(s, WEAK)
    q = bank.get("regularization")
    # definition and overfitting/l1-l2 carry weight 2; of the probed items, sparsity/lambda (1.5) come first.
    probed = [p for p in q.probes if p.text == reply]
    assert probed, reply
    weights = {i.id: i.weight for i in q.rubric}
    assert weights[probed[0].item] == max(weights[p.item] for p in q.probes)


def test_follow_ups_follow_the_time_budget_and_never_repeat(app, bank):
    q = bank.get("regularization")
    s = app.start([q, bank.get("bias-variance-tradeoff")])
    replies = [_say(s, WEAK)]
    for _ in range(6):
        if bank.get("bias-variance-tradeoff").prompt in replies[-1]:
            break
        replies.append(_say(s, "Maybe it just depends on the model you use in the end."))
    assert bank.get("bias-variance-tradeoff").prompt in replies[-1]
    probes = [t for t in s.transcript() if t.get("move") == "probe" and t["question_id"] == q.id]
    assert 1 <= len(probes) <= follow_up_budget(q.time_budget_min)
    assert len({t["text"] for t in probes}) == len(probes)


def test_max_follow_ups_is_configurable(bank, tmp_path):
    app = build_app(load_settings(env={"INTERVIEWER_DB_URL": f"sqlite:///{tmp_path}/c.db"}), bank=bank,
                    use_configured_models=False, max_follow_ups=0)
    s = app.start([bank.get("regularization")])
    assert "end of the interview" in _say(s, WEAK)


@pytest.mark.parametrize("skip", ["skip", "Let's move on", "next"])
def test_next_moves_on(app, bank, skip):
    s = app.start([bank.get("regularization"), bank.get("model-drift")])
    reply = _say(s, skip)
    assert bank.get("model-drift").prompt in reply
    assert "move on" in reply.lower()


@pytest.mark.parametrize("decline", ["I don't know", "no idea, sorry", "pass"])
def test_a_decline_probes_another_item_and_two_declines_move_on(app, bank, decline):
    s = app.start([bank.get("regularization"), bank.get("model-drift")])
    first = _say(s, decline)
    assert bank.get("model-drift").prompt not in first
    assert s.transcript()[-1]["move"] == "probe"
    second = _say(s, decline)
    assert bank.get("model-drift").prompt in second and "move on" in second.lower()


def test_a_real_answer_starting_like_a_decline_is_not_a_decline():
    assert is_decline("I don't know.")
    assert not is_decline("I don't know the exact formula, but L2 adds the squared weights to the loss and shrinks "
                          "them towards zero, which reduces variance.")


def test_a_covered_answer_gets_no_follow_up(app, bank):
    q = bank.get("regularization")
    s = app.start([q, bank.get("model-drift")])
    reply = _say(s, q.reference_answer)
    assert bank.get("model-drift").prompt in reply


def test_empty_and_huge_answers_are_refused_with_nothing_lost(app, bank):
    s = app.start([bank.get("regularization")])
    with pytest.raises(SessionError, match="empty"):
        s.submit("   ")
    with pytest.raises(SessionError, match="limit"):
        s.submit("x" * 25_000)
    assert _kinds(s) == [("interviewer", "question")]
    _say(s, WEAK)
    assert _kinds(s)[-2:] == [("candidate", "answer"), ("interviewer", "probe")]


def test_the_interview_ends_and_refuses_more_answers(app, bank):
    s = app.start([bank.get("regularization")])
    _say(s, "skip")
    assert s.finished
    with pytest.raises(SessionError, match="over"):
        s.submit("more")


# --------------------------------------------------------------------------- modes

def test_interview_mode_gives_no_hints_or_answers(app, bank):
    s = app.start([bank.get("regularization")], mode="interview")
    with pytest.raises(SessionError):
        s.hint("direction")
    _say(s, WEAK)
    with pytest.raises(SessionError):
        s.model_answer()
    with pytest.raises(SessionError):
        s.live_rubric()
    ref = bank.get("regularization").reference_answer
    assert all(ref not in t["text"] for t in s.transcript())


def test_practice_mode_hints_in_three_levels_recorded(app, bank):
    q = bank.get("regularization")
    s = app.start([q], mode="practice")
    assert s.hint("direction") == q.hints.direction
    assert s.hint("approach") == q.hints.approach
    assert s.hint("detailed") == q.hints.detailed
    hints = [t for t in s.transcript() if t["kind"] == "hint"]
    assert len(hints) == 3
    with pytest.raises(SessionError):
        s.model_answer()  # only after an attempt
    _say(s, WEAK)
    assert s.model_answer() == q.reference_answer
    resumed = app.resume(s.id)
    assert resumed.current.hints == ["direction", "approach", "detailed"]


def test_practice_live_rubric_ticks_items(app, bank):
    s = app.start([bank.get("regularization")], mode="practice")
    assert not any(i["covered"] for i in s.live_rubric())
    _say(s, "Regularization adds a penalty on the weights to the loss to reduce overfitting.")
    ticked = {i["id"] for i in s.live_rubric() if i["covered"]}
    assert {"definition", "overfitting"} <= ticked


def test_time_budget_informs_never_blocks(bank, tmp_path):
    now = [0.0]
    app = build_app(load_settings(env={"INTERVIEWER_DB_URL": f"sqlite:///{tmp_path}/c.db"}), bank=bank,
                    use_configured_models=False, clock=lambda: now[0])
    s = app.start([bank.get("regularization")])
    now[0] = 60 * 30
    status = s.time_status()
    assert status["over"] and status["budget_min"] == 8
    assert _say(s, WEAK)  # still accepted


# --------------------------------------------------------------------------- with a model

def test_model_phrases_follow_ups_and_private_notes_stay_private(bank, tmp_path):
    def interviewer(messages, output_type):
        return "<notes>Candidate missed sparsity; push on L1.</notes>What happens to individual weights under each penalty?"

    model = FunctionModel(fn=interviewer, name="fake-interviewer")
    app = build_app(load_settings(env={"INTERVIEWER_DB_URL": f"sqlite:///{tmp_path}/m.db"}), bank=bank,
                    interviewer_model=model)
    s = app.start([bank.get("regularization")])
    chunks = list(s.submit(WEAK))
    assert len(chunks) == 1  # the guard shows a sentence once it has passed (interviewer/guard.py)
    shown = "".join(chunks)
    assert shown == "What happens to individual weights under each penalty?"
    assert "notes" not in shown.lower()
    private = s.transcript(include_private=True)[-1]["private_notes"]
    assert "push on L1" in private
    assert all("push on L1" not in t["text"] for t in s.transcript())
    # The model sees a stable prefix and the uncovered item, never other questions' turns.
    sent = model.calls[0].messages
    assert sent[0].role == "system" and "Checklist" in sent[0].content
    assert "has not covered" in sent[-1].content


def test_notes_filter_handles_tags_split_across_chunks():
    f = NotesFilter()
    out = "".join(f.feed(c) for c in ["<no", "tes>secret</n", "otes>Hello ", "<thi", "nk>hmm</think>there?"])
    out += f.close()
    assert out == "Hello there?"
    assert f.notes == ["secret", "hmm"]


def test_a_reply_that_leaks_the_answer_is_replaced_in_interview_mode(bank, tmp_path):
    q = bank.get("regularization")
    model = FunctionModel(fn=lambda m, t: "Here is the answer: " + q.reference_answer)
    app = build_app(load_settings(env={"INTERVIEWER_DB_URL": f"sqlite:///{tmp_path}/l.db"}), bank=bank,
                    interviewer_model=model)
    s = app.start([q])
    _say(s, WEAK)
    last = s.transcript()[-1]["text"]
    assert last in {p.text for p in q.probes}


def test_a_model_failure_keeps_the_answer_and_retry_recovers(bank, tmp_path):
    model = ScriptedModel(replies=[ModelError("rate_limited", "The model server is rate-limiting requests (HTTP 429)."),
                                   "What about the weights?"])
    app = build_app(load_settings(env={"INTERVIEWER_DB_URL": f"sqlite:///{tmp_path}/f.db"}), bank=bank,
                    interviewer_model=model)
    s = app.start([bank.get("regularization")])
    with pytest.raises(ModelError, match="rate-limiting"):
        _say(s, WEAK)
    assert _kinds(s)[-1] == ("candidate", "answer")
    with pytest.raises(SessionError, match="retry"):
        s.submit("another")
    assert "".join(s.retry()) == "What about the weights?"
    assert _kinds(s)[-2:] == [("candidate", "answer"), ("interviewer", "probe")]


def test_continue_offline_after_a_failure_uses_the_bank_probe(bank, tmp_path):
    model = ScriptedModel(replies=[ModelError("timeout", "The model server did not answer in time.")])
    app = build_app(load_settings(env={"INTERVIEWER_DB_URL": f"sqlite:///{tmp_path}/o.db"}), bank=bank,
                    interviewer_model=model)
    s = app.start([bank.get("regularization")])
    with pytest.raises(ModelError):
        _say(s, WEAK)
    text = "".join(s.continue_offline())
    assert text in {p.text for p in bank.get("regularization").probes}


def test_budget_stops_the_interview_politely(bank, tmp_path):
    model = FunctionModel(fn=lambda m, t: "Tell me more about the weights please?")
    app = build_app(load_settings(env={"INTERVIEWER_DB_URL": f"sqlite:///{tmp_path}/b.db",
                                       "INTERVIEWER_SESSION_BUDGET_TOKENS": "50"}), bank=bank, interviewer_model=model)
    s = app.start([bank.get("regularization"), bank.get("model-drift")])
    _say(s, WEAK)
    reply = _say(s, "Still not sure, maybe more data and a smaller model would help.")
    assert "budget" in reply and s.finished


# --------------------------------------------------------------------------- scoring and persistence

def test_scoring_saves_verdicts_evidence_and_models(app, bank):
    q = bank.get("regularization")
    s = app.start([q])
    _say(s, q.reference_answer)
    scores = s.score()
    rec = app.store.get(s.id)
    assert rec.status == "scored" and rec.overall_score == scores[0].score
    saved = rec.results[0]
    assert saved["band"] == "strong" and saved["judge"] == "offline"
    assert any(i["evidence"] for i in saved["items"])


def test_llm_judge_usage_is_stored(bank, tmp_path):
    q = bank.get("regularization")
    verdict = {"items": [{"id": i.id, "sentences": [], "reason": "not stated"} for i in q.rubric]}
    judge = ScriptedModel(replies=[verdict], name="fake-judge")
    app = build_app(load_settings(env={"INTERVIEWER_DB_URL": f"sqlite:///{tmp_path}/j.db"}), bank=bank,
                    judge_model=judge)
    s = app.start([q])
    _say(s, "Regularization adds a penalty on the weights to the loss.")
    s.score()
    rec = app.store.get(s.id)
    assert rec.judge_model == "fake-judge"
    assert rec.prompt_tokens > 0


def test_resume_in_a_new_process_after_a_crash(bank, tmp_path):
    db = f"sqlite:///{tmp_path}/crash.db"
    script = textwrap.dedent(f"""
        import os
        from interviewer.bootstrap import build_app
        from interviewer.config import load_settings
        from interviewer.fake import FunctionModel

        def dies(messages, t):
            os._exit(3)  # the process dies while the interviewer model is being called

        app = build_app(load_settings(env={{"INTERVIEWER_DB_URL": "{db}"}}), interviewer_model=FunctionModel(fn=dies))
        s = app.start([app.bank.get("regularization"), app.bank.get("model-drift")])
        print(s.id, flush=True)
        list(s.submit("{WEAK}"))
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3, proc.stderr
    iid = proc.stdout.strip()
    app = build_app(load_settings(env={"INTERVIEWER_DB_URL": db}), bank=bank, use_configured_models=False)
    s = app.resume(iid)
    assert _kinds(s) == [("interviewer", "question"), ("candidate", "answer")]
    assert s.transcript()[-1]["text"] == WEAK
    assert s.pending is not None and not s.awaiting_answer
    follow_up = "".join(s.retry())
    assert follow_up in {p.text for p in bank.get("regularization").probes}
    assert s.awaiting_answer


def test_the_sessions_record_is_what_the_store_holds(bank, tmp_path):
    """The page draws from `session.record` instead of reading the database on every run: every write the
    session makes (turns, tokens, cost, hints, the model answer, a failed call, the end, scoring) keeps it equal
    to what the store reads back."""
    replies = ["What would the penalty do to the weights?", ModelError("timeout", "The model server did not answer."),
               "And how would you pick its strength?"]
    model = ScriptedModel(replies=replies, name="fake-interviewer")
    app = build_app(load_settings(env={"INTERVIEWER_DB_URL": f"sqlite:///{tmp_path}/r.db"}), bank=bank,
                    interviewer_model=model, cost_fn=lambda name, usage: 1e-6 * usage.prompt_tokens + 0.1)

    def same() -> None:
        assert s.record.model_dump() == app.store.get(s.id).model_dump()

    s = app.start([bank.get("regularization"), bank.get("bias-variance-tradeoff")], mode="practice")
    same()
    _say(s, WEAK)
    same()
    assert s.record.prompt_tokens > 0 and s.record.cost_usd
    s.hint("direction")
    with pytest.raises(ModelError):
        _say(s, "L1 gives sparse weights and L2 shrinks them; both reduce overfitting.")
    same()
    "".join(s.retry())
    s.model_answer()
    same()
    s.end()
    same()
    s.score()
    same()
    assert s.record.status == "scored" and s.record.results


def test_resume_restores_follow_up_counts_and_probes(app, bank):
    s = app.start([bank.get("regularization"), bank.get("model-drift")])
    _say(s, WEAK)
    r = app.resume(s.id)
    assert r.current.follow_ups == 1 and len(r.current.probes_asked) == 1
    _say(r, "It depends on the data, more or less, in my experience.")
    reply = _say(r, "Maybe the data matters most.")
    assert bank.get("model-drift").prompt in reply


def test_transcripts_belong_to_a_user(app, bank):
    a = app.start([bank.get("regularization")], user_id="alice")
    app.start([bank.get("regularization")], user_id="bob")
    assert [r.id for r in app.store.list(user_id="alice")] == [a.id]
    assert app.store.get(a.id, user_id="bob") is None
    assert app.store.delete(a.id, user_id="bob") is False
    assert app.store.delete(a.id, user_id="alice") is True


def test_migrations_are_numbered_and_idempotent(tmp_path):
    url = f"sqlite:///{tmp_path}/m.db"
    s1 = Store(url)
    v = s1.version()
    assert v >= 2
    assert Store(url).version() == v


# --------------------------------------------------------------------------- plans

def test_plans_by_id_kind_topic_and_loop(bank):
    assert [q.id for q in build_plan(bank, question_id="cnns")] == ["cnns"]
    assert build_plan(bank, kind="system_design", seed=1)[0].kind.value == "system_design"
    assert "mlops" in build_plan(bank, topic="mlops", seed=1)[0].topics
    loop = build_plan(bank, loop="ml-engineer-onsite", seed=7)
    assert [q.kind.value for q in loop] == ["behavioral", "technical", "technical", "system_design", "coding"]
    assert len({q.id for q in loop}) == len(loop)
    with pytest.raises(SessionError):
        build_plan(bank, loop="nope")


def test_random_pick_is_seeded_and_avoids_recent(bank):
    a = build_plan(bank, kind="system_design", seed=3)[0].id
    assert build_plan(bank, kind="system_design", seed=3)[0].id == a
    others = [q.id for q in bank.filter(kind="system_design") if q.id != a]
    for seed in range(10):
        assert build_plan(bank, kind="system_design", avoid=[a], seed=seed)[0].id in others


def test_app_plan_avoids_questions_seen_recently(app, bank):
    designs = [q.id for q in bank.filter(kind="system_design")]
    for qid in designs[:-1]:
        app.start([bank.get(qid)])
    assert app.plan(kind="system_design")[0].id == designs[-1]


def test_at_least_three_loop_templates(bank):
    assert len(bank.loops) >= 3
    for name in bank.loops:
        assert build_plan(bank, loop=name, seed=0)


# --------------------------------------------------------------------------- simulated candidates

@pytest.mark.parametrize("persona", sorted(PERSONAS))
@pytest.mark.parametrize("with_model", [False, True])
def test_simulated_candidates_hold_every_policy_rule(bank, tmp_path, persona, with_model):
    model = None
    if with_model:
        def interviewer(messages, output_type):
            last = messages[-1].content
            return f"<notes>private: {last[:30]}</notes>Could you say more about that, specifically?"
        model = FunctionModel(fn=interviewer)
    app = build_app(load_settings(env={"INTERVIEWER_DB_URL": f"sqlite:///{tmp_path}/s.db"}), bank=bank,
                    interviewer_model=model, use_configured_models=False)
    plan = build_plan(bank, loop="ml-engineer-onsite", seed=2)
    session = app.start(plan, mode="interview")
    report = run_persona(session, persona)
    assert report.ended
    assert not report.repeated_probe
    assert report.cap_held
    assert not report.notes_leaked
    assert not report.reference_revealed
    assert report.declines_moved_on
    assert len(report.scores) == len(plan)
    if persona == "strong":
        assert min(report.scores) >= 40
    if persona in ("empty", "gibberish", "decliner", "injector"):
        assert max(report.scores) < 40


# --------------------------------------------------------------------------- CLI

def _cli(*args, env_db: str):
    env = dict(os.environ, INTERVIEWER_DB_URL=env_db)
    return subprocess.run([sys.executable, "-m", "interviewer", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env=env)


def test_cli_interview_from_answers_file_and_transcripts(tmp_path, bank):
    db = f"sqlite:///{tmp_path}/cli.db"
    answers = tmp_path / "answers.txt"
    answers.write_text(bank.get("regularization").reference_answer + "\n---\nskip\n---\nunused\n")
    out = _cli("interview", "--question", "regularization", "--answers", str(answers), "--json", env_db=db)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert {"id", "mode", "turns", "results"} <= data.keys()
    assert data["turns"][0]["role"] == "interviewer"
    assert data["turns"][1] == {"role": "candidate", "question_id": "regularization",
                                "text": bank.get("regularization").reference_answer}
    assert data["results"][0]["band"] == "strong"
    assert all("private_notes" not in t for t in data["turns"])

    listed = json.loads(_cli("transcripts", "list", "--json", env_db=db).stdout)
    assert [r["id"] for r in listed] == [data["id"]]
    shown = json.loads(_cli("transcripts", "show", data["id"], "--json", env_db=db).stdout)
    assert shown["results"][0]["score"] == data["results"][0]["score"]
    md = tmp_path / "t.md"
    assert _cli("transcripts", "export", data["id"], "--format", "md", "-o", str(md), env_db=db).returncode == 0
    assert "## Scores" in md.read_text() and "\u201c" in md.read_text()
    assert _cli("transcripts", "delete", data["id"], env_db=db).returncode == 0
    assert json.loads(_cli("transcripts", "list", "--json", env_db=db).stdout) == []


def test_cli_loops_json(tmp_path):
    out = _cli("loops", "--json", env_db=f"sqlite:///{tmp_path}/l.db")
    rows = json.loads(out.stdout)
    assert len(rows) >= 3 and all({"name", "title", "questions"} <= r.keys() for r in rows)


def test_cli_interview_loop_offline(tmp_path):
    answers = tmp_path / "a.txt"
    answers.write_text("\n---\n".join(["I would start by clarifying the requirements and the scale."] * 12))
    out = _cli("interview", "--loop", "ml-engineer-onsite", "--answers", str(answers), "--json",
               env_db=f"sqlite:///{tmp_path}/x.db")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert len(data["results"]) >= 1
    assert all(r["judge"] == "offline" for r in data["results"])


def test_a_database_failure_is_one_plain_sentence(bank, tmp_path):
    from interviewer.store import StoreError

    db = tmp_path / "gone.db"
    app = build_app(load_settings(env={"INTERVIEWER_DB_URL": f"sqlite:///{db}"}), bank=bank,
                    use_configured_models=False)
    s = app.start([bank.get("regularization")])
    app.store.engine.dispose()
    db.unlink()
    db.mkdir()  # the database file is gone and its path is now a directory: every write fails
    with pytest.raises(StoreError, match="could not be opened"):
        s.submit(WEAK)
