"""Progress: score over time by kind, and the rubric items missed most often, each a one-click drill."""

from __future__ import annotations

from collections import Counter, defaultdict

import altair as alt
import pandas as pd
import streamlit as st

from ui.charts import time_axis
from ui.state import KIND_LABELS, current_user, get_app, start_and_open

user = current_user()
app = get_app()
bank = app.bank

st.title("Progress")
results = app.store.results_for_user(user)
if not results:
    st.info("No scored answers yet. Finish an interview with \u201cEnd and score\u201d to see your progress here.")
    st.stop()

assisted = [r for r in results if r.get("assisted")]  # hints or the model answer were used: shown apart
results = [r for r in results if not r.get("assisted")]
if not results:
    st.info("Every scored answer so far used hints or the model answer, so there is no unassisted trend yet.")
else:
    frame = pd.DataFrame([{"when": pd.Timestamp(r["created_at"]), "kind": KIND_LABELS.get(r.get("kind", ""), "Other"),
                           "score": r["score"], "question": r.get("title", r["question_id"])} for r in results])
if results:
    st.subheader("Score over time")
    st.caption("Unassisted answers only: answers given after a hint or the model answer are listed below.")
if results:
    chart = (
        alt.Chart(frame)
        .mark_line(point=alt.OverlayMarkDef(size=70))
        .encode(x=alt.X("when:T", title=None, axis=time_axis(frame["when"])),
                y=alt.Y("score:Q", scale=alt.Scale(domain=[0, 100]), title="score",
                        axis=alt.Axis(values=[0, 25, 50, 75, 100])),
                color=alt.Color("kind:N", title=None, legend=alt.Legend(orient="bottom", direction="horizontal")),
                tooltip=[alt.Tooltip("when:T", format="%b %d %H:%M"), "kind:N", "question:N", "score:Q"])
        .properties(height=280)
    )
    st.altair_chart(chart, width="stretch")
    c = st.columns(len(KIND_LABELS))
    for col, (kind, label) in zip(c, KIND_LABELS.items()):
        scores = [r["score"] for r in results if r.get("kind") == kind]
        col.metric(label, f"{sum(scores) / len(scores):.0f}" if scores else "\u2014",
                   help=f"average of {len(scores)} answer(s)")
if assisted:
    with st.expander(f"Assisted answers ({len(assisted)}): hints or the model answer were used", icon=":material/lightbulb:"):
        st.dataframe(pd.DataFrame([{"when": pd.Timestamp(r["created_at"]), "question": r.get("title", r["question_id"]),
                                    "score": r["score"], "help used": ", ".join(r["assisted"])} for r in assisted]),
                     hide_index=True, width="stretch")
results = results + assisted  # the misses below count every answer


def drill_questions(label: str, missed_in: set[str]) -> list[str]:
    """Questions whose rubric carries `label`: ones not practised yet first, then the ones it was missed in."""
    key = label.strip().lower()
    carriers = [q.id for q in bank.questions.values() if any(i.label.strip().lower() == key for i in q.rubric)]
    fresh = [q for q in carriers if q not in missed_in]
    return (fresh + sorted(q for q in missed_in if q in bank.questions))[:3]


st.subheader("Most often missed")
st.caption("Practice this starts a practice interview straight away on questions that test the item, "
           "new ones first.")
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
    qids = drill_questions(label, carriers[label])
    with st.container(border=True):
        left, right = st.columns([4, 1], vertical_alignment="center")
        titles = ", ".join(bank.get(q).title for q in sorted(carriers[label]) if q in bank.questions)
        left.markdown(f"**{label}** \u2014 missed {count} time(s)  \n:gray[{titles}]")
        if right.button("Practice this", key=f"drill_{i}", disabled=not qids, type="primary",
                        icon=":material/fitness_center:", width="stretch"):
            start_and_open(qids, mode="practice", title=f"Drill: {label}")
