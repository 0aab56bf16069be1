"""The scored report: score and band, every rubric item with its evidence highlighted in the
candidate's own words, the STAR breakdown, design coverage, feedback and the model answer."""

from __future__ import annotations

import html

import streamlit as st

from interviewer.bank import Bank
from interviewer.report import md_text
from interviewer.types import Score

BAND_COLOURS = {"zero": "red", "weak": "orange", "partial": "blue", "strong": "green"}
# Inline, not a <style> block drawn by every run of every page: one message less per run for each user.
EVIDENCE_STYLE = "background: #fff1a8; padding: 0 2px; border-radius: 3px"
ANSWER_BOX_STYLE = "border-left: 3px solid #d0d0d0; padding: 0.4rem 0.8rem; line-height: 1.6"


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
        out.append(f'<mark class="evidence" style="{EVIDENCE_STYLE}" title="{html.escape(label)}">'
                   f'{html.escape(answer[s:e])}</mark>')
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
        if score.assisted:
            st.markdown(":violet-badge[Assisted] " + ", ".join(a.replace("hint:", "hint: ").replace("_", " ")
                                                               for a in score.assisted)
                        + " — kept apart from your Progress trend")
    if score.tests is not None:
        t = score.tests
        if t["submitted"]:
            st.progress(t["passed"] / t["total"], text=f"Hidden tests passed: {t['passed']} of {t['total']}")
        else:
            st.warning("No solution was submitted against the hidden tests.")

    st.markdown("**Checklist**")
    for item in score.items:
        mark = ":material/check_circle:" if item.covered else ":material/radio_button_unchecked:"
        depth = " (named, not explained)" if item.depth == "named" and not item.covered else ""
        line = f"{mark} **{item.label}**{depth}"
        if item.evidence:
            line += f"  \n\u2003\u201c_{md_text(item.evidence, inline=True)}_\u201d"
        elif item.note:
            line += f"  \n\u2003_{md_text(item.note, inline=True)}_"
        if item.reason:
            line += f"  \n\u2003:gray[{md_text(item.reason, inline=True)}]"
        st.markdown(line)
    for m in score.misconceptions:
        if m.covered:
            st.markdown(f":material/error: **{m.label}**  \n\u2003\u201c_{md_text(m.evidence or '', inline=True)}_\u201d")

    if score.answer.strip():
        spans = [(i.mark_start if i.mark_start is not None else i.start,
                  i.mark_end if i.mark_end is not None else i.end, i.label)
                 for i in score.items if i.covered and i.start is not None]
        st.markdown("**Your answer, with the evidence highlighted**")
        st.markdown(f'<div class="answer-box" style="{ANSWER_BOX_STYLE}">{highlight(score.answer, spans)}</div>',
                    unsafe_allow_html=True)

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
        st.markdown("**Design coverage**: each part missing, named, or explained")
        from ui.charts import design_coverage_chart  # altair only when a design report is drawn (cold start)

        chart = design_coverage_chart(score.design)
        st.altair_chart(chart, width="stretch")

    st.markdown("**Feedback**")
    st.info(score.feedback)
    with st.expander("Model answer"):
        st.markdown(q.reference_answer)


def render_results(rec, bank: Bank, *, title: str, key: str) -> None:
    """A scored interview's overall score and every question's report."""
    st.subheader(title)
    if len(rec.results) > 1:  # one question: its own score below is the whole story (no second metric)
        if rec.overall_score is not None:
            st.metric("Overall", f"{rec.overall_score}/100")
        render_summary(rec, bank)
    for i, result in enumerate(rec.results):
        with st.container(border=True):
            render_score(score_from_result(result), bank, key=f"{key}{i}")


def render_summary(rec, bank: Bank) -> None:
    """A loop's report at a glance: one row per question with its kind, score and band."""
    from ui.state import KIND_LABELS

    rows = []
    for n, r in enumerate(rec.results, start=1):
        title = r.get("title") or (bank.get(r["question_id"]).title if r["question_id"] in bank.questions
                                   else r["question_id"])
        extra = ""
        full = r.get("full") or {}
        if full.get("tests"):
            t = full["tests"]
            extra = f"tests {t['passed']}/{t['total']}" if t.get("submitted") else "no submission"
        rows.append({"#": n, "Question": title, "Kind": KIND_LABELS.get(r.get("kind", ""), ""),
                     "Score": r["score"], "Band": r["band"], "Note": extra})
    st.dataframe(rows, hide_index=True, width="stretch",
                 column_config={"#": st.column_config.NumberColumn(width=40),
                                "Score": st.column_config.ProgressColumn(min_value=0, max_value=100, format="%d",
                                                                         width=110)})
