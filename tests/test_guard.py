"""The guard between the model and the candidate (interviewer/guard.py), as a pure streaming filter.

The failing replies below are the kinds a real llama.cpp-served model produced in Interview mode
(issue 14): lectures, the checklist named, `covered_when` copied, praise, the question repeated,
the probe in literal quotes, chat-template junk.
"""

from __future__ import annotations

import re

import pytest

from interviewer.bank import load_bank
from interviewer.guard import TEMPLATE_ADVICE, GuardContext, GuardResult, guard_stream, split_sentences

ANSWER = "Regularization is a way to make a model better when you train it on data."


@pytest.fixture(scope="module")
def question():
    return load_bank().get("regularization")


@pytest.fixture(scope="module")
def context(question):
    probe = next(p.text for p in question.probes if p.item == "lambda")
    return GuardContext.for_question(question, mode="interview", fallback=probe, earlier=[question.prompt],
                                     answers=[ANSWER])


def run(text: str, context: GuardContext, *, chunk: str = r"\S+\s*") -> tuple[str, GuardResult, list[str]]:
    pieces = re.findall(chunk, text) or [text]
    read: list[str] = []

    def source():
        for p in pieces:
            read.append(p)
            yield p

    result = GuardResult()
    shown = "".join(guard_stream(source(), context=context, result=result))
    return shown, result, read


@pytest.mark.parametrize("reply", [
    "Suppose the penalty is far too strong: what would you see in the training and validation curves?",
    "Interesting. What would happen to the individual weights of a linear model under each kind of penalty?",
    "How would you set its strength in practice?",
    "Let's make it concrete. If your validation loss starts rising while training loss keeps falling, what would you change?",
])
def test_a_short_follow_up_ending_in_one_question_passes_unchanged(reply, context):
    shown, result, _ = run(reply, context)
    assert not result.replaced, result.reason
    assert shown == reply == result.text


@pytest.mark.parametrize(("reply", "reason"), [
    # a lecture with no question
    ("Regularization constrains the model. L1 drives weights to zero while L2 shrinks them. Dropout also helps.",
     "it does not end with a question|more than 2 sentences|private"),
    # the private checklist named
    ("Your answer has not covered L1 and L2 penalties yet. Can you describe them?", "private|rubric"),
    ("Let me check the rubric. What about sparsity?", "rubric"),
    # covered_when copied
    ("Can you say whether L1 drives some weights exactly to zero?", "private"),
    # praise and verdicts
    ("You have a good grasp of the basics. How would you pick the strength?", "praise"),
    ("Great answer! How would you pick the strength?", "praise"),
    ("That's correct. How would you pick the strength?", "praise"),
    ("Not quite. How would you pick the strength?", "praise"),
    # the question repeated verbatim
    ("What is regularization, and why is it important when training machine learning models?", "repeats"),
    # the probe in literal quotes, or labelled
    ('"How would you choose how strong the regularization should be?"', "quoted"),
    ("Follow-up question: How would you choose how strong the regularization should be?", "label"),
    # a tutorial with formatting
    ("Here are the main forms:\n- L1\n- L2\nWhich one would you use?", "formatting|without an end"),
    ("**Key question:** how would you set its strength?", "formatting"),
    # no question at all
    ("That makes sense to me.", "does not end with a question"),
    # two questions
    ("What is it? Why?", None),
    # far too long a sentence
    ("Could you " + "really " * 50 + "explain it?", "words"),
    # nothing at all
    ("", "empty"),
])
def test_a_failing_reply_is_replaced_by_the_scripted_probe_before_anything_is_shown(reply, reason, context):
    shown, result, _ = run(reply, context)
    if reason is None:  # "What is it? Why?": the reply ends at its first question; the rest is not read
        assert not result.replaced and shown == "What is it?" and result.trimmed
        return
    assert result.replaced, reply
    assert re.search(reason, result.reason), result.reason
    assert shown == context.fallback == result.text


@pytest.mark.parametrize("junk", [
    "<|im_start|>assistant\nHow would you tune it?",
    "<s>[INST] How would you tune it? [/INST]",
    "How would you tune it?<|im_end|>",
    "<|start_header_id|>assistant<|end_header_id|>How would you tune it?",
])
def test_chat_template_junk_is_replaced_and_explained_in_one_sentence(junk, context):
    shown, result, _ = run(junk, context, chunk=r"\S{1,3}")  # tags split across deltas
    assert result.replaced and "template" in result.reason
    assert result.advice == TEMPLATE_ADVICE and "chat template" in TEMPLATE_ADVICE
    assert len(split_sentences(TEMPLATE_ADVICE)) == 1
    assert shown == context.fallback


def test_reading_stops_at_the_question_and_at_the_first_failing_sentence(context):
    tail = " Hint: think about L1 and L2 penalties on the weights and sparsity. " * 20
    shown, result, read = run("How would you set its strength?" + tail, context)
    assert shown == "How would you set its strength?" and result.trimmed
    assert len(read) < 10  # the rest of the model's stream was never read (the caller closes it)
    shown, result, read = run("Great answer! " + "More words here. " * 50, context)
    assert result.replaced and len(read) < 6


def test_the_source_is_closed_when_the_guard_stops_early(context):
    closed = []

    def source():
        try:
            yield "How would you set it? "
            yield "And more."
        finally:
            closed.append(True)

    assert "".join(guard_stream(source(), context=context)) == "How would you set it?"
    assert closed == [True]


def test_abbreviations_and_decimals_do_not_split_sentences(context):
    reply = "With a penalty of e.g. 0.5 on a tiny dataset, what would you expect to see?"
    shown, result, _ = run(reply, context)
    assert not result.replaced, result.reason
    assert split_sentences("One e.g. two. Three?") == ["One e.g. two.", "Three?"]


def test_the_candidates_own_words_and_the_probe_may_be_echoed(question, context):
    # "train it on data" is the candidate's; the probe itself is public (it is what the bank would ask).
    shown, result, _ = run("You mentioned you train it on data. How would you choose how strong the "
                           "regularization should be?", context)
    assert not result.replaced, result.reason


def test_practice_mode_keeps_shape_and_junk_rules_but_allows_feedback(question):
    ctx = GuardContext.for_question(question, mode="practice", fallback="Fallback?", earlier=[question.prompt])
    _, ok, _ = run("Good start. What about L1 and L2 penalties?", ctx)
    assert not ok.replaced, ok.reason
    _, junk, _ = run("<|im_start|>Hi?", ctx)
    assert junk.replaced
    _, lecture, _ = run("One. Two. Three?", ctx)
    assert lecture.replaced
