"""Errors with one plain sentence a user can read."""

from __future__ import annotations


class InterviewerError(Exception):
    """Base class: `str(err)` is a sentence fit to show a user."""


class BankError(InterviewerError):
    """The question bank (or a loop, or guide.yaml) failed to load.

    `problems` holds one `path:line: field: message` line per problem.
    """

    def __init__(self, problems: list[str]):
        self.problems = problems
        head = problems[0] if problems else "unknown problem"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"The question bank has errors: {head}{more}")


class UnknownQuestion(InterviewerError):
    def __init__(self, question_id: str):
        self.question_id = question_id
        super().__init__(f"There is no question with id {question_id!r}.")


class PromptError(InterviewerError):
    """A prompt template is missing, malformed, or rendered without a variable."""


class ModelError(InterviewerError):
    """A model call failed. `kind` says how; `str()` says it in plain words."""

    KINDS = (
        "rate_limited",
        "server_error",
        "timeout",
        "connection",
        "stream_interrupted",
        "invalid_output",
        "refusal",
        "truncated",
        "auth",
        "bad_request",
        "blocked",
        "budget",
        "unsupported",
    )

    def __init__(self, kind: str, message: str):
        if kind not in self.KINDS:
            raise ValueError(f"unknown ModelError kind {kind!r}")
        self.kind = kind
        super().__init__(message)


class ModelRequestsBlocked(ModelError):
    """Raised when a test (or a locked-down deployment) tries to reach a non-local model."""

    def __init__(self, url: str):
        super().__init__("blocked", f"Model requests to {url} are not allowed here.")
