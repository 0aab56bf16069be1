"""Review: saved interviews, filterable; open one to read it and its report; export, delete, resume."""

from __future__ import annotations

from datetime import date, timedelta

import streamlit as st

from interviewer.report import export
from ui.report import render_results
from ui.state import KIND_LABELS, current_user, get_app

user = current_user()
app = get_app()
bank = app.bank

st.title("Review")
records = app.store.list(user_id=user)
if not records:
    st.info("No saved interviews yet. Start one on the Interview page: every turn is saved as you go.")
    st.stop()


def kinds_of(rec) -> set[str]:
    out = set()
    for qid in rec.plan:
        try:
            out.add(bank.get(qid).kind.value)
        except Exception:  # noqa: BLE001 - a question removed from the bank since
            pass
    return out


c1, c2, c3 = st.columns(3)
kind_filter = c1.multiselect("Kind", list(KIND_LABELS), format_func=KIND_LABELS.get, key="rev_kind")
oldest = min(r.created_at.date() for r in records)
dates = c2.date_input("Dates", value=(oldest, date.today() + timedelta(days=1)), key="rev_dates")
score_range = c3.slider("Score", 0, 100, (0, 100), key="rev_score")

rows = []
for r in records:
    if kind_filter and not (kinds_of(r) & set(kind_filter)):
        continue
    if isinstance(dates, tuple) and len(dates) == 2 and not (dates[0] <= r.created_at.date() <= dates[1]):
        continue
    if r.overall_score is not None and not (score_range[0] <= r.overall_score <= score_range[1]):
        continue
    if r.overall_score is None and score_range != (0, 100):
        continue
    rows.append(r)

st.caption(f"{len(rows)} of {len(records)} interview(s)")
st.dataframe(
    [{"Date": r.created_at.strftime("%Y-%m-%d %H:%M"), "Title": r.title, "Mode": r.mode, "Status": r.status,
      "Score": r.overall_score} for r in rows],
    hide_index=True, width="stretch",
)
if not rows:
    st.stop()

labels = {r.id: f"{r.created_at:%Y-%m-%d %H:%M} \u00b7 {r.title} \u00b7 {r.status}" for r in rows}
chosen = st.selectbox("Open", [r.id for r in rows], format_func=labels.get, key="rev_open")
rec = app.store.get(chosen, user_id=user)

a1, a2, a3, a4 = st.columns(4)
a1.download_button("Export Markdown", export(rec, "md"), file_name=f"interview-{rec.id[:8]}.md",
                   mime="text/markdown", key="dl_md")
a2.download_button("Export JSON", export(rec, "json"), file_name=f"interview-{rec.id[:8]}.json",
                   mime="application/json", key="dl_json")
if rec.status == "active":
    if a3.button("Resume", type="primary", key="resume"):
        st.session_state.iid = rec.id
        st.session_state.pop("session", None)
        st.query_params["iid"] = rec.id
        st.switch_page("app_pages/interview.py", query_params={"iid": rec.id})


if a4.button("Delete", key="delete"):
    st.session_state.confirm_delete = rec.id
if st.session_state.get("confirm_delete") == rec.id:
    st.warning(f"Delete \u201c{rec.title}\u201d and its scores for good?")
    y, n = st.columns(2)
    if y.button("Yes, delete", type="primary", key="confirm_delete_yes"):
        app.store.delete(rec.id, user_id=user)
        for k in ("iid", "session", "confirm_delete"):
            st.session_state.pop(k, None)
        st.query_params.clear()
        st.rerun()
    if n.button("Cancel", key="confirm_delete_no"):
        st.session_state.pop("confirm_delete", None)
        st.rerun()

if rec.results:
    render_results(rec, bank, title="Report", key="rev")

st.subheader("Transcript")
for t in rec.turns:
    role = "assistant" if t.role == "interviewer" else "user"
    with st.chat_message(role, avatar=":material/record_voice_over:" if role == "assistant" else ":material/person:"):
        if t.kind == "code":
            st.code(t.text, language="python")
        else:
            st.markdown(t.text)
