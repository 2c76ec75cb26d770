"""What one finished item looks like in the output file, per --format."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from spri.api import Result

Format = Literal["full", "messages", "alpaca"]


def output_record(item_id: str, inputs: Mapping[str, Any], result: Result, fmt: Format) -> dict[str, Any]:
    if fmt == "messages":
        return {
            "id": item_id,
            "messages": [
                {"role": "user", "content": str(inputs.get("query", ""))},
                {"role": "assistant", "content": result.response or ""},
            ],
        }
    if fmt == "alpaca":
        return {
            "id": item_id,
            "instruction": str(inputs.get("query", "")),
            "input": str(inputs.get("goal") or ""),
            "output": result.response or "",
        }
    full = result.model_dump(mode="json", exclude={"thread_id"})
    return {"id": item_id, "input": {k: v for k, v in inputs.items() if v not in (None, {}, "")}, **full}
