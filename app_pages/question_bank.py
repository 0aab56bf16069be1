"""Question bank: browse and search every question; rubrics and reference answers behind a reveal."""

from __future__ import annotations

import streamlit as st

from interviewer.types import Kind
from ui.state import bank_or_stop

KIND_LABELS = {
    Kind.technical: "Technical",
    Kind.coding: "Coding",
    Kind.system_design: "System design",
    Kind.behavioral: "Behavioral",
}

bank = bank_or_stop()
st.title("Question bank")
st.caption(f"{len(bank.questions)} questions from the ML/AI interview guide and beyond.")

c1, c2, c3 = st.columns([1, 1, 2])
kind_choice = c1.selectbox("Kind", ["All kinds"] + [KIND_LABELS[k] for k in Kind], key="bank_kind")
kind = next((k for k, v in KIND_LABELS.items() if v == kind_choice), None)
topic_choice = c2.selectbox("Topic", ["All topics"] + bank.topics(kind), key="bank_topic")
topic = None if topic_choice == "All topics" else topic_choice
search = c3.text_input("Search", placeholder="e.g. transformer, drift, STAR", key="bank_search")

questions = bank.filter(kind=kind, topic=topic, text=search or None)
st.write(f"**{len(questions)}** matching question(s)")

for q in questions:
    with st.expander(f"{q.title}  \u00b7  {KIND_LABELS[q.kind]} \u00b7 {q.difficulty}"):
        if q.subtitle:
            st.caption(q.subtitle)
        st.markdown(q.prompt)
        st.caption("Topics: " + ", ".join(q.topics) + f"  \u00b7  about {q.time_budget_min} min")
        for tip in q.coaching:
            st.info(tip, icon=":material/lightbulb:")
        if st.toggle("Reveal rubric and reference answer", key=f"reveal_{q.id}"):
            st.markdown("**Rubric**")
            for item in q.rubric:
                prefix = "\u2717 " if item.kind == "misconception" else "\u2610 "
                st.markdown(f"{prefix}**{item.label}** ({item.kind}, weight {item.weight:g}): {item.covered_when}")
            st.markdown("**Reference answer**")
            st.markdown(q.reference_answer)
            st.markdown("**Follow-up probes**")
            for p in q.probes:
                st.markdown(f"- {p.text}")

if bank.guide is not None:
    st.divider()
    st.subheader("Interview tips")
    cols = st.columns(len(bank.guide.tips))
    for col, tip in zip(cols, bank.guide.tips):
        col.markdown(f"**{tip.title}**\n\n{tip.text}")
    st.subheader("Behavioral frameworks")
    for fw in bank.guide.frameworks:
        with st.expander(fw.title):
            st.caption(fw.description)
            st.markdown(fw.text)
            for p in fw.principles:
                st.markdown(f"- **{p.name}**: {p.ml_example}")
