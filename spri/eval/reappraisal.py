"""Live reappraisal evaluation: generate with each method, judge every response, report.

For each RESORT item (post, response goal, expert principles, standards) and method, SPRI's
`reappraisal` profile writes a response (`oracle` = the item's expert principles, stage 1 skipped);
the judge model rates it for alignment with the item's standards (1-10), empathy (1-5), harmfulness
(1-5, lower is better) and factual consistency (1-5). Every finished (item, method) is appended to
``items.jsonl`` at once, so a re-run skips what is done; ``report.md`` and ``chart.png`` summarise.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from spri.api import ModelSpec, SpriError, arun, model_name
from spri.eval import check_methods
from spri.eval.judging import METRICS, rate
from spri.eval.reappraisal_scores import ReappraisalRow, reappraisal_table
from spri.eval.report import markdown_table
from spri.jsonl import AppendLog, read_jsonl

METHODS = ("vanilla", "self-refine", "spri", "oracle")
COLUMNS = ("model", "method", "alignment", "empathy", "harmfulness", "factual_consistency", "n")


def _check_items(items: list[dict[str, Any]], path: str, methods: Sequence[str]) -> None:
    needed = ["id", "post", "goal", "standards"] + (["oracle_principles"] if "oracle" in methods else [])
    for number, item in enumerate(items, 1):
        missing = [f for f in needed if not str(item.get(f) or "").strip()]
        if missing:
            raise SpriError(f"{path}, item {number}: missing field(s) {', '.join(missing)}")


async def evaluate_reappraisal(
    posts: str,
    methods: Sequence[str],
    *,
    model: ModelSpec,
    judge: ModelSpec,
    out_dir: str | Path,
    limit: int | None = None,
    concurrency: int = 4,
    on_done: Callable[[dict[str, Any]], None] | None = None,
    **options: Any,
) -> list[ReappraisalRow]:
    """Run and judge every (item, method) not yet in ``out_dir/items.jsonl``; return the summary rows."""
    check_methods(methods, METHODS)
    items = read_jsonl(posts)[:limit]
    _check_items(items, posts, methods)
    out = Path(out_dir)
    name = model_name(model)
    semaphore = asyncio.Semaphore(max(1, concurrency))
    with AppendLog(out / "items.jsonl") as log:
        done = log.keys("id", "method", "model")

        async def one(item: dict[str, Any], method: str) -> None:
            async with semaphore:
                record = await _generate_and_judge(item, method, model=model, judge=judge, **options)
            log.append(record)
            if on_done:
                on_done(record)

        await asyncio.gather(*(one(item, m) for item in items for m in methods if (item["id"], m, name) not in done))
        rows = reappraisal_table([r for r in log.records if r["model"] == name and r["method"] in methods])
    write_report(rows, out, title=f"Reappraisal evaluation: {name}, judged by {model_name(judge)}")
    return rows


async def _generate_and_judge(
    item: dict[str, Any], method: str, *, model: ModelSpec, judge: ModelSpec, **options: Any
) -> dict[str, Any]:
    fixed = {"method": "fixed-principles", "principles": item["oracle_principles"]} if method == "oracle" else {}
    result = await arun(
        item["post"],
        profile="reappraisal",
        goal=item["goal"],
        category=item.get("dimension"),
        model=model,
        **{"method": method, **fixed, **options},
    )
    record: dict[str, Any] = {
        "id": item["id"],
        "method": method,
        "model": model_name(model),
        "judge": model_name(judge),
        "principles": result.principles,
        "response": result.response,
        "stop_reason": result.stop_reason,
        "calls": result.calls,
    }
    variables = {"post": item["post"], "standards": item["standards"], "response": result.response or ""}
    judge_calls = 0
    for metric in METRICS:
        raw, score, usage = await rate(judge, metric, variables)
        record[f"{metric}_judge_output"] = raw
        record[metric] = score
        judge_calls += usage.calls
    record["judge_calls"] = judge_calls
    return record


def write_report(rows: Sequence[ReappraisalRow], out: Path, *, title: str) -> None:
    """``report.md`` (the table) and ``chart.png`` (one panel per metric, a bar per method)."""
    chart = out / "chart.png"
    _chart(rows, chart)
    lines = [
        f"# {title}",
        "",
        "Alignment with the item's standards 1-10; empathy, harmfulness (lower is better) and factual",
        "consistency 1-5; means over items whose judge output parsed.",
        "",
        markdown_table(rows, COLUMNS, digits=2),
        "",
        f"![scores by method]({chart.name})",
        "",
    ]
    (out / "report.md").write_text("\n".join(lines), encoding="utf-8")


def _chart(rows: Sequence[ReappraisalRow], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = [("alignment", 10), ("empathy", 5), ("harmfulness", 5), ("factual_consistency", 5)]
    figure, axes = plt.subplots(1, len(metrics), figsize=(4 * len(metrics), 3.6))
    labels = [f"{r.method}" if len({x.model for x in rows}) == 1 else f"{r.model}\n{r.method}" for r in rows]
    for axis, (metric, top) in zip(axes, metrics, strict=True):
        values = [getattr(r, metric) or 0.0 for r in rows]
        axis.bar(range(len(rows)), values, color=[f"C{i}" for i in range(len(rows))])
        axis.set_xticks(range(len(rows)), labels, rotation=30, ha="right", fontsize=8)
        axis.set_ylim(0, top)
        axis.set_title(metric.replace("_", " "))
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
