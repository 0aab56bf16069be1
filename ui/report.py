"""The scored report: score and band, every rubric item with its evidence highlighted in the
candidate's own words, the STAR breakdown, design coverage, feedback and the model answer."""

from __future__ import annotations

import html

import streamlit as st

from interviewer.bank import Bank
from interviewer.types import Score

BAND_COLOURS = {"zero": "red", "weak": "orange", "partial": "blue", "strong": "green"}
DEPTH_VALUE = {"missing": 0, "named": 1, "explained": 2}


def highlight(answer: str, spans: list[tuple[int, int, str]]) -> str:
    """The answer as HTML with each evidence span wrapped in <mark> (escaped; overlapping spans merged)."""
    spans = sorted((s, e, label) for s, e, label in spans if 0 <= s < e <= len(answer))
    merged: list[list] = []
    for s, e, label in spans:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
            merged[-1][2] += f"; {label}"
        else:
            merged.append([s, e, label])
    out, pos = [], 0
    for s, e, label in merged:
        out.append(html.escape(answer[pos:s]))
        out.append(f'<mark class="evidence" title="{html.escape(label)}">{html.escape(answer[s:e])}</mark>')
        pos = e
    out.append(html.escape(answer[pos:]))
    return "".join(out).replace("\n", "<br>")


def score_from_result(result: dict) -> Score:
    return Score.model_validate(result["full"])


def render_score(score: Score, bank: Bank, *, key: str) -> None:
    q = bank.get(score.question_id)
    colour = BAND_COLOURS[score.band]
    st.markdown(f"### {q.title}")
    c1, c2, c3 = st.columns([1, 1, 2])
    c1.metric("Score", f"{score.score}/100")
    c2.markdown(f"**Band**  \n:{colour}-badge[{score.band}]")
    with c3:
        if score.estimate:
            st.markdown(":orange-badge[Offline estimate] scored by the deterministic rubric matcher")
        else:
            st.markdown(f":green-badge[LLM judge] {score.model or ''}, every quote checked against your words")
        if score.fallback_reason:
            st.caption(score.fallback_reason)
        if score.flags:
            st.markdown("Flags: " + " ".join(f":red-badge[{f.replace('_', ' ')}]" for f in score.flags))
    if score.tests is not None:
        t = score.tests
        if t["submitted"]:
            st.progress(t["passed"] / t["total"], text=f"Hidden tests passed: {t['passed']} of {t['total']}")
        else:
            st.warning("No solution was submitted against the hidden tests.")

    st.markdown("**Checklist**")
    for item in score.items:
        mark = ":material/check_circle:" if item.covered else ":material/radio_button_unchecked:"
        depth = " (named, not explained)" if item.depth == "named" else ""
        line = f"{mark} **{item.label}**{depth}"
        if item.evidence:
            line += f"  \n\u2003\u201c_{item.evidence.strip()}_\u201d"
        elif item.note:
            line += f"  \n\u2003_{item.note}_"
        st.markdown(line)
    for m in score.misconceptions:
        if m.covered:
            st.markdown(f":material/error: **{m.label}**  \n\u2003\u201c_{(m.evidence or '').strip()}_\u201d")

    if score.answer.strip():
        spans = [(i.mark_start if i.mark_start is not None else i.start,
                  i.mark_end if i.mark_end is not None else i.end, i.label)
                 for i in score.items if i.covered and i.start is not None]
        st.markdown("**Your answer, with the evidence highlighted**")
        st.markdown(f'<div class="answer-box">{highlight(score.answer, spans)}</div>', unsafe_allow_html=True)

    if score.star is not None:
        star = score.star
        st.markdown("**STAR breakdown**")
        cols = st.columns(4)
        for col, part in zip(cols, ("situation", "task", "action", "result")):
            p = getattr(star, part)
            col.markdown(f"{':material/check_circle:' if p.present else ':material/cancel:'} **{part.title()}**")
            if p.evidence:
                col.caption(f"\u201c{p.evidence[:160]}\u201d")
        facts = [
            f"Quantified result: {'yes' if star.quantified_result else 'no'}",
            f"Ownership: {star.ownership.replace('_', ' ')} (I: {star.i_count}, we: {star.we_count})",
            f"Length: {star.word_count} words ({star.length_band.replace('_', ' ')}; aim for 1\u20132 minutes spoken)",
        ]
        if star.principles:
            facts.append("Leadership principles shown: " + ", ".join(star.principles))
        st.caption(" \u00b7 ".join(facts))

    if score.design:
        st.markdown("**Design coverage** (0 missing, 1 named, 2 explained)")
        import altair as alt  # imported here: only design reports need charts (keeps cold start fast)
        import pandas as pd

        frame = pd.DataFrame({"item": [d.label for d in score.design],
                              "coverage": [DEPTH_VALUE[d.depth] for d in score.design],
                              "depth": [d.depth for d in score.design]})
        chart = alt.Chart(frame).mark_bar().encode(
            x=alt.X("coverage:Q", scale=alt.Scale(domain=[0, 2]), axis=alt.Axis(tickCount=3, title=None)),
            y=alt.Y("item:N", sort=None, axis=alt.Axis(title=None, labelLimit=220)),
            color=alt.Color("depth:N", scale=alt.Scale(domain=["missing", "named", "explained"],
                                                       range=["#d9d9d9", "#f2b84b", "#2e8b57"])),
            tooltip=["item", "depth"],
        ).properties(height=max(220, 26 * len(score.design)))
        st.altair_chart(chart, width="stretch")

    st.markdown("**Feedback**")
    st.info(score.feedback)
    with st.expander("Model answer"):
        st.markdown(q.reference_answer)


def render_results(rec, bank: Bank, *, title: str, key: str) -> None:
    """A scored interview's overall score and every question's report."""
    st.subheader(title)
    if rec.overall_score is not None:
        st.metric("Overall", f"{rec.overall_score}/100")
    for i, result in enumerate(rec.results):
        with st.container(border=True):
            render_score(score_from_result(result), bank, key=f"{key}{i}")
