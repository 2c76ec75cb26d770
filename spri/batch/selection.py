"""Which input rows a batch runs: this shard, up to the limit, not already done (or, with
--retry-failed, only the failed ones). Unreadable rows come out as such, for the error file."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

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


@dataclass
class Selection:
    fields: Mapping[str, str]
    id_field: str | None
    profile: str
    shard: tuple[int, int] | None
    limit: int | None
    finished: set[str]
    only: set[str] | None = None
    """With --retry-failed: the ids to run again (every other selected id counts as done)."""

    def select(self, rows: Iterator[Row]) -> Iterator[Work | Done | Unreadable]:
        """Each selected row, in input order, once per id."""
        mapping: FieldMap | None = None
        seen: set[str] = set()
        selected = 0
        for number, row in rows:
            if self.limit is not None and selected >= self.limit:
                break
            if isinstance(row, BadLine):
                item_id = f"line-{number}"
                if in_shard(item_id, self.shard) and item_id not in self.finished:
                    selected += 1
                    yield Unreadable(item_id, number, row.reason)
                continue
            if mapping is None:
                mapping = FieldMap.resolve(self.fields, row, self.profile, self.id_field)
            inputs = mapping.inputs(row)
            item_id = mapping.item_id(row, inputs)
            if not in_shard(item_id, self.shard) or item_id in seen:
                continue
            seen.add(item_id)
            selected += 1
            if item_id in self.finished or (self.only is not None and item_id not in self.only):
                yield Done(item_id)
            else:
                yield Work(item_id, inputs)
