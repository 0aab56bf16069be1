"""Question bank: search every question the way people type it, practise any of them in one click;
rubrics and reference answers behind a reveal; the guide's tips and frameworks in their own tab."""

from __future__ import annotations

import streamlit as st

from interviewer.types import Kind
from ui.state import bank_or_stop, search_index, start_and_open

KIND_LABELS = {
    Kind.technical: "Technical",
    Kind.coding: "Coding",
    Kind.system_design: "System design",
    Kind.behavioral: "Behavioral",
}

bank = bank_or_stop()
st.title("Question bank")
st.caption(f"{len(bank.questions)} questions from the ML/AI interview guide and beyond.")

questions_tab, guide_tab = st.tabs(["Questions", "Tips and frameworks"])

with questions_tab:
    search = st.text_input("Search", placeholder="e.g. knn, cold start, transformer, drift, STAR",
                           key="bank_search", help="Finds titles, prompts, topics and rubric items; "
                           "knows acronyms (knn, RAG, CNN), phrases and small typos.")
    c1, c2 = st.columns(2)
    kind_choice = c1.selectbox("Kind", ["All kinds"] + [KIND_LABELS[k] for k in Kind], key="bank_kind")
    kind = next((k for k, v in KIND_LABELS.items() if v == kind_choice), None)
    topic_choice = c2.selectbox("Topic", ["All topics"] + bank.topics(kind), key="bank_topic")
    topic = None if topic_choice == "All topics" else topic_choice

    among = [q.id for q in bank.filter(kind=kind, topic=topic)]
    hits = search_index().search(search or "", among=among)
    partial = False
    if search.strip() and not hits:
        hits = search_index().search(search, among=among, partial=True)
        partial = bool(hits)
    if partial:
        st.caption(f"No question matches every word of \u201c{search}\u201d; the closest **{len(hits)}**:")
    elif search.strip() and not hits:
        st.info(f"Nothing matches \u201c{search}\u201d. Try fewer words, or clear the Kind and Topic filters.")
    else:
        st.write(f"**{len(hits)}** matching question(s)")

    for hit in hits:
        q = hit.question
        with st.expander(f"{q.title}  \u00b7  {KIND_LABELS[q.kind]} \u00b7 {q.difficulty}"):
            if q.subtitle:
                st.caption(q.subtitle)
            st.markdown(q.prompt)
            st.caption("Topics: " + ", ".join(q.topics) + f"  \u00b7  about {q.time_budget_min} min")
            if st.button("Practise this", key=f"practise_{q.id}", type="primary", icon=":material/play_arrow:",
                         help="Start a practice interview on this question: hints, live checklist, model answer."):
                start_and_open([q.id], mode="practice")
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

with guide_tab:
    if bank.guide is None:
        st.info("This bank has no guide file (guide.yaml).")
    else:
        st.subheader("Interview tips")
        for tip in bank.guide.tips:
            with st.container(border=True):
                st.markdown(f"**{tip.title}**\n\n{tip.text}")
        st.subheader("Behavioral frameworks")
        for fw in bank.guide.frameworks:
            with st.expander(fw.title, expanded=len(bank.guide.frameworks) == 1):
                st.caption(fw.description)
                st.markdown(fw.text)
                for p in fw.principles:
                    st.markdown(f"- **{p.name}**: {p.ml_example}")
