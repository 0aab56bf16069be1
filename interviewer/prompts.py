"""Prompt templates: YAML files in `prompts/`, `$name` placeholders, validated when loaded.

Each file holds ``version`` and ``templates``; each template declares its
``variables``. A template using an undeclared variable fails at load, and
rendering without a declared variable fails loudly (`PromptError`).
"""

from __future__ import annotations

import string
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import PromptError

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"


class Template(BaseModel):
    model_config = ConfigDict(extra="forbid")

    variables: list[str] = Field(default_factory=list)
    text: str = Field(min_length=1)


class PromptFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1)
    templates: dict[str, Template]


def _placeholders(text: str) -> set[str]:
    names = set()
    for _, named, braced, _ in string.Template.pattern.findall(text):
        if named or braced:
            names.add(named or braced)
    return names


def load_prompts(directory: Path | str = PROMPTS_DIR) -> dict[str, tuple[int, Template]]:
    """Every template by name, with its file's version. Raises `PromptError` naming the file."""
    out: dict[str, tuple[int, Template]] = {}
    for path in sorted(Path(directory).glob("*.yaml")):
        try:
            data = PromptFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        except (yaml.YAMLError, ValidationError, OSError) as exc:
            raise PromptError(f"{path}: invalid prompt file: {exc}") from exc
        for name, tpl in data.templates.items():
            undeclared = _placeholders(tpl.text) - set(tpl.variables)
            if undeclared:
                raise PromptError(f"{path}: template {name!r} uses undeclared variable(s) {sorted(undeclared)}")
            if name in out:
                raise PromptError(f"{path}: template {name!r} is defined twice")
            out[name] = (data.version, tpl)
    return out


@lru_cache(maxsize=1)
def _default() -> dict[str, tuple[int, Template]]:
    return load_prompts()


def prompt_version(name: str) -> int:
    return _default()[name][0]


def render(name: str, **variables: object) -> str:
    """Render template `name`; every declared variable must be given."""
    try:
        _, tpl = _default()[name]
    except KeyError:
        raise PromptError(f"no prompt template named {name!r}") from None
    missing = [v for v in tpl.variables if v not in variables]
    if missing:
        raise PromptError(f"prompt {name!r} rendered without {', '.join(missing)}")
    return string.Template(tpl.text).substitute({k: str(v) for k, v in variables.items()})
