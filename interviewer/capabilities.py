"""What one model server was seen to support, learned once per session and shared by the interviewer
and the judge models (see `interviewer.llm`)."""

from __future__ import annotations

import threading

# Structured-output modes, tried in this order; a server that rejects one moves to the next:
#   json_schema         strict schema (OpenAI, vLLM, Ollama, LM Studio)
#   json_object_schema  JSON mode with the schema attached (llama-cpp-python turns it into a grammar)
#   json_object         plain JSON mode, the schema in the prompt
#   prompt              no response_format at all: the schema in the prompt, the reply validated
MODES = ("json_schema", "json_object_schema", "json_object", "prompt")
MODE_DESCRIPTIONS = {
    "json_schema": "JSON schema (strict)",
    "json_object_schema": "JSON mode with a schema grammar",
    "json_object": "JSON mode, schema in the prompt",
    "prompt": "plain text validated against the schema",
}


class ServerCapabilities:
    """What one server was seen to support, learned once and shared by the interviewer and the judge models."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.mode_index = 0
        self.confirmed = False  # the current mode has answered at least once
        self.fallbacks: list[str] = []  # why each earlier mode was dropped
        self.transcription: bool | None = None  # None until probed

    @property
    def mode(self) -> str:
        return MODES[self.mode_index]

    @property
    def can_fall_back(self) -> bool:
        return self.mode_index + 1 < len(MODES)

    def fall_back(self, from_mode: str, reason: str) -> None:
        with self._lock:
            if self.mode == from_mode and self.can_fall_back:  # another thread may have moved on already
                self.fallbacks.append(f"{from_mode}: {reason}")
                self.mode_index += 1
                self.confirmed = False

    def undo(self, index: int) -> None:
        """Return to mode `index` (a fallback that turned out to be a failing server)."""
        with self._lock:
            if index < self.mode_index:
                self.mode_index = index
                del self.fallbacks[index:]

    def confirm(self, mode: str) -> None:
        with self._lock:
            if self.mode == mode:
                self.confirmed = True

    @property
    def fallback_reason(self) -> str | None:
        return "; ".join(self.fallbacks) or None
