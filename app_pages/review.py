"""Review: saved interviews in a table whose rows open them; the report and transcript of the open one;
export, resume, delete (confirmed in a dialog). Interviews with no answer are not listed."""

from __future__ import annotations

from datetime import date, timedelta

import streamlit as st

from interviewer.report import MOVE_WORDS, export, md_text
from ui.report import render_results
from ui.state import KIND_LABELS, current_user, get_app

user = current_user()
app = get_app()
bank = app.bank

st.title("Review")
records = app.store.list(user_id=user, answered_only=True)
unanswered = app.store.count_unanswered(user_id=user)
if unanswered:
    c1, c2 = st.columns([3, 1], vertical_alignment="center")
    c1.caption(f"{unanswered} started interview(s) with no answer are not listed.")
    if c2.button("Discard them", key="discard_unanswered", icon=":material/delete_sweep:"):
        app.store.discard_unanswered(user_id=user)
        open_iid = st.session_state.get("iid")
        if open_iid and app.store.get(open_iid) is None:
            for k in ("iid", "session"):
                st.session_state.pop(k, None)
        st.toast(f"Discarded {unanswered} unanswered interview(s).")
        st.rerun()
if not records:
    st.info("No saved interviews yet. Start one on the Interview page: every turn is saved as you go.")
    st.stop()


def kind_of(rec) -> str:
    if rec.loop_name:
        return "Loop"
    kinds = set()
    for qid in rec.plan:
        if qid in bank.questions:
            kinds.add(bank.get(qid).kind.value)
    if len(kinds) == 1:
        return KIND_LABELS[kinds.pop()]
    return "Mixed" if kinds else "\u2014"


def score_text(rec) -> str:
    if rec.overall_score is not None:
        return str(rec.overall_score)
    return "unfinished" if rec.status != "scored" else "\u2014"


with st.expander("Filter", icon=":material/filter_list:"):
    c1, c2, c3 = st.columns(3)
    kind_filter = c1.multiselect("Kind", list(KIND_LABELS.values()) + ["Loop", "Mixed"], key="rev_kind")
    oldest = min(r.created_at.date() for r in records)
    dates = c2.date_input("Dates", value=(oldest, date.today() + timedelta(days=1)), key="rev_dates")
    score_range = c3.slider("Score", 0, 100, (0, 100), key="rev_score",
                            help="Unfinished interviews are listed only while the range is 0\u2013100.")

rows = []
for r in records:
    if kind_filter and kind_of(r) not in kind_filter:
        continue
    if isinstance(dates, tuple) and len(dates) == 2 and not (dates[0] <= r.created_at.date() <= dates[1]):
        continue
    if r.overall_score is not None and not (score_range[0] <= r.overall_score <= score_range[1]):
        continue
    if r.overall_score is None and score_range != (0, 100):
        continue
    rows.append(r)

st.caption(f"{len(rows)} of {len(records)} interview(s) \u00b7 click a row to open it")
if not rows:
    st.stop()

ids = [r.id for r in rows]
if st.session_state.get("rev_open") not in ids:  # the newest is open until a row is clicked
    st.session_state.rev_open = ids[0]
    st.session_state.rev_table = {"selection": {"rows": [0], "columns": []}}


def _picked_in_list(i: int) -> None:
    st.session_state.rev_open = ids[i]
    st.session_state.rev_table = {"selection": {"rows": [i], "columns": []}}
    st.session_state._rev_seen = [i]


# Two views of the same rows; CSS shows the table on a wide screen and the cards on a phone.
st.html("""<style>
@media (max-width: 640px) { .st-key-rev_wide { display: none; } }
@media (min-width: 641px) { .st-key-rev_cards { display: none; } }
</style>""")
with st.container(key="rev_wide"):
    event = st.dataframe(
        {"When": [f"{r.created_at:%b %d %H:%M}" for r in rows], "Title": [r.title for r in rows],
         "Kind": [kind_of(r) for r in rows], "Score": [score_text(r) for r in rows]},
        hide_index=True, width="stretch", key="rev_table", on_select="rerun",
        selection_mode="single-row", height=min(36 * (len(rows) + 1) + 3, 360),
        column_config={
            "When": st.column_config.TextColumn("When", width=100),
            "Title": st.column_config.TextColumn("Title", width="large"),
            "Kind": st.column_config.TextColumn("Kind", width=110),
            "Score": st.column_config.TextColumn("Score", width=90),
        },
    )
    picked = list(event.selection.rows) if event is not None else []
    if picked and picked != st.session_state.get("_rev_seen") and picked[0] < len(ids):  # a row was clicked
        st.session_state.rev_open = ids[picked[0]]
    st.session_state._rev_seen = picked
shown_cards = len(rows) if st.session_state.get("rev_all_cards") else 8
with st.container(key="rev_cards", border=False):
    for i, r in enumerate(rows[:shown_cards]):
        is_open = r.id == st.session_state.rev_open
        with st.container(border=True, horizontal=True, vertical_alignment="center", key=f"rev_card_{i}"):
            st.markdown(f"**{r.title}**  \n:gray[{r.created_at:%b %d %H:%M} \u00b7 {kind_of(r)}]", width="stretch")
            st.button(score_text(r), key=f"rev_pick_{i}", on_click=_picked_in_list, args=(i,),
                      type="primary" if is_open else "secondary", help="Open this interview")
    if len(rows) > shown_cards and st.button(f"Show all {len(rows)}", key="rev_more"):
        st.session_state.rev_all_cards = True
        st.rerun()

rec = app.store.get(st.session_state.rev_open, user_id=user)
if rec is None:  # deleted in another tab
    st.session_state.pop("rev_open", None)
    st.rerun()

st.subheader(rec.title)
st.caption(f"{rec.created_at:%Y-%m-%d %H:%M} \u00b7 {kind_of(rec)} \u00b7 {rec.mode} \u00b7 "
           + (f"score {rec.overall_score}/100" if rec.overall_score is not None else "unfinished"))
actions = st.container(horizontal=True, key="rev_actions")
a1 = a2 = a3 = a4 = actions
if rec.status != "scored":
    if a1.button("Resume", type="primary", key="resume", icon=":material/play_arrow:"):
        st.session_state.iid = rec.id
        st.session_state.pop("session", None)
        st.switch_page("app_pages/interview.py", query_params={"iid": rec.id})
a2.download_button("Export Markdown", export(rec, "md"), file_name=f"interview-{rec.id[:8]}.md",
                   mime="text/markdown", key="dl_md")
a3.download_button("Export JSON", export(rec, "json"), file_name=f"interview-{rec.id[:8]}.json",
                   mime="application/json", key="dl_json")


def _cancel_delete() -> None:
    st.session_state.pop("confirm_delete", None)


@st.dialog("Delete this interview?", on_dismiss=_cancel_delete)
def confirm_delete(rec) -> None:
    st.write(f"\u201c{rec.title}\u201d ({rec.created_at:%b %d %H:%M}), its transcript and its scores will be "
             "deleted for good.")
    y, n = st.columns(2)
    if y.button("Yes, delete", type="primary", key="confirm_delete_yes"):
        app.store.delete(rec.id, user_id=user)
        if st.session_state.get("iid") == rec.id:
            for k in ("iid", "session"):
                st.session_state.pop(k, None)
            st.query_params.clear()
        for k in ("rev_table", "rev_open", "confirm_delete"):
            st.session_state.pop(k, None)
        st.rerun()
    if n.button("Cancel", key="confirm_delete_no"):
        _cancel_delete()
        st.rerun()


if a4.button("Delete", key="delete", icon=":material/delete:"):
    st.session_state.confirm_delete = rec.id
if st.session_state.get("confirm_delete") == rec.id:  # a dialog: always in view, whatever the scroll
    confirm_delete(rec)

if rec.results:
    render_results(rec, bank, title="Report", key="rev")

st.subheader("Transcript")
for t in rec.turns:
    role = "assistant" if t.role == "interviewer" else "user"
    with st.chat_message(role, avatar=":material/record_voice_over:" if role == "assistant" else ":material/person:"):
        if t.kind == "code":
            st.code(t.text, language="python")
        else:
            if t.role == "interviewer" and t.kind not in ("question",):
                what = MOVE_WORDS.get(t.kind, t.kind.replace("_", " "))
                target = f" \u00b7 {t.probe_item.replace('-', ' ')}" if t.probe_item and t.kind in (
                    "probe", "follow_up", "challenge") else ""
                st.caption(f"Interviewer {what}{target}")
            st.markdown(md_text(t.text) if t.role == "candidate" else t.text)
