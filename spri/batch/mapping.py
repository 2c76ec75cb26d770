"""From input rows to SPRI inputs: which column feeds which field, item ids, and shards."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from spri.api import COLUMN_ALIASES, Input, InputError, SpriError, profile_fields

ID_COLUMN = "id"
"""The column that holds item ids when --id-field names none."""


def stable_id(inputs: Mapping[str, Any]) -> str:
    """An id derived from the input fields: the same row gets the same id on every run and machine."""
    canonical = json.dumps({k: v for k, v in sorted(inputs.items()) if v not in (None, "", {})}, sort_keys=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def in_shard(item_id: str, shard: tuple[int, int] | None) -> bool:
    """Deterministic hash partition of ids: shard (i, n) holds the ids whose hash is i modulo n."""
    if shard is None:
        return True
    index, count = shard
    return int(hashlib.sha256(item_id.encode("utf-8")).hexdigest(), 16) % count == index


def parse_shard(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError as exc:
        raise SpriError(f"--shard expects I/N (e.g. 0/4), got {text!r}") from exc
    if count < 1 or not 0 <= index < count:
        raise SpriError(f"--shard {text}: need 0 <= I < N")
    return index, count


@dataclass
class FieldMap:
    """Which input column feeds which SPRI field, resolved against the first row's columns."""

    columns: dict[str, str]
    id_field: str | None

    @classmethod
    def resolve(
        cls,
        explicit: Mapping[str, str],
        first_row: Mapping[str, Any],
        profile: str,
        id_field: str | None,
        id_column: bool = True,
    ) -> FieldMap:
        """``id_column``: without ``id_field``, a column named ``id`` holds the ids (if the input has one)."""
        if id_field is None and id_column and ID_COLUMN in first_row:
            id_field = ID_COLUMN
        names = profile_fields(profile)
        takes = profile_fields(profile, every=True)
        unknown = [name for name in explicit if name not in takes]
        if unknown:  # a typo would otherwise make every row an error record, paying for nothing
            raise InputError(
                f"--field {unknown[0]}={explicit[unknown[0]]}: profile '{profile}' takes no field "
                f"'{unknown[0]}' (it takes: {', '.join(takes)})"
            )
        wanted = list(dict.fromkeys([*names, *explicit, "category", "principles"]))
        columns: dict[str, str] = {}
        for name in wanted:
            if name in explicit:
                if explicit[name] not in first_row:
                    raise InputError(
                        f"--field {name}={explicit[name]}: no column '{explicit[name]}' in the input "
                        f"(columns: {', '.join(map(str, first_row))})"
                    )
                columns[name] = explicit[name]
                continue
            column = next((alias for alias in COLUMN_ALIASES.get(name, (name,)) if alias in first_row), None)
            if column is not None:
                columns[name] = column
        if "query" not in columns:
            raise InputError(
                f"no input column for 'query' (columns: {', '.join(map(str, first_row))}); use --field query=COLUMN"
            )
        if id_field and id_field not in first_row:
            raise InputError(f"--id-field {id_field}: no such column (columns: {', '.join(map(str, first_row))})")
        return cls(columns=columns, id_field=id_field)

    def inputs(self, row: Mapping[str, Any]) -> dict[str, Any]:
        named = set(Input.model_fields) - {"extra"}
        values: dict[str, Any] = {"extra": {}}
        for field_name, column in self.columns.items():
            value = row.get(column)
            if value is None or value == "":
                continue
            if field_name in named:
                values[field_name] = value
            else:
                values["extra"][field_name] = str(value)
        return values

    def item_id(self, row: Mapping[str, Any], inputs: Mapping[str, Any]) -> str:
        if self.id_field:
            value = row.get(self.id_field)
            if value not in (None, ""):
                return str(value)
        return stable_id(inputs)
