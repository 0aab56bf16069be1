"""Model replies as text: reasoning blocks removed (also while streaming), JSON replies validated.

No `openai` here: `interviewer.llm` uses these on whatever a server sends.
"""

from __future__ import annotations

import re
from typing import TypeVar

from pydantic import BaseModel, ValidationError

T = TypeVar("T", bound=BaseModel)


_THINK_BLOCK = re.compile(r"<think>.*?(?:</think>|\Z)", re.DOTALL | re.IGNORECASE)


def strip_think(text: str) -> str:
    """Remove `<think>...</think>` reasoning blocks (and an unclosed one at the end).

    Some servers drop the opening tag and send only `...</think>answer`: then
    everything up to the last `</think>` is reasoning too.
    """
    text = _THINK_BLOCK.sub("", text)
    low = text.lower()
    if "</think>" in low:
        text = text[low.rindex("</think>") + len("</think>") :]
    return text.strip()


class ThinkFilter:
    """Streaming version of `strip_think`: feed deltas, get the visible text.

    Tags split across deltas are handled; text inside a reasoning block is never
    emitted; leading whitespace of the reply is dropped.
    """

    OPEN = "<think>"
    CLOSE = "</think>"

    def __init__(self) -> None:
        self._buf = ""
        self._inside = False
        self._started = False

    @staticmethod
    def _partial_suffix(buf: str, tag: str) -> int:
        """Length of the longest suffix of `buf` that is a proper prefix of `tag`."""
        low = buf.lower()
        for n in range(min(len(tag) - 1, len(buf)), 0, -1):
            if low.endswith(tag[:n]):
                return n
        return 0

    def _emit(self, text: str) -> str:
        if not self._started:
            text = text.lstrip()
            if text:
                self._started = True
        return text

    def feed(self, text: str) -> str:
        self._buf += text
        out: list[str] = []
        while True:
            low = self._buf.lower()
            if self._inside:
                i = low.find(self.CLOSE)
                if i < 0:
                    keep = self._partial_suffix(self._buf, self.CLOSE)
                    self._buf = self._buf[len(self._buf) - keep :]
                    break
                self._buf = self._buf[i + len(self.CLOSE) :]
                self._inside = False
            else:
                i = low.find(self.OPEN)
                if i < 0:
                    keep = self._partial_suffix(self._buf, self.OPEN)
                    out.append(self._buf[: len(self._buf) - keep])
                    self._buf = self._buf[len(self._buf) - keep :]
                    break
                out.append(self._buf[:i])
                self._buf = self._buf[i + len(self.OPEN) :]
                self._inside = True
        return self._emit("".join(out))

    def flush(self) -> str:
        rest, self._buf = ("" if self._inside else self._buf), ""
        return self._emit(rest)


def strip_fences(text: str) -> str:
    text = text.strip()
    m = re.match(r"^```[a-zA-Z0-9_-]*\s*\n(.*?)\n?```\s*$", text, re.DOTALL)
    return m.group(1).strip() if m else text


def validate_reply(content: str | None, output_type: type[T]) -> T:
    text = strip_fences(strip_think(content or ""))
    if not text:
        raise ValueError("the reply was empty")
    try:
        return output_type.model_validate_json(text)
    except ValidationError:
        start, end = text.find("{"), text.rfind("}")
        if 0 <= start < end and (start, end) != (0, len(text) - 1):
            try:
                return output_type.model_validate_json(text[start : end + 1])
            except ValidationError:
                pass
        raise


def describe_invalid(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors(include_url=False)[:5]:
            loc = ".".join(str(p) for p in err.get("loc", ())) or "(root)"
            parts.append(f"{loc}: {err.get('msg')}")
        return "; ".join(parts)
    return str(exc)
