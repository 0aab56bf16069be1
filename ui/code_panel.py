"""The coding panel: an editor beside the chat, Run (example tests) and Submit (hidden tests) in the sandbox."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from interviewer.bootstrap import App
from interviewer.errors import InterviewerError
from interviewer.grading import RunReport
from interviewer.session import InterviewSession
from ui.editor_style import code_editor_css

EDITOR_KEYS = (Path(__file__).resolve().parent / "editor.js").read_text(encoding="utf-8")

STATUS_ICON = {"pass": ":material/check_circle:", "fail": ":material/cancel:", "error": ":material/error:",
               "timeout": ":material/timer_off:", "not_run": ":material/block:"}


def render_code_panel(session: InterviewSession, app: App, *, stream) -> None:
    q = session.current.question
    spec = q.coding
    st.markdown(f"**Editor** \u00b7 `{spec.signature}`")
    with st.expander("Specification", expanded=False):
        st.markdown(spec.statement)
    key = f"code_{session.id}_{q.id}"
    if key not in st.session_state:
        st.session_state[key] = session.current.code or spec.starter_code
    st.markdown(code_editor_css(), unsafe_allow_html=True)
    with st.container(key="code_editor"):  # line numbers, no soft wrap (ui/editor_style.py)
        code = st.text_area("Your solution (Python)", key=key, height=340, label_visibility="collapsed")
    st.caption("Tab indents, Shift+Tab dedents, Enter keeps the indentation; Esc then Tab leaves the editor.")
    st.html(f"<script>{EDITOR_KEYS}</script>", unsafe_allow_javascript=True)
    problem = app.runner.problem()
    if problem:
        st.error(problem)  # fail closed: one plain sentence, no Run button that would run code unsandboxed
        return
    c1, c2 = st.columns(2)
    run = c1.button("Run example tests", key="run_code", icon=":material/play_arrow:", disabled=session.finished)
    submit = c2.button("Submit (hidden tests)", key="submit_code", icon=":material/send:", type="primary",
                       disabled=session.finished)
    if run or submit:
        which = "hidden" if submit else "visible"
        try:
            with st.spinner("Running your code in the sandbox\u2026"):
                outcome = session.run_code(code, hidden=submit)
            st.session_state[f"{key}_report"] = (which, outcome.report)
            stream(outcome.reply)
        except InterviewerError as exc:
            st.session_state.error = str(exc)
        st.rerun()
    render_submissions(session, key)
    shown = st.session_state.get(f"{key}_report")
    if shown:
        which, report = shown
        _render_report(which, report)


def submissions(turns: list[dict], question_id: str) -> list[dict]:
    """This question's submissions (runs of the hidden tests), oldest first: code, passed, total."""
    return [{"code": t["text"], **t["run"]} for t in turns
            if t["kind"] == "code" and t["question_id"] == question_id and t.get("run") and t["run"]["hidden"]]


def best_and_last(subs: list[dict]) -> tuple[dict | None, dict | None]:
    """The best submission (most hidden tests passed; the later one on a tie) and the last one."""
    if not subs:
        return None, None
    best = max(reversed(subs), key=lambda s: s["passed"] / s["total"] if s["total"] else 0.0)
    return best, subs[-1]


def render_submissions(session: InterviewSession, key: str) -> None:
    """Best and last submission side by side, and which one the report scores."""
    best, last = best_and_last(submissions(session.transcript(record=session.record), session.current.question.id))
    if last is None:
        return
    with st.container(border=True, key="submissions"):
        c1, c2 = st.columns(2)
        c1.metric("Last submission", f"{last['passed']}/{last['total']}", help="hidden tests passed")
        c2.metric("Best submission", f"{best['passed']}/{best['total']}", help="hidden tests passed")
        if best is not last and best["passed"] * last["total"] > last["passed"] * best["total"]:
            st.info("The report counts your **best** run of the hidden tests; your last one passes fewer.",
                    icon=":material/info:")

            def restore() -> None:
                st.session_state[key] = best["code"]

            st.button("Put the best back in the editor", key="restore_best", on_click=restore,
                      icon=":material/undo:")
        else:
            st.caption("The report counts your best run of the hidden tests; here it is also your last.")


def _render_report(which: str, report: RunReport) -> None:
    total = report.passed + report.failed
    label = "Hidden tests" if which == "hidden" else "Example tests"
    if report.violations:
        for v in report.violations:
            st.error(v)
    if report.error:
        st.error(report.error)
    st.markdown(f"**{label}: {report.passed} of {total} passed**")
    for t in report.tests:
        detail = f" \u2014 {t.message}" if t.message and t.status != "pass" else ""
        st.markdown(f"{STATUS_ICON[t.status]} `{t.name}` {t.status}{detail}")
    if report.stdout.strip() and which != "hidden":  # hidden tests' inputs stay hidden
        with st.expander("Output"):
            st.code(report.stdout[-4000:], language=None)
    if report.isolation.sandboxed:
        st.caption(f":material/shield: {report.isolation.summary}")
    else:
        st.warning(report.isolation.summary, icon=":material/warning:")
