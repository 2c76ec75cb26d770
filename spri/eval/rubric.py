"""Live meta-evaluation of judging methods on BiGGen-style instances with human-scored responses.

Each response (a JSONL of ``id``, ``response``, ``human_score``; ids as ``{capability}_{task}_{idx}``)
is judged with SPRI's `rubric` profile under each method; `oracle` judges with the instance's gold
``score_rubric``. Under protocol 'default' SPRI writes its rubric once per instance (it never sees the
responses) and reuses it for the instance's other responses; under protocol 'paper', as the authors
did, it writes one per (instance, response), with the paper's seeds (the six Principle-Instruct
principles) unless others are given. Finished judgments go to ``items.jsonl`` (a re-run resumes) and
``judgments.csv`` (the meta CSV format); ``report.md`` holds the per-method agreement table.
"""

from __future__ import annotations

import asyncio
import csv
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from spri.api import ModelSpec, SpriError, arun, model_name
from spri.eval import check_methods
from spri.eval.arms import PRINCIPLE_INSTRUCT, paper_seed_file
from spri.eval.meta import META_COLUMNS, MetaRow, meta_table, parse_score
from spri.eval.methods import ORACLE, compared
from spri.eval.report import markdown_table
from spri.jsonl import AppendLog, read_jsonl


def _responses(path: str, instances: dict[str, dict[str, Any]], limit: int | None) -> list[dict[str, Any]]:
    rows = read_jsonl(path)
    seen: dict[str, int] = defaultdict(int)
    out = []
    for number, row in enumerate(rows, 1):
        missing = [f for f in ("id", "response", "human_score") if row.get(f) in (None, "")]
        if missing:
            raise SpriError(f"{path}, line {number}: missing field(s) {', '.join(missing)}")
        if row["id"] not in instances:
            raise SpriError(f"{path}, line {number}: no instance with id {row['id']!r} in the instances file")
        if parse_score(row["human_score"]) is None:
            raise SpriError(f"{path}, line {number}: human_score {row['human_score']!r} is not a number")
        key = str(row.get("response_id") or f"{row['id']}#{seen[row['id']]}")
        seen[row["id"]] += 1
        out.append({**row, "key": key})
    return out[:limit]


def _instances(path: str) -> dict[str, dict[str, Any]]:
    instances = {}
    for item in read_jsonl(path):
        instance_id = item.get("id") or f"{item.get('capability')}_{item.get('task')}_{item.get('instance_idx')}"
        instances[str(instance_id)] = item
    return instances


async def evaluate_rubric(
    instances_path: str,
    responses_path: str,
    methods: Sequence[str],
    *,
    model: ModelSpec,
    out_dir: str | Path,
    limit: int | None = None,
    with_reference: bool = False,
    concurrency: int = 4,
    on_done: Callable[[dict[str, Any]], None] | None = None,
    paper_seeds: str | Path | None = None,
    **options: Any,
) -> list[MetaRow]:
    """Judge every (response, method) not yet in ``out_dir/items.jsonl``; return the agreement table.
    ``paper_seeds``: the folder of the paper's released seed files (protocol paper, unless ``seeds`` is
    given; default: ``seeds/`` beside the instances file's folder, as released)."""
    check_methods(methods, compared("rubric"))
    protocol = options.get("protocol") or "default"
    if protocol == "paper" and not options.get("seeds"):
        options["seeds"] = paper_seed_file(instances_path, PRINCIPLE_INSTRUCT, paper_seeds)
    instances = _instances(instances_path)
    responses = _responses(responses_path, instances, limit)
    name = model_name(model)
    out = Path(out_dir)
    by_instance: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in responses:
        by_instance[row["id"]].append(row)
    semaphore = asyncio.Semaphore(max(1, concurrency))
    with AppendLog(out / "items.jsonl") as log:
        mine = [r for r in log.records if r.get("judge_model") == name and r.get("protocol", "default") == protocol]
        done = {(r["key"], r["method"]): r for r in mine}
        reuse = protocol != "paper"  # the paper writes SPRI's rubric anew for every response

        async def instance_method(instance_id: str, method: str) -> None:
            item = instances[instance_id]
            written = [r["rubric"] for r in done.values() if r["id"] == instance_id and r["method"] == "spri"]
            rubric = next((text for text in written if text), None) if method == "spri" and reuse else None
            for row in by_instance[instance_id]:
                if (row["key"], method) in done:
                    continue
                async with semaphore:
                    record = await _judge(
                        item, row, method, model=model, rubric=rubric, reference=with_reference, **options
                    )
                rubric = record["rubric"] if method == "spri" and reuse else rubric
                log.append(record)
                done[(row["key"], method)] = record
                if on_done:
                    on_done(record)

        await asyncio.gather(*(instance_method(i, m) for i in by_instance for m in methods))
        records = [r for r in log.records if r.get("judge_model") == name and r["method"] in methods]
        records = [r for r in records if r.get("protocol", "default") == protocol]
    table = meta_table(records)
    _write_outputs(records, table, out, name)
    return table


async def _judge(
    item: dict[str, Any],
    row: dict[str, Any],
    method: str,
    *,
    model: ModelSpec,
    rubric: str | None,
    reference: bool,
    **options: Any,
) -> dict[str, Any]:
    run_method, principles = method, None
    if method == ORACLE:
        run_method, principles = "fixed-principles", item.get("score_rubric")
    elif method == "spri" and rubric:  # the instance's rubric is already written: judge with it
        run_method, principles = "fixed-principles", rubric
    result = await arun(
        item["input"],
        profile="rubric",
        method=run_method,
        principles=principles,
        response_to_judge=row["response"],
        reference=item.get("reference_answer") if reference else None,
        category=item.get("capability"),
        extra={"system_prompt": item["system_prompt"]} if item.get("system_prompt") else None,
        model=model,
        **options,
    )
    return {
        "key": row["key"],
        "id": row["id"],
        "capability": item.get("capability"),
        "method": method,
        "judge_model": model_name(model),
        "human_score": row["human_score"],
        "judge_score": result.score,
        "rubric": result.rubric,
        "feedback": result.feedback,
        "calls": result.calls,
        "calls_per_role": result.calls_per_role,
        "protocol": options.get("protocol") or "default",
    }


def _write_outputs(records: list[dict[str, Any]], table: list[MetaRow], out: Path, name: str) -> None:
    with (out / "judgments.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["judge_model", "method", "id", "capability", "human_score", "judge_score"])
        for r in records:
            score = "" if r["judge_score"] is None else r["judge_score"]
            writer.writerow([r["judge_model"], r["method"], r["id"], r["capability"], r["human_score"], score])
    report = [
        f"# Judging methods with {name}",
        "",
        "Agreement of judge scores with human scores, per capability, averaged over capabilities.",
        "",
        markdown_table(table, META_COLUMNS),
        "",
    ]
    (out / "report.md").write_text("\n".join(report), encoding="utf-8")
