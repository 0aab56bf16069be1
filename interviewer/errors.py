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


# ---------------------------------------------------------------- the transcript database, in one sentence each

def db_unresponsive(where: str, seconds: float) -> str:
    return (f"The transcript database ({where}) did not answer within {seconds:g} seconds; check that it is "
            "running and reachable, then try again (nothing saved before is lost).")


def db_unreachable(where: str) -> str:
    return (f"The transcript database ({where}) refused the connection or could not be found; check that the "
            "server is running and that INTERVIEWER_DB_URL names it, then try again.")


def db_cannot_open(where: str) -> str:
    return (f"The transcript database file ({where}) could not be opened; check that it exists as a file in a "
            "writable folder, then try again.")


def db_corrupt(where: str) -> str:
    return (f"The transcript database file ({where}) is corrupt; restore it from a backup, or point "
            "INTERVIEWER_DB_URL at a new file.")


def db_disk_full(where: str) -> str:
    return (f"The disk holding the transcript database ({where}) is full; free some space and try again "
            "(what was saved before is kept).")


def db_unsupported_url(url: str) -> str:
    return (f"INTERVIEWER_DB_URL={url!r} is not a supported database URL; use sqlite:///path/to/file.db or "
            "postgresql+psycopg://user:password@host/dbname.")


def db_failed(where: str, what: str) -> str:
    return (f"The transcript database ({where}) failed ({what}); nothing was lost that was saved before, "
            "and you can try again.")
