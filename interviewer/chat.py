"""The one seam between the engine and any language model.

Everything upstream depends on `ChatModel`; only `interviewer.llm` talks to a
real server (through the `openai` client). Tests use `interviewer.fake`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
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


# ---------------------------------------------------------------- optional capabilities of a model


def can_transcribe(model: object | None) -> bool:
    """Whether to offer the microphone: the model's server has a speech-to-text endpoint (probed once by
    `supports_transcription`, then remembered); a model without the probe but with `transcribe` (a fake) counts."""
    if model is None or not hasattr(model, "transcribe"):
        return False
    probe = getattr(model, "supports_transcription", None)
    return bool(probe()) if callable(probe) else True


@contextlib.contextmanager
def progress_of(model: object | None, callback: Callable[[float, int], None]) -> Iterator[None]:
    """While inside, `callback(elapsed_seconds, characters_received)` is called (in this thread only) as a
    streaming model call of `model` makes progress. A model without progress reports is fine."""
    watch = getattr(model, "watch_progress", None)
    if not callable(watch):
        yield
        return
    with watch(callback):
        yield
