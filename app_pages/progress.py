"""Progress: score over time by kind, and the rubric items missed most often, each with a drill."""

from __future__ import annotations

from collections import Counter, defaultdict

import altair as alt
import pandas as pd
import streamlit as st

from ui.state import KIND_LABELS, current_user, get_app

user = current_user()
app = get_app()
bank = app.bank

st.title("Progress")
results = app.store.results_for_user(user)
if not results:
    st.info("No scored answers yet. Finish an interview with \u201cEnd and score\u201d to see your progress here.")
    st.stop()

frame = pd.DataFrame([{"when": pd.Timestamp(r["created_at"]), "kind": KIND_LABELS.get(r.get("kind", ""), "Other"),
                       "score": r["score"]} for r in results])
st.subheader("Score over time")
chart = (
    alt.Chart(frame)
    .mark_line(point=alt.OverlayMarkDef(size=60))
    .encode(x=alt.X("when:T", title="date", axis=alt.Axis(format="%b %d", tickCount=6)),
            y=alt.Y("score:Q", scale=alt.Scale(domain=[0, 100]), title="score"),
            color=alt.Color("kind:N", title=None), tooltip=["when:T", "kind:N", "score:Q"])
    .properties(height=300)
)
st.altair_chart(chart, width="stretch")
c = st.columns(len(KIND_LABELS))
for col, (kind, label) in zip(c, KIND_LABELS.items()):
    scores = [r["score"] for r in results if r.get("kind") == kind]
    col.metric(label, f"{sum(scores) / len(scores):.0f}" if scores else "\u2014",
               help=f"average of {len(scores)} answer(s)")

st.subheader("Most often missed")
missed: Counter = Counter()
carriers: dict[str, set[str]] = defaultdict(set)
for r in results:
    for item in r.get("items", []):
        if not item["covered"]:
            missed[item["label"]] += 1
            carriers[item["label"]].add(r["question_id"])
if not missed:
    st.success("Nothing missed so far.")
for i, (label, count) in enumerate(missed.most_common(10)):
    left, right = st.columns([4, 1])
    qids = sorted(q for q in carriers[label] if q in bank.questions)
    left.markdown(f"**{label}** \u2014 missed {count} time(s) \u00b7 {', '.join(bank.get(q).title for q in qids[:2])}")
    if right.button("Practice this", key=f"drill_{i}", disabled=not qids):
        st.session_state.drill = {"label": label, "questions": qids}
        for k in ("iid", "session"):
            st.session_state.pop(k, None)
        st.switch_page("app_pages/interview.py")
