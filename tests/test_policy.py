"""The interviewer's policy, move by move (a pure function), and the conversations it produces.

Conversations run through the public API (`python -m interviewer interview --answers --json`, and the
session with replay), offline, so CI checks every persona's sequence of moves.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from interviewer import policy
from interviewer.bank import load_bank
from interviewer.bootstrap import build_app
from interviewer.config import load_settings
from interviewer.policy import QuestionView, classify_input, follow_up_budget, next_move

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bank():
    return load_bank()


@pytest.fixture(scope="module")
def bv(bank):
    return bank.get("bias-variance-tradeoff")


@pytest.fixture(scope="module")
def rec(bank):
    return bank.get("design-recommendation-system")


# --------------------------------------------------------------------------- input classification

@pytest.mark.parametrize("text,kind", [
    ("I'm not sure.", "decline"),
    ("I don't know", "decline"),
    ("No idea, sorry", "decline"),
    ("next", "next"),
    ("Can we move on?", "next"),
    ("skip", "next"),
    ("How many members and titles, and what latency budget?", "clarifying_question"),
    ("What's the scale? And do we have explicit ratings?", "clarifying_question"),
    ("Bias is error from simple assumptions; a model that is too simple underfits.", "answer"),
    ("I'm not sure it matters, but high bias means underfitting because the model is too simple to capture "
     "the signal, and I'd check the training error first.", "answer"),
])
def test_classify_input(text, kind):
    assert classify_input(text) == kind


# --------------------------------------------------------------------------- moves

def test_follow_up_budget_is_in_proportion_to_time():
    assert follow_up_budget(8) == 2
    assert follow_up_budget(35) >= 8
    assert follow_up_budget(1) == 1


def test_probe_goes_to_the_heaviest_uncovered_item_ties_by_rubric_order(bv):
    m = next_move(bv, QuestionView(budget_min=8), mode="interview", is_last=True)
    probes = {p.item for p in bv.probes}
    weights = {i.id: i.weight for i in bv.scorable_items if i.id in probes}
    top = max(weights.values())
    first = next(i.id for i in bv.rubric if weights.get(i.id) == top)
    assert (m.kind, m.target) == ("probe", first)
    m2 = next_move(bv, QuestionView(budget_min=8, covered=frozenset({first})), mode="interview", is_last=True)
    assert m2.kind == "probe" and m2.target != first


def test_a_probed_item_is_never_probed_again(bv):
    asked = tuple(p.item for p in bv.probes)
    m = next_move(bv, QuestionView(budget_min=30, probes_asked=asked), mode="interview", is_last=False)
    assert m.kind == "move_on"


def test_an_asserted_misconception_is_challenged_before_any_probe(bv):
    m = next_move(bv, QuestionView(asserted_misconceptions=("misc-swapped",)), mode="interview", is_last=True)
    assert (m.kind, m.target) == ("challenge", "misc-swapped")
    again = next_move(bv, QuestionView(asserted_misconceptions=("misc-swapped",), challenged=("misc-swapped",)),
                      mode="interview", is_last=True)
    assert again.kind == "probe"


def test_a_clarifying_question_is_answered(rec):
    m = next_move(rec, QuestionView(last_input="clarifying_question"), mode="interview", is_last=True)
    assert m.kind == "clarify"
    facts, reply = policy.answer_clarification(rec, "How many members and titles, what latency budget?")
    assert {f.about for f in facts} >= {"scale", "latency"}
    assert "200 million" in reply and "100 ms" in reply
    none, fallback = policy.answer_clarification(rec, "What's your favourite colour?")
    assert none == [] and fallback == policy.NO_FACT_REPLY


def test_decline_in_practice_gives_the_next_hint_then_moves_on(bv):
    v = QuestionView(last_input="decline", declines=1)
    assert next_move(bv, v, mode="practice", is_last=True) == policy.Move(
        "hint", target="direction", text=bv.hints.direction)
    v2 = QuestionView(last_input="decline", declines=1, hints_given=("direction",))
    assert next_move(bv, v2, mode="practice", is_last=True).target == "approach"
    two = QuestionView(last_input="decline", declines=2, hints_given=("direction",))
    assert next_move(bv, two, mode="practice", is_last=False).kind == "move_on"
    assert next_move(bv, two, mode="practice", is_last=True).kind == "wrap_up"


def test_decline_in_interview_mode_probes_another_item(bv):
    last = bv.probes[0].item
    m = next_move(bv, QuestionView(last_input="decline", declines=1, last_probe=last, probes_asked=(last,)),
                  mode="interview", is_last=True)
    assert m.kind == "probe" and m.target != last


def test_next_moves_on_and_time_wraps_up(bv):
    assert next_move(bv, QuestionView(last_input="next"), mode="interview", is_last=False).kind == "move_on"
    assert next_move(bv, QuestionView(elapsed_min=9, budget_min=8), mode="interview", is_last=True).kind == "wrap_up"
    assert next_move(bv, QuestionView(follow_ups=2, budget_min=8), mode="interview", is_last=False).kind == "move_on"
    assert next_move(bv, QuestionView(), mode="interview", is_last=True, over_token_budget=True).kind == "wrap_up"


# --------------------------------------------------------------------------- conversations (offline, CLI)

def _interview(tmp_path, question: str, answers: list[str], mode: str = "interview") -> dict:
    f = tmp_path / "answers.txt"
    f.write_text("\n---\n".join(answers))
    env = {"INTERVIEWER_DB_URL": f"sqlite:///{tmp_path}/t.db", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    env |= {k: v for k, v in os.environ.items() if k in ("INTERVIEWER_BANK", "TIKTOKEN_CACHE_DIR")}
    out = subprocess.run([sys.executable, "-m", "interviewer", "interview", "--question", question, "--mode", mode,
                          "--answers", str(f), "--json"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env=env)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _moves(data: dict) -> list[str]:
    return [t["move"] for t in data["turns"] if t["role"] == "interviewer"]


def test_practice_im_not_sure_gets_a_hint_and_the_interview_goes_on(tmp_path):
    data = _interview(tmp_path, "bias-variance-tradeoff", ["I'm not sure.", "High bias means the model is too "
                      "simple and underfits."], mode="practice")
    moves = _moves(data)
    assert moves[:2] == ["question", "hint"]
    assert len(moves) >= 3 and moves[2] in ("probe", "challenge")
    assert data["results"][0]["assisted"] == ["hint:direction"]


def test_a_long_design_with_short_partial_answers_draws_several_follow_ups(tmp_path):
    answers = ["I'd collect plays and impressions.", "A model ranks them.", "We'd use some features.",
               "We would test it.", "It has to be fast.", "We'd watch it."]
    data = _interview(tmp_path, "design-recommendation-system", answers)
    assert sum(m in ("probe", "challenge") for m in _moves(data)) >= 4


def test_a_clarifying_question_about_scale_gets_the_banks_numbers(tmp_path):
    data = _interview(tmp_path, "design-recommendation-system",
                      ["How many members and titles are there, and what's the latency budget?",
                       "I'd log plays and impressions and train a two-tower model."])
    turn = next(t for t in data["turns"] if t.get("move") == "clarify")
    assert "200 million" in turn["text"] and "100 ms" in turn["text"]
    item = next(i for i in data["results"][0]["items"] if i["id"] == "clarify-requirements")
    assert item["covered"]


def test_an_asserted_misconception_is_challenged_next(tmp_path):
    data = _interview(tmp_path, "bias-variance-tradeoff",
                      ["High bias means overfitting, because the model memorizes the noise.", "Sorry, I meant "
                       "high variance means overfitting and high bias means underfitting."])
    moves = _moves(data)
    assert moves[1] == "challenge"
    challenge = data["turns"][2]["text"]
    assert "High bias means overfitting" in challenge


def test_an_answer_that_describes_serving_without_naming_it_covers_serving(tmp_path):
    data = _interview(tmp_path, "design-recommendation-system",
                      ["I'd log plays and impressions.",
                       "Most lists are worked out ahead of time and kept in memory, so the page loads in under 100 ms."])
    turns = data["turns"]
    assert turns[2]["move"] == "probe" and turns[2]["target"] == "serving-layer"
    item = next(i for i in data["results"][0]["items"] if i["id"] == "serving-layer")
    assert item["covered"]


def test_next_moves_on_and_the_last_question_wraps_up(tmp_path):
    data = _interview(tmp_path, "bias-variance-tradeoff", ["next"])
    assert _moves(data) == ["question", "wrap_up"]


def test_two_declines_move_on(tmp_path):
    data = _interview(tmp_path, "bias-variance-tradeoff", ["I don't know.", "No idea, sorry."])
    assert _moves(data)[-1] == "wrap_up"
    assert _moves(data).count("probe") == 1


# --------------------------------------------------------------------------- replay

def test_replay_rebuilds_the_same_state_after_a_decline(bank, tmp_path):
    app = build_app(load_settings(env={"INTERVIEWER_DB_URL": f"sqlite:///{tmp_path}/r.db"}), bank=bank)
    s = app.start([bank.get("bias-variance-tradeoff"), bank.get("design-recommendation-system")],
                  mode="practice")
    list(s.submit("I'm not sure."))
    list(s.submit("High bias means overfitting."))
    before = s.view()
    resumed = app.resume(s.id)
    after = resumed.view()
    assert (after.declines, after.hints_given, after.probes_asked, after.challenged, after.covered,
            after.asserted_misconceptions, after.follow_ups) == (
        before.declines, before.hints_given, before.probes_asked, before.challenged, before.covered,
        before.asserted_misconceptions, before.follow_ups)
    assert resumed.phase == s.phase
    assert [t["move"] for t in resumed.transcript() if t["role"] == "interviewer"] == [
        "question", "hint", "challenge"]


@pytest.mark.parametrize("question", ["bias-variance-tradeoff", "design-recommendation-system"])
def test_simulated_personas_get_the_moves_the_policy_promises(tmp_path, question):
    env = {"INTERVIEWER_DB_URL": f"sqlite:///{tmp_path}/s.db", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    env |= {k: v for k, v in os.environ.items() if k in ("INTERVIEWER_BANK", "TIKTOKEN_CACHE_DIR")}
    out = subprocess.run([sys.executable, "-m", "interviewer", "simulate", "--question", question, "--allow-offline",
                          "--json"], cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    reports = {r["persona"]: r for r in json.loads(out.stdout)}
    assert all(r["ok"] for r in reports.values())
    assert reports["clarifier"]["moves"][1] == "clarify"
    assert reports["skipper"]["moves"][1] in ("move_on", "wrap_up")
    if question == "bias-variance-tradeoff":
        assert reports["asserter"]["moves"][1] == "challenge"
    assert "probe" not in reports["decliner"]["moves"][2:]


# --------------------------------------------------------------------------- the same behaviours with a model

FOLLOW_UP_TEXT = "Could you take me through how that part works in more detail?"


def _model_app(openai_server, tmp_path, bank):
    from interviewer.llm import OpenAIChatModel
    from tests.judge_fakes import judge_verdict

    def handler(body):
        if body.get("stream"):
            return "<notes>probe it</notes>" + FOLLOW_UP_TEXT
        return judge_verdict(body, bank) or {"items": []}

    openai_server.set_handler(handler)
    env = {"OPENAI_BASE_URL": openai_server.base_url, "OPENAI_API_KEY": "sk-test", "INTERVIEWER_MAX_RETRIES": "0",
           "INTERVIEWER_TIMEOUT_S": "20", "INTERVIEWER_DB_URL": f"sqlite:///{tmp_path}/m.db"}
    app = build_app(load_settings(env=env, secrets_path=Path("/nonexistent/secrets.toml")), bank=bank)
    assert isinstance(app.interviewer_model, OpenAIChatModel)
    return app


def _moves_of(session) -> list[str]:
    return [t["move"] for t in session.transcript() if t["role"] == "interviewer"]


def test_with_a_model_the_policy_makes_the_same_moves(openai_server, tmp_path, bank):
    app = _model_app(openai_server, tmp_path, bank)
    practice = app.start([bank.get("bias-variance-tradeoff")], mode="practice")
    "".join(practice.submit("I'm not sure."))
    assert _moves_of(practice) == ["question", "hint"]

    s = app.start([bank.get("bias-variance-tradeoff")], mode="interview")
    "".join(s.submit("High bias means overfitting, because the model memorizes the noise."))
    assert _moves_of(s)[-1] == "challenge"
    assert s.transcript()[-1]["text"] == FOLLOW_UP_TEXT  # phrased by the model

    d = app.start([bank.get("design-recommendation-system")], mode="interview")
    reply = "".join(d.submit("How many members and titles are there, and what's the latency budget?"))
    assert "200 million" in reply and "100 ms" in reply and _moves_of(d)[-1] == "clarify"
    "".join(d.submit("I'd log plays and impressions."))
    assert _moves_of(d)[-1] == "probe" and d.transcript()[-1]["target"] == "serving-layer"
    "".join(d.submit("Most lists are worked out ahead of time and kept in memory, so the page loads in under 100 ms."))
    assert "serving-layer" in d.view().covered
    results = d.score()
    assert results[0].judge == "llm" and results[0].fallback_reason is None
    covered_items = {i.id for i in results[0].items if i.covered}
    assert {"serving-layer", "clarify-requirements"} <= covered_items
    assert any(r.get("stream") for r in openai_server.chat_requests)


def test_a_coding_rounds_part_2_joins_the_plan_once_part_1_passes(bank, tmp_path):
    app = build_app(load_settings(env={"INTERVIEWER_DB_URL": f"sqlite:///{tmp_path}/p.db"}), bank=bank)
    if app.runner.problem():
        pytest.skip(app.runner.problem())
    part1 = bank.get("knn-from-scratch")
    s = app.start([part1], mode="interview")
    s.run_code(part1.coding.starter_code + "\n", hidden=True)  # fails: no part 2
    assert [q.id for q in s.plan] == ["knn-from-scratch"]
    "".join(s.run_code(part1.coding.reference_solution, hidden=True).reply)
    assert [q.id for q in s.plan] == ["knn-from-scratch", "knn-vectorized"]
    assert app.resume(s.id).plan == s.plan  # saved
    reply = ""
    for _ in range(8):
        if s.finished or len(s.states) > 1:
            break
        reply = "".join(s.submit("next"))
    assert s._cur().question.id == "knn-vectorized" and "Part 2" in reply


def test_part_2_stays_out_of_the_plan_when_saving_the_plan_fails(bank, tmp_path, monkeypatch):
    from interviewer.store import StoreError

    app = build_app(load_settings(env={"INTERVIEWER_DB_URL": f"sqlite:///{tmp_path}/p.db"}), bank=bank)
    if app.runner.problem():
        pytest.skip(app.runner.problem())
    part1 = bank.get("knn-from-scratch")
    s = app.start([part1], mode="interview")

    def locked(*a, **k):
        raise StoreError("The database is busy (locked by another program); try again in a moment.")

    monkeypatch.setattr(s.store, "set_plan", locked)
    with pytest.raises(StoreError):
        s.run_code(part1.coding.reference_solution, hidden=True)
    assert [q.id for q in s.plan] == ["knn-from-scratch"] == s.record.plan and len(s.budgets) == 1
