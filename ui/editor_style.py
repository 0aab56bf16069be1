"""The code editor's look: monospace, no soft wrap, and line numbers in a gutter.

The gutter is an SVG of numbers drawn as the text area's background with `background-attachment:
local`, so it scrolls with the code; font size, line height and padding are fixed here so the
numbers line up with the lines. Only the editor (`st.container(key="code_editor")`) is styled:
every other text area keeps the app's normal font.
"""

from __future__ import annotations

import base64
from functools import lru_cache

LINE_PX = 20
FONT_PX = 14
PAD_TOP_PX = 8
GUTTER_PX = 40
MAX_LINES = 500


@lru_cache(maxsize=1)
def code_editor_css() -> str:
    height = PAD_TOP_PX * 2 + LINE_PX * MAX_LINES
    numbers = "".join(
        f'<text x="{GUTTER_PX - 8}" y="{PAD_TOP_PX + LINE_PX * i + 15}">{i + 1}</text>' for i in range(MAX_LINES))
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{GUTTER_PX}" height="{height}">'
           f'<rect width="{GUTTER_PX - 4}" height="{height}" fill="#f3f4f6"/>'
           f'<g font-family="ui-monospace, Menlo, Consolas, monospace" font-size="12" fill="#8a8f98" '
           f'text-anchor="end">{numbers}</g></svg>')
    data = base64.b64encode(svg.encode()).decode()
    return f"""<style>
    .st-key-code_editor textarea {{
        font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: {FONT_PX}px;
        line-height: {LINE_PX}px; padding: {PAD_TOP_PX}px 8px {PAD_TOP_PX}px {GUTTER_PX + 8}px;
        white-space: pre; overflow-wrap: normal; overflow-x: auto; tab-size: 4;
        background: url("data:image/svg+xml;base64,{data}") no-repeat left top local, #ffffff;
    }}
    </style>"""
