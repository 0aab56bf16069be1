"""The one seam between the engine and any language model.

Everything upstream depends on `ChatModel`; only `interviewer.llm` talks to a
real server (through the `openai` client). Tests use `interviewer.fake`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Literal, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ConfigDict

T = TypeVar("T", bound=BaseModel)


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["system", "user", "assistant"]
    content: str


class Usage(BaseModel):
    """Token counts for one call. `counted` is True when we counted them ourselves."""

    model_config = ConfigDict(extra="forbid")

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    counted: bool = False

    def __add__(self, other: "Usage") -> "Usage":
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            cached_tokens=self.cached_tokens + other.cached_tokens,
            counted=self.counted or other.counted,
        )


@runtime_checkable
class ChatModel(Protocol):
    """A chat model: stream free text, or parse a reply into a pydantic type.

    After each call `last_usage` holds that call's token usage (or None).
    Failures raise `interviewer.errors.ModelError` with a plain-words message.
    """

    name: str
    last_usage: Usage | None

    def stream_text(self, messages: Sequence[Message], *, max_tokens: int | None = None) -> Iterator[str]:
        ...

    def parse(self, messages: Sequence[Message], output_type: type[T]) -> T:
        ...
