"""Which input rows a batch runs: this shard, up to the limit, not already done (or, with
--retry-failed, only the failed ones). Rows that cannot run come out as :class:`Unreadable`, for the
errors file: lines that are not readable records, and rows repeating an id an earlier row has."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import chain

from spri.batch.mapping import FieldMap, in_shard
from spri.batch.sources import Row
from spri.jsonl import BadLine


@dataclass
class Work:
    item_id: str
    inputs: dict


@dataclass
class Done:
    """A selected item finished by an earlier run (or not among the failed ones being retried)."""

    item_id: str


@dataclass
class Unreadable:
    item_id: str
    line: int
    reason: str
    kind: str = "BadLine"
    offset: int | None = None

    def record(self) -> dict:
        extra = {"offset": self.offset} if self.offset is not None else {}
        return {"id": self.item_id, "line": self.line, **extra, "error": self.reason, "type": self.kind}


def resolve_mapping(
    rows: Iterator[Row], fields: Mapping[str, str], id_field: str | None, profile: str, id_column: bool = True
) -> tuple[FieldMap | None, Iterator[Row]]:
    """The column mapping, from the first readable row (errors now, before anything is written), and the
    rows again from the start. None if no row is readable."""
    seen: list[Row] = []
    for number, row in rows:
        seen.append((number, row))
        if not isinstance(row, BadLine):
            return FieldMap.resolve(fields, row, profile, id_field, id_column), chain(seen, rows)
    return None, iter(seen)


@dataclass
class Selection:
    mapping: FieldMap | None
    shard: tuple[int, int] | None
    limit: int | None
    finished: set[str]
    only: set[str] | None = None
    """With --retry-failed: the ids to run again (every other selected id counts as done)."""

    def select(self, rows: Iterator[Row]) -> Iterator[Work | Done | Unreadable]:
        """Each selected row, in input order; a row whose id an earlier row has is Unreadable."""
        first_line: dict[str, int] = {}
        selected = 0
        for number, row in rows:
            if self.limit is not None and selected >= self.limit:
                break
            item = self._item(number, row, first_line)
            if item is not None:
                selected += 1
                yield item

    def _item(self, number: int, row: dict | BadLine, first_line: dict[str, int]) -> Work | Done | Unreadable | None:
        if isinstance(row, BadLine):
            line_id = f"line-{number}"
            if not in_shard(line_id, self.shard) or line_id in self.finished:
                return None
            return Unreadable(line_id, number, row.reason, offset=row.offset)
        assert self.mapping is not None
        try:
            inputs = self.mapping.inputs(row)
            item_id = self.mapping.item_id(row, inputs)
            wanted = in_shard(item_id, self.shard)
        except (ValueError, TypeError, RecursionError) as exc:  # a value no input can be made of
            line_id = f"line-{number}"
            if not in_shard(line_id, self.shard) or line_id in self.finished:
                return None
            return Unreadable(
                line_id, number, f"its values cannot be read as inputs ({str(exc)[:200]})", type(exc).__name__
            )
        if not wanted:
            return None
        if item_id in first_line:
            reason = self._repeat(row, item_id, first_line[item_id])
            return Unreadable(f"line-{number}", number, reason, kind="DuplicateId")
        first_line[item_id] = number
        if item_id in self.finished or (self.only is not None and item_id not in self.only):
            return Done(item_id)
        return Work(item_id, inputs)

    def _repeat(self, row: dict, item_id: str, first: int) -> str:
        id_field = self.mapping.id_field if self.mapping is not None else None
        if id_field and row.get(id_field) not in (None, ""):
            return f"id '{item_id}' was already used on line {first}: give each row its own id"
        return f"the same inputs as line {first} (id {item_id}): a repeated row runs once"
