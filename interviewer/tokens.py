"""Token counting, prices and a per-session token budget, all offline.

The o200k_base vocabulary (used by gpt-4o, gpt-4.1, o-series and gpt-5 models)
ships with the project as `interviewer/data/o200k_base.tiktoken.gz`, so counting
never downloads anything (`tiktoken.get_encoding` would, and has no timeout).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import tiktoken
import yaml

from interviewer.chat import Message, Usage
from interviewer.errors import ModelError

DATA_DIR = Path(__file__).parent / "data"
VOCAB_PATH = DATA_DIR / "o200k_base.tiktoken.gz"
PRICES_PATH = DATA_DIR / "prices.yaml"

# sha256 of the gunzipped vocabulary, as published by OpenAI (tiktoken_ext.openai_public).
O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"

# Copied from tiktoken_ext.openai_public.o200k_base() (not called: it downloads).
_O200K_PAT_STR = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
_O200K_SPECIAL_TOKENS = {"<|endoftext|>": 199999, "<|endofprompt|>": 200018}

# Chat formatting overhead for gpt-4o-style models (OpenAI cookbook):
# every message costs 3 tokens beyond its content, every reply is primed with 3.
TOKENS_PER_MESSAGE = 3
TOKENS_PER_REPLY = 3


@lru_cache(maxsize=1)
def encoding() -> tiktoken.Encoding:
    """The o200k_base encoding, built from the vocabulary shipped in the repo."""
    raw = gzip.decompress(VOCAB_PATH.read_bytes())
    digest = hashlib.sha256(raw).hexdigest()
    if digest != O200K_SHA256:
        raise RuntimeError(f"{VOCAB_PATH} is corrupt (sha256 {digest}, expected {O200K_SHA256}).")
    ranks: dict[bytes, int] = {}
    for line in raw.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return tiktoken.Encoding(
        name="o200k_base",
        pat_str=_O200K_PAT_STR,
        mergeable_ranks=ranks,
        special_tokens=_O200K_SPECIAL_TOKENS,
    )


def count_tokens(text: str) -> int:
    """Tokens in `text` (o200k_base; special-token strings are counted as plain text)."""
    if not text:
        return 0
    return len(encoding().encode(text, disallowed_special=()))


def _role_and_content(message: Message | Mapping[str, Any]) -> tuple[str, str]:
    if isinstance(message, Message):
        return message.role, message.content
    return str(message.get("role", "")), str(message.get("content") or "")


def count_messages(messages: Iterable[Message | Mapping[str, Any]]) -> int:
    """Prompt tokens for a chat request: content + role + per-message overhead + reply priming."""
    total = 0
    for message in messages:
        role, content = _role_and_content(message)
        total += TOKENS_PER_MESSAGE + count_tokens(role) + count_tokens(content)
    return total + TOKENS_PER_REPLY


# ---------------------------------------------------------------- prices


@dataclass(frozen=True)
class Price:
    """USD per 1M tokens."""

    input: float
    cached_input: float
    output: float


@lru_cache(maxsize=1)
def prices() -> dict[str, Price]:
    data = yaml.safe_load(PRICES_PATH.read_text(encoding="utf-8")) or {}
    models = data.get("models", {})
    out: dict[str, Price] = {}
    for name, p in models.items():
        out[str(name)] = Price(
            input=float(p["input"]),
            cached_input=float(p.get("cached_input", p["input"])),
            output=float(p["output"]),
        )
    return out


_DATE_SUFFIX = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{4})$")
_OPENAI_HOSTS = {"api.openai.com"}


def price_for(model: str) -> Price | None:
    """The price of `model`, also for dated snapshots ("gpt-4o-mini-2024-07-18"); None if unknown."""
    table = prices()
    name = model.strip().lower()
    if name.startswith("openai/"):
        name = name.split("/", 1)[1]
    if name in table:
        return table[name]
    base = _DATE_SUFFIX.sub("", name)
    return table.get(base)


def is_openai_server(base_url: str | None) -> bool:
    """True for the OpenAI API itself (no base URL means the OpenAI default)."""
    if not base_url:
        return True
    from urllib.parse import urlsplit

    return (urlsplit(base_url).hostname or "").lower() in _OPENAI_HOSTS


def cost_usd(model: str, usage: Usage | None, *, base_url: str | None = None) -> float | None:
    """Cost in USD of `usage` on `model`, or None ("tokens only").

    None when the model is not in `data/prices.yaml`, or when `base_url` points at
    a server other than api.openai.com (a local server costs nothing we can price).
    """
    if usage is None or not is_openai_server(base_url):
        return None
    price = price_for(model)
    if price is None:
        return None
    cached = min(usage.cached_tokens, usage.prompt_tokens)
    uncached = usage.prompt_tokens - cached
    return (
        uncached * price.input + cached * price.cached_input + usage.completion_tokens * price.output
    ) / 1_000_000


# ---------------------------------------------------------------- budget


@dataclass
class Budget:
    """A token budget for one session. `limit` 0 (or less) means no budget."""

    limit: int = 0
    used_usage: Usage = field(default_factory=Usage)

    @property
    def used(self) -> int:
        return self.used_usage.prompt_tokens + self.used_usage.completion_tokens

    @property
    def unlimited(self) -> bool:
        return self.limit <= 0

    @property
    def remaining(self) -> int | None:
        """Tokens left, never negative; None when there is no budget."""
        if self.unlimited:
            return None
        return max(0, self.limit - self.used)

    @property
    def exhausted(self) -> bool:
        return not self.unlimited and self.used >= self.limit

    def add(self, usage: Usage | None) -> None:
        if usage is not None:
            self.used_usage = self.used_usage + usage

    def check(self) -> None:
        """Raise ModelError("budget") when the budget is used up."""
        if self.exhausted:
            raise ModelError(
                "budget",
                f"This session has used its budget of {self.limit:,} tokens. "
                "Start a new session, or raise INTERVIEWER_SESSION_BUDGET_TOKENS.",
            )
