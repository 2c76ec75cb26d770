"""Live reappraisal evaluation: generate with each method, judge every response, report.

For each RESORT item (post, response goal, expert principles, standards) and method (or ablation
setting, see :mod:`spri.eval.arms`), SPRI's `reappraisal` profile writes a response; the judge model
rates it. Protocol 'default': alignment with the item's standards (1-10), empathy (1-5), harmfulness
(1-5, lower is better) and factual consistency (1-5), with this project's judge prompts. Protocol
'paper': the paper's judges: alignment (1-10, with the response's aim), empathy (1-5), harm (share
judged harmful, 0-1) and factuality (1 yes, 0.5 minor error, 0 no). Every finished (item, method) is
appended to ``items.jsonl`` at once, so a re-run skips what is done; ``report.md`` and ``chart.png``
summarise, with Table 1's significance marks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from spri.api import ModelSpec, SpriError, arun, model_name
from spri.eval import check_methods
from spri.eval.arms import Arm, ablation_arms, reappraisal_arms, write_sequence
from spri.eval.judging import METRICS, rate
from spri.eval.methods import ORACLE, compared
from spri.eval.reappraisal_scores import ReappraisalRow, reappraisal_table
from spri.eval.report import markdown_table
from spri.jsonl import AppendLog, read_jsonl

SCALES = {
    "default": "Alignment with the item's standards 1-10; empathy, harmfulness (lower is better) and factual "
    "consistency 1-5",
    "paper": "The paper's judges: alignment with the item's standards 1-10; empathy 1-5; harm, the share judged "
    "harmful (0-1); factuality 1 (consistent), 0.5 (minor error), 0 (not)",
}


def columns(protocol: str) -> tuple[str, ...]:
    return ("model", "method", *METRICS[protocol], "calls", "n")


def _check_items(items: list[dict[str, Any]], path: str, arms: Sequence[Arm]) -> None:
    needed = ["id", "post", "goal", "standards"]
    needed += ["oracle_principles"] if any(arm.item_principles for arm in arms) else []
    for number, item in enumerate(items, 1):
        missing = [f for f in needed if not str(item.get(f) or "").strip()]
        if missing:
            raise SpriError(f"{path}, item {number}: missing field(s) {', '.join(missing)}")


def plan_arms(
    posts: str,
    methods: Sequence[str],
    out: Path,
    protocol: str,
    ablation: str | None,
    options: dict[str, Any],
    paper_seeds: str | Path | None = None,
) -> list[Arm]:
    """The arms to run: the paper's ablation of SPRI, or one per method."""
    if ablation:
        return ablation_arms(ablation, posts, paper_seeds)
    check_methods(methods, compared("reappraisal"))
    sequence = out / "oracle_constitutions.jsonl"
    if protocol == "paper" and ORACLE in methods:
        write_sequence(read_jsonl(posts), sequence)
    return reappraisal_arms(methods, protocol, posts, options, sequence, paper_seeds)


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
    protocol: str = "default",
    ablation: str | None = None,
    paper_seeds: str | Path | None = None,
    **options: Any,
) -> list[ReappraisalRow]:
    """Run and judge every (item, method) not yet in ``out_dir/items.jsonl``; return the summary rows.
    ``ablation`` ('seeds' or 'min-score') compares the paper's SPRI settings instead of methods.
    ``paper_seeds``: the folder of the paper's released seed files (protocol paper; default: ``seeds/``
    beside the posts file's folder, as released)."""
    out = Path(out_dir)
    protocol = "paper" if ablation else protocol
    arms = plan_arms(posts, methods, out, protocol, ablation, options, paper_seeds)
    items = read_jsonl(posts)[:limit]
    _check_items(items, posts, arms)
    name = model_name(model)
    semaphore = asyncio.Semaphore(max(1, concurrency))
    with AppendLog(out / "items.jsonl") as log:
        done = {(r["id"], r["method"], r["model"], r.get("protocol", "default")) for r in log.records}

        async def one(item: dict[str, Any], arm: Arm) -> None:
            async with semaphore:
                record = await _generate_and_judge(item, arm, model=model, judge=judge, protocol=protocol, **options)
            log.append(record)
            if on_done:
                on_done(record)

        todo = [(i, a) for i in items for a in arms if (i["id"], a.name, name, protocol) not in done]
        await asyncio.gather(*(one(item, arm) for item, arm in todo))
        names = {a.name for a in arms}
        mine = [r for r in log.records if r["model"] == name and r.get("protocol", "default") == protocol]
        rows = reappraisal_table([r for r in mine if r["method"] in names])
    title = f"Reappraisal evaluation: {name}, judged by {model_name(judge)} (protocol {protocol})"
    write_report(rows, out, title=title, protocol=protocol)
    return rows


async def _generate_and_judge(
    item: dict[str, Any], arm: Arm, *, model: ModelSpec, judge: ModelSpec, protocol: str, **options: Any
) -> dict[str, Any]:
    fixed = {"principles": item["oracle_principles"]} if arm.item_principles else {}
    settings = {"profile": "reappraisal", **options, "protocol": protocol, **arm.options, **fixed}
    result = await arun(item["post"], goal=item["goal"], category=item.get("dimension"), model=model, **settings)
    record: dict[str, Any] = {
        "id": item["id"],
        "method": arm.name,
        "model": model_name(model),
        "judge": model_name(judge),
        "protocol": protocol,
        "principles": result.principles,
        "response": result.response,
        "stop_reason": result.stop_reason,
        "calls": result.calls,
        "calls_per_role": result.calls_per_role,
    }
    variables = {"post": item["post"], "goal": item["goal"], "standards": item["standards"]}
    variables["response"] = result.response or ""
    judge_calls = 0
    for metric in METRICS[protocol]:
        raw, score, usage = await rate(judge, metric, variables, protocol=protocol)
        record[f"{metric}_judge_output"] = raw
        record[metric] = score
        judge_calls += usage.calls
    record["judge_calls"] = judge_calls
    return record


def write_report(rows: Sequence[ReappraisalRow], out: Path, *, title: str, protocol: str = "default") -> None:
    """``report.md`` (the table, significance marks beside the numbers) and ``chart.png`` (one panel
    per metric, a bar per method)."""
    chart = out / "chart.png"
    _chart(rows, chart, protocol)
    lines = [
        f"# {title}",
        "",
        f"{SCALES[protocol]}; means over items whose judge output parsed; calls: model calls per item.",
        "`*`: better than vanilla, `†`: better than self-refine (paired two-sided t-test, p < 0.05).",
        "",
        markdown_table(rows, columns(protocol), digits=2),
        "",
        _unparsed_line(rows),
        "",
        f"![scores by method]({chart.name})",
        "",
    ]
    (out / "report.md").write_text("\n".join(lines), encoding="utf-8")


def _unparsed_line(rows: Sequence[ReappraisalRow]) -> str:
    """How many judge outputs did not parse, per method and metric (they are left out of the means)."""
    counts = [
        f"{row.method}: " + ", ".join(f"{metric} {count}" for metric, count in row.unparsed_by_metric.items())
        for row in rows
        if row.unparsed_by_metric
    ]
    return "Judge outputs that did not parse (left out): " + ("; ".join(counts) if counts else "none") + "."


def _chart(rows: Sequence[ReappraisalRow], path: Path, protocol: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = [(m, 10 if m == "alignment" else 1 if m in ("harm", "factuality") else 5) for m in METRICS[protocol]]
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
