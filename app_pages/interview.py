"""Interview: choose what to practise, then a chat with the interviewer, then the scored report."""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import streamlit as st

from interviewer.chat import can_transcribe, progress_of
from interviewer.errors import InterviewerError, ModelError
from interviewer.types import Kind
from ui.state import KIND_LABELS, bank_or_stop, current_user, get_app, is_offline, warm_up
from ui.transcript import Reply
from ui.voice import speak, to_speak, voice_toggle

if TYPE_CHECKING:
    from interviewer.bootstrap import App
    from interviewer.session import InterviewSession

# The setup page needs only the bank: the engine, the database and the model client are loaded when an
# interview starts or resumes (a faster first paint), and warmed up in the background meanwhile.

user = current_user()
bank = bank_or_stop()
app: App | None = None  # set by _load_app() once an interview is open or starting


def _load_app() -> App:
    global app
    app = get_app()
    return app


def _open(session: InterviewSession) -> None:
    st.session_state.iid = session.id
    st.query_params["iid"] = session.id


def _session() -> InterviewSession | None:
    """The open interview: from this tab's state, or from the URL after a refresh."""
    iid = st.session_state.get("iid") or st.query_params.get("iid")
    if not iid:
        return None
    _load_app()
    cached = st.session_state.get("session")
    if cached is not None and cached.id == iid:
        return cached
    try:
        session = app.resume(iid, user_id=user)
    except InterviewerError:
        st.query_params.clear()
        st.session_state.pop("iid", None)
        st.warning("That interview could not be found, so a new one can be started.")
        return None
    st.session_state.session = session
    st.session_state.iid = session.id
    return session


def _close() -> None:
    for k in ("iid", "session", "draft", "error"):
        st.session_state.pop(k, None)
    st.query_params.clear()


# --------------------------------------------------------------------------- setup

def render_setup() -> None:
    st.title("Mock interview")
    st.caption("Pick a question, a topic, or a full loop. The interviewer asks, listens and follows up on what "
               "your answer left out; at the end every answer is scored against its rubric.")
    if is_offline():
        st.info("Offline mode: the interviewer asks the bank's scripted follow-ups and scores are an offline "
                "estimate. Connect a model for a live interviewer and an LLM judge.",
                icon=":material/wifi_off:")
        st.page_link("app_pages/settings.py", label="Connect a model in Settings", icon=":material/settings:")
    what = st.radio("What to practise", ["One question", "Random by kind or topic", "A full loop"],
                    horizontal=True, key="setup_what", index=0)
    if what == "One question":
        c1, c2 = st.columns([1, 3])
        kind_label = c1.selectbox("Kind", [KIND_LABELS[k.value] for k in Kind], key="setup_kind")
        kind = next(k for k, v in KIND_LABELS.items() if v == kind_label)
        qs = bank.filter(kind=kind)
        c2.selectbox("Question", qs, format_func=lambda q: f"{q.title} ({q.difficulty})", key="setup_question")
    elif what == "Random by kind or topic":
        c1, c2 = st.columns(2)
        kind_label = c1.selectbox("Kind", ["Any kind"] + [KIND_LABELS[k.value] for k in Kind], key="setup_rkind")
        kind = next((k for k, v in KIND_LABELS.items() if v == kind_label), None)
        c2.selectbox("Topic", ["Any topic"] + bank.topics(kind), key="setup_topic")
    else:
        loops = list(bank.loops.values())
        loop = st.selectbox("Loop", loops, format_func=lambda lp: lp.title, key="setup_loop")
        if loop is not None:
            st.caption(loop.description)
    st.radio("Mode", ["Interview: no feedback until the end", "Practice: hints, live checklist, model answer"],
             key="setup_mode")
    if err := st.session_state.pop("start_error", None):
        st.error(err)
    st.button("Start interview", type="primary", key="start", on_click=_start_from_setup)


def _setup_choice() -> tuple[dict, str]:
    """What the setup widgets say (their values as this run got them, else what render_setup draws by default):
    the plan's criteria and the mode."""
    ss = st.session_state
    plan_kwargs: dict = {}
    what = ss.get("setup_what") or "One question"
    if what == "One question":
        choice = ss.get("setup_question")
        if choice is None:
            label = ss.get("setup_kind") or KIND_LABELS[next(iter(Kind)).value]
            qs = bank.filter(kind=next(k for k, v in KIND_LABELS.items() if v == label))
            choice = qs[0] if qs else None
        if choice is not None:
            plan_kwargs = {"question_id": choice.id}
    elif what == "Random by kind or topic":
        kind_label = ss.get("setup_rkind") or "Any kind"
        topic = ss.get("setup_topic") or "Any topic"
        plan_kwargs = {"kind": next((k for k, v in KIND_LABELS.items() if v == kind_label), None),
                       "topic": None if topic == "Any topic" else topic}
    else:
        loop = ss.get("setup_loop") or next(iter(bank.loops.values()), None)
        if loop is not None:
            plan_kwargs = {"loop": loop.name}
    mode = "practice" if str(ss.get("setup_mode") or "").startswith("Practice") else "interview"
    return plan_kwargs, mode


def _start_from_setup() -> None:
    """Start's on_click: the interview starts before the script runs, so that same run draws it (one script run
    for Start, not the setup page again and then a rerun)."""
    plan_kwargs, mode = _setup_choice()
    try:
        plan = _load_app().plan(user_id=user, **plan_kwargs)
        session = app.start(plan, mode=mode, user_id=user, loop_name=plan_kwargs.get("loop"))
    except InterviewerError as exc:
        st.session_state.start_error = str(exc)
        return
    _open(session)
    st.session_state.session = session
    st.session_state.focus_answer = True


# --------------------------------------------------------------------------- the chat

HINT_LABELS = {"direction": "Nudge", "approach": "Approach", "detailed": "Walkthrough"}
HINT_HELP = {"direction": "Which direction to think in.", "approach": "An approach to follow.",
             "detailed": "A detailed outline of a good answer."}

def render_sidebar(session: InterviewSession):
    """The sidebar, drawn by full runs only. Returns the slot for the token count: the chat fragment fills it
    (an answer reruns only the fragment, and the reply's tokens count at once)."""
    rec = session.record
    with st.sidebar:
        asked, total = session.progress()
        st.markdown(f"**Question {asked} of {total}** \u00b7 {session.mode} mode")
        if total > 1:
            st.progress(asked / total)
        loop = app.bank.loops.get(rec.loop_name) if rec.loop_name else None
        render_timer(session, started=rec.created_at, loop_minutes=loop.minutes if loop else None)
        tokens_slot = st.container()
        voice_toggle()
    return tokens_slot


def render_tokens(session: InterviewSession) -> None:
    rec = session.record
    if app.offline:
        st.caption(":material/toll: offline: no tokens used")
        return
    tokens = rec.prompt_tokens + rec.completion_tokens
    text = f":material/toll: {tokens:,} tokens" + (f" \u00b7 ${rec.cost_usd:.4f}" if rec.cost_usd else " \u00b7 tokens only")
    budget = app.settings.session_budget_tokens
    if budget:  # one element (the count is sent again with every reply)
        st.progress(min(1.0, tokens / budget), text=f"{text} \u00b7 budget {budget:,}")
    else:
        st.caption(text)


@st.fragment(run_every=15)
def render_timer(session: InterviewSession, *, started=None, loop_minutes: int | None = None) -> None:
    """Time on the current question against its budget, and the loop's clock: they inform, never block."""
    t = session.time_status()
    over = " \u2014 over the suggested time, start wrapping up" if t["over"] else ""
    st.caption(f":material/timer: {t['elapsed_min']:.0f} of ~{t['budget_min']} min on this question{over}")
    if loop_minutes and started is not None and not session.finished:
        from datetime import datetime, timezone

        elapsed = (datetime.now(timezone.utc) - started).total_seconds() / 60
        left = loop_minutes - elapsed
        st.progress(min(1.0, max(0.0, elapsed / loop_minutes)),
                    text=f":material/schedule: Loop clock: {elapsed:.0f} of {loop_minutes} min"
                    + (f" \u00b7 {left:.0f} min left" if left >= 0 else f" \u00b7 {-left:.0f} min over"))


def render_practice_tools(session: InterviewSession) -> None:
    from interviewer.session import HINT_LEVELS

    st.markdown("**Hints**, from a nudge to a walkthrough")
    row = st.container(horizontal=True, wrap=True, key="hint_buttons")  # wraps rather than cutting labels
    for level in HINT_LEVELS:
        if row.button(HINT_LABELS[level], key=f"hint_{level}", disabled=session.finished, width="content",
                      help=HINT_HELP[level]):
            session.hint(level)
            st.rerun()
    st.markdown("**Live checklist**")
    for item in session.live_rubric():
        st.markdown(("\u2611 " if item["covered"] else "\u2610 ") + item["label"])
    has_attempt = bool(session.current and session.current.answers)
    if st.button("Show model answer", key="model_answer", disabled=not has_attempt,
                 help="Available after your first attempt at this question."):
        session.model_answer()
        st.rerun()


def render_turns(session: InterviewSession, turns: list[dict] | None = None) -> None:
    for t in session.transcript(record=session.record) if turns is None else turns:
        if t["role"] == "interviewer":
            with st.chat_message("assistant", avatar=":material/record_voice_over:"):
                if t["kind"] == "hint":
                    st.info(t["text"], icon=":material/lightbulb:")
                elif t["kind"] == "model_answer":
                    st.success("**Model answer.** " + t["text"])
                else:
                    st.markdown(t["text"])
        else:
            with st.chat_message("user", avatar=":material/person:"):
                if t["kind"] == "code":
                    run = t.get("run") or {}
                    which = "hidden" if run.get("hidden") else "example"
                    with st.expander(f"Code run: {run.get('passed', 0)} of {run.get('total', 0)} {which} tests passed"):
                        st.code(t["text"], language="python")
                else:
                    st.markdown(t["text"])


STREAM_UPDATE_S = 0.1  # the streamed reply is redrawn at most this often (and once at the end)


def _write_stream(chunks: Iterator[str]) -> str:
    """st.write_stream for text: one markdown element redrawn at most every STREAM_UPDATE_S, so a reply is a
    handful of messages to the browser, not one per token (and no pandas import on the first reply, which
    st.write_stream does to check for data frames)."""
    slot = st.empty()
    text, shown, shown_at = "", None, 0.0
    for chunk in chunks:
        text += chunk
        if time.monotonic() - shown_at >= STREAM_UPDATE_S:
            slot.markdown(text)
            shown, shown_at = text, time.monotonic()
    if text != shown:
        slot.markdown(text)
    return text


def _stream(gen) -> None:
    """Show the interviewer's reply as it streams. The bubble opens with the first token, so an
    empty reply (or an error before any text) never flashes an empty bubble."""
    from interviewer.session import SessionError

    try:
        first = next(gen, None)
    except (ModelError, SessionError) as exc:
        st.session_state.error = str(exc)
        return
    if first is None:
        return
    with st.chat_message("assistant", avatar=":material/record_voice_over:"):
        try:
            _write_stream(itertools.chain([first], gen))
            st.session_state.pop("error", None)
        except ModelError as exc:
            st.session_state.error = str(exc)
        except SessionError as exc:
            st.session_state.error = str(exc)


def render_error_and_retry(session: InterviewSession) -> None:
    err = st.session_state.get("error")
    if session.pending is not None:
        st.error(err or "The interviewer's reply to your last answer did not arrive. Your answer is saved.",
                 icon=":material/error:")
        c1, c2 = st.columns(2)
        if c1.button("Retry", type="primary", key="retry"):
            _stream(session.retry())
            st.rerun()
        if c2.button("Continue with the scripted follow-up", key="continue_offline"):
            _stream(session.continue_offline())
            st.rerun()
    elif err:
        st.error(err, icon=":material/error:")
    if session.model_advice:  # e.g. the server sends raw chat-template text: how to start it properly
        st.warning(session.model_advice, icon=":material/build:")


def read_input(session: InterviewSession) -> Reply | None:
    """The chat input (pinned to the bottom). Returns the sent answer and the reply to stream after the
    transcript, or None.

    The answer is saved before the transcript is drawn; its row joins the transcript read at the top of the run.
    """
    audio_ok = can_transcribe(app.interviewer_model)  # only when the server offers speech-to-text
    # st.bottom: pinned to the bottom of the page, as a chat input in the main body is (called from inside the
    # chat fragment it would otherwise sit inline, where the fragment is).
    value = st.bottom.chat_input("Your answer (Enter to send, Shift+Enter for a new line)", key="answer",
                          submit_mode="disable", accept_audio=audio_ok,
                          disabled=session.finished or session.pending is not None
                          or st.session_state.get("draft") is not None)
    if not value:
        return None
    text = value if isinstance(value, str) else (value.text or "")
    audio = None if isinstance(value, str) else getattr(value, "audio", None)
    if audio is not None and not text.strip():
        try:
            st.session_state.draft = app.interviewer_model.transcribe(audio.getvalue(), "answer.wav")
        except ModelError as exc:
            st.session_state.error = f"{exc} Type your answer instead."
        return None
    return _submit(session, text)


def render_draft(session: InterviewSession) -> Reply | None:
    """A spoken answer's transcript, editable before it is sent."""
    draft = st.session_state.get("draft")
    if draft is None:
        return None
    refused = st.session_state.get("draft_note")
    st.markdown(refused or "**Your spoken answer, transcribed.** Edit it, then send.")
    text = st.text_area("Your answer" if refused else "Your spoken answer", value=draft, key="draft_text",
                        height=220)
    c1, c2 = st.columns(2)
    if c2.button("Discard", key="discard_draft"):
        for k in ("draft", "draft_note", "error"):
            st.session_state.pop(k, None)
        st.rerun()
    if c1.button("Send answer", type="primary", key="send_draft"):
        st.session_state.pop("draft", None)
        return _submit(session, text)
    return None


def _submit(session: InterviewSession, text: str) -> Reply | None:
    qid = session.current.question.id if session.current else ""
    try:
        gen = session.submit(text)
    except InterviewerError as exc:  # a refused answer, or the database did not respond
        st.session_state.error = str(exc)
        if text.strip():  # nothing typed is lost: the refused answer comes back for editing
            st.session_state.draft = text
            st.session_state.draft_note = "**Your answer was not sent.** Edit it below, then send."
        return None
    for k in ("error", "draft_note"):
        st.session_state.pop(k, None)
    return Reply({"role": "candidate", "kind": "answer", "question_id": qid, "text": text.strip()}, gen)


def render_report(session: InterviewSession) -> None:
    from ui.report import render_results

    render_results(session.record, bank, title="Your report", key="r")


def _new_interview(session: InterviewSession) -> None:
    """Back to the setup. An interview with an answer stays saved (Review lists it); one nobody answered is
    dropped, so it never clutters Review (the store deletes only an interview without a candidate turn)."""
    app.store.discard_unanswered(user_id=user, interview_id=session.id)
    _close()


def _answered(session: InterviewSession) -> bool:
    return any(t.role == "candidate" for t in session.record.turns)


def render_actions(session: InterviewSession) -> None:
    """End and score, New interview: drawn by full runs only. An answer reruns only the chat fragment, so these
    are the same before and after any answer, and are not sent again with every turn."""
    if session.status == "scored":
        if st.button("New interview", key="new_interview", icon=":material/add:"):
            _close()
            st.rerun()
        return
    row = st.container(horizontal=True)  # one block, not a row of two columns: fewer messages per full run
    slot = row.empty()
    if slot.button("End and score", type="primary", key="end_score"):
        if not _answered(session):
            st.info("Nothing to score yet: answer the question first.", icon=":material/info:")
        else:
            slot.empty()  # the button goes away at once: this interview is being scored
            with st.status("Scoring your answers\u2026", expanded=True) as status:
                def progress(i, n, question):
                    status.write(f"Scoring {i + 1} of {n}: {question.title}")
                elapsed = st.empty()
                try:
                    with progress_of(app.judge_model, lambda s, _: elapsed.caption(f"Judging\u2026 {s:.0f} s")):
                        session.score(on_progress=progress)
                    status.update(label="Scored", state="complete", expanded=False)
                except InterviewerError as exc:
                    status.update(label="Scoring failed", state="error")
                    st.error(f"{exc} Your transcript is saved; try scoring again.")
    if row.button("New interview", key="new_interview", icon=":material/add:",
                 help="Choose another interview. This one stays in Review if you answered anything; "
                      "with no answer it is dropped."):
        _new_interview(session)
        st.rerun()


def _focus_answer_box() -> None:
    """After Start, the cursor waits in the answer box (not on the page body)."""
    st.html("""<script>(() => { let n = 0; const t = setInterval(() => {
        const box = window.parent.document.querySelector('[data-testid=stChatInputTextArea]')
                 || document.querySelector('[data-testid=stChatInputTextArea]');
        if (box) { box.focus(); clearInterval(t); } else if (++n > 50) clearInterval(t); }, 100); })();</script>""",
            unsafe_allow_javascript=True)


def _drawn_state(session: InterviewSession) -> tuple:
    """What the page draws above a streamed reply depends on: the question (title line, layout, folded
    earlier questions) and whether the answer box takes an answer."""
    return (len(session.states), session.finished, session.pending is not None, session.status,
            st.session_state.get("draft") is not None)


def render_interview(session: InterviewSession) -> None:
    """The open interview: the sidebar and the title line with the actions (full runs only), then the interview
    itself as a fragment."""
    tokens_slot = render_sidebar(session)
    head, actions = st.columns([3, 2])
    head.subheader(session.record.title)
    q = session.current.question if session.current else None
    if q is not None:
        asked, total = session.progress()
        where = f"Question {asked} of {total} \u00b7 " if total > 1 else ""
        head.caption(f"{where}{KIND_LABELS[q.kind.value]} \u00b7 {q.difficulty} \u00b7 ~{q.time_budget_min} min")
    with actions:
        render_actions(session)  # scoring runs here: the body below then shows the report
    drawn = 0
    if session.status != "scored" and _layout(session) == "chat":
        # The transcript so far, drawn here and not by the fragment: an answer then sends only the turns since
        # this run (in a loop, not every earlier question again with each answer).
        turns = session.transcript(record=session.record)
        render_transcript(session, turns)
        drawn = len(turns)
    st.session_state.drawn_turns = (session.id, drawn)
    interview_body(session, tokens_slot)


def _layout(session: InterviewSession) -> str:
    """"coding" (chat beside the editor), "practice" (chat beside the tools) or "chat" (the chat alone)."""
    q = session.current.question if session.current else None
    if q is not None and q.coding is not None:
        return "coding"
    return "practice" if session.mode == "practice" else "chat"


def render_transcript(session: InterviewSession, turns: list[dict]) -> None:
    """The transcript. In a loop, earlier questions fold away: the current question sits at the top, level with
    its editor and tools, instead of thousands of pixels below them."""
    current_from = max((i for i, t in enumerate(turns) if t["kind"] == "question"), default=0)
    earlier, now = turns[:current_from], turns[current_from:]
    if earlier:
        n = sum(1 for t in earlier if t["kind"] == "question")
        with st.expander(f"Earlier in this loop: {n} question(s)", icon=":material/history:"):
            render_turns(session, earlier)
    render_turns(session, now)


@st.fragment
def interview_body(session: InterviewSession, tokens_slot) -> None:
    """Everything of the interview below its title line, but the sidebar. A fragment: an answer (or a hint, a
    code run) reruns only this, not the page's navigation, sidebar and title line; what this draws outside it
    (the answer box in st.bottom, the token count in the sidebar) is redrawn with it. A change to what is drawn
    outside (a new question, the end of the interview) reruns the whole page."""
    drawn = _drawn_state(session)  # what the title line, the sidebar and the answer box are drawn with
    turns = session.transcript(record=session.record)
    if session.status == "scored":
        render_report(session)  # scoring may have just run: the session re-read the results and the judge's tokens
        with st.expander("Transcript"):
            render_turns(session, turns)
        with tokens_slot:
            render_tokens(session)  # the judge's tokens are counted
        return

    reply = read_input(session)
    if reply is not None:  # the answer is saved (in the store and the session): the transcript below shows it
        turns = [*turns, reply.answer]
    if st.session_state.pop("focus_answer", False):
        _focus_answer_box()
    layout = _layout(session)
    practice, coding = session.mode == "practice", layout == "coding"
    if coding:
        chat_col, side_col = st.columns([1, 1])
    elif practice:
        chat_col, side_col = st.columns([2, 1])
    else:
        chat_col, side_col = contextlib.nullcontext(), None  # the fragment's own container: one block less per turn
    with chat_col:
        shown_id, shown = st.session_state.get("drawn_turns", (None, 0))
        if layout == "chat" and shown_id == session.id:
            render_turns(session, turns[shown:])  # the turns since the last full run (it drew the ones before)
        else:
            render_transcript(session, turns)
        drafted = render_draft(session)
        if drafted is not None or reply is not None:
            _stream(drafted.stream if drafted is not None else reply.stream)
            # One script run per turn: what is drawn above the reply is still right after an ordinary
            # follow-up, so only the parts below it are drawn with the new state. A new question, the end of
            # the interview, a failed reply or a sent draft change more of what is above (the title line,
            # the sidebar): draw the whole page again.
            if drafted is not None or _drawn_state(session) != drawn or st.session_state.get("error"):
                st.rerun()
            turns = session.transcript(record=session.record)  # the reply, for voice out
        render_error_and_retry(session)
        if session.finished:
            st.success("The interview is over. Choose \u201cEnd and score\u201d for your report.")
    if side_col is not None:
        with side_col:
            if coding:
                from ui.code_panel import render_code_panel

                render_code_panel(session, app, stream=_stream)
            if practice:
                render_practice_tools(session)
    with tokens_slot:
        render_tokens(session)  # the reply's tokens
    if st.session_state.get("voice_out"):
        speak(to_speak(session.id, turns))


session = _session()
if session is None:
    render_setup()
    warm_up()
else:
    render_interview(session)
