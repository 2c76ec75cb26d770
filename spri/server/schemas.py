"""JSON schemas as LangServe's playground can render them: an optional field is shown as its type (the
playground's form builder fails on ``{"type": "null"}`` branches, and the page stays blank)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, TypeAdapter, WithJsonSchema


def without_null(schema: Any) -> Any:
    """``schema`` with every ``anyOf: [X, {"type": "null"}]`` folded into ``X`` (recursively)."""
    if isinstance(schema, list):
        return [without_null(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    cleaned = {key: without_null(value) for key, value in schema.items()}
    branches = cleaned.get("anyOf")
    if isinstance(branches, list) and {"type": "null"} in branches:
        rest = [branch for branch in branches if branch != {"type": "null"}]
        del cleaned["anyOf"]
        if len(rest) == 1:
            cleaned = {**rest[0], **cleaned}
        elif rest:
            cleaned["anyOf"] = rest
        _no_null_default(cleaned)  # "not given": a form shows it empty rather than as invalid
    return cleaned


class PlaygroundSchema(BaseModel):
    """A model whose JSON schema has no null branches (validation is unchanged: None is still accepted)."""

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return dict(without_null(super().model_json_schema(*args, **kwargs)))


def shown_without_null(annotation: Any) -> Any:
    """``annotation`` (validated as it is, None included) whose JSON schema has no null branch; for models
    the server builds from annotations (the config schema)."""
    shown = WithJsonSchema(without_null(TypeAdapter(annotation).json_schema()))
    return Annotated[annotation, shown, Field(json_schema_extra=_no_null_default)]


def _no_null_default(schema: dict[str, Any]) -> None:
    if schema.get("default", 0) is None:
        del schema["default"]
