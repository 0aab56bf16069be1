"""Altair charts that stay readable from a 390 px phone to a desktop: labels that fit, legends at the
bottom, every item drawn. Altair and pandas are imported inside the functions (cold start)."""

from __future__ import annotations

DEPTH_LEVEL = {"missing": 1, "named": 2, "explained": 3}
DEPTH_COLOURS = {"missing": "#c9c9c9", "named": "#f2b84b", "explained": "#2e8b57"}


def time_axis(when):
    """An x axis for timestamps whose labels never repeat: clock times within a day, days within two
    months, months beyond."""
    import altair as alt

    span = (when.max() - when.min()).total_seconds() if len(when) else 0
    if span < 36 * 3600:
        return alt.Axis(format="%H:%M", tickCount=5, labelOverlap=True, title=f"{when.min():%b %d}")
    days = span / 86400
    if days < 62:
        step = max(1, round(days / 6))
        return alt.Axis(format="%b %d", tickCount={"interval": "day", "step": step}, labelOverlap=True, title=None)
    return alt.Axis(format="%b %Y", tickCount={"interval": "month", "step": 1}, labelOverlap=True, title=None)


def design_coverage_chart(design):
    """One row per design item: its name above a bar of 1 (missing), 2 (named) or 3 (explained) steps.

    Names are drawn as text above the bars rather than as axis labels, so a phone keeps the whole
    width for the bars and long names are not cut; "missing" still gets a visible grey bar.
    """
    import altair as alt
    import pandas as pd

    frame = pd.DataFrame({"item": [d.label for d in design],
                          "level": [DEPTH_LEVEL[d.depth] for d in design],
                          "depth": [d.depth for d in design],
                          "order": list(range(len(design)))})
    y = alt.Y("item:N", sort=alt.SortField("order"), axis=None, scale=alt.Scale(paddingInner=0.1))
    base = alt.Chart(frame).encode(y=y)
    bars = base.mark_bar(size=14, yOffset=8, cornerRadiusEnd=3).encode(
        x=alt.X("level:Q", scale=alt.Scale(domain=[0, 3]), title=None,
                axis=alt.Axis(values=[1, 2, 3], labelExpr="['', 'missing', 'named', 'explained'][datum.value]",
                              grid=True, labelFlush=True)),
        color=alt.Color("depth:N", title=None,
                        scale=alt.Scale(domain=list(DEPTH_COLOURS), range=list(DEPTH_COLOURS.values())),
                        legend=alt.Legend(orient="bottom", direction="horizontal")),
        tooltip=["item:N", "depth:N"],
    )
    names = base.mark_text(align="left", baseline="middle", dy=-8, fontSize=12, limit=600).encode(
        x=alt.datum(0), text="item:N")
    return (bars + names).properties(height=40 * len(design) + 10)
