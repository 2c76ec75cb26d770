"""P4 — prefix reuse: the stable part of every prompt (role, rules, seed examples, scale) comes first.

(a) Embedded model: the drafting prompt of query 1, then of query 2, on one KV-cache slot (as the graph
does): llama.cpp evaluates only what differs, so query 2's prompt costs a fraction of query 1's.
(b) OpenAI-compatible servers: the requests SPRI sends for two different queries, captured at a local
server, share a byte-identical prefix (the system message with the seeds), which is what provider
prompt caches and vLLM's prefix caching key on; a refinement repeats its draft request as a prefix.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from spri import arun  # noqa: E402
from tests.support.fakes import critique, is_critic_prompt, scripted  # noqa: E402
from tests.support.openai_server import OpenAIServer, Reply, is_critic_request  # noqa: E402

QUERIES = ["How can I keep houseplants alive while travelling?", "What should I pack for a day hike?"]


async def _drafting_prompts() -> list[list[Any]]:
    prompts = []
    for query in QUERIES:
        model = scripted(default=lambda m: critique(5) if is_critic_prompt(m) else "1. A principle.")
        await arun(query, model=model, max_rounds=1)
        prompts.append(model.calls[0])  # draft_principles: system (role + seeds) + the query
    return prompts


def _embedded(prompts: list[list[Any]]) -> dict[str, Any]:
    from spri.models.embedded.chat_model import LocalChatModel

    model = LocalChatModel(max_tokens=1)
    model.load("p4").reset()
    timings, sizes = [], []
    for messages in prompts:
        start = time.perf_counter()
        reply = model.invoke(messages, slot="p4")
        timings.append(time.perf_counter() - start)
        sizes.append(reply.usage_metadata["input_tokens"])
    return {"seconds": timings, "tokens": sizes}


async def _http() -> dict[str, Any]:
    def policy(request: dict[str, Any]) -> Reply:
        if is_critic_request(request):
            score = 5 if "revised" in request["messages"][-1]["content"].split("under review:")[-1] else 2
            return Reply(tool_args={"feedback": "More detail.", "score": score})
        revised = any(m["role"] == "assistant" for m in request["messages"])
        return Reply(text="revised draft" if revised else "first draft")

    with OpenAIServer(policy) as server:
        os.environ.update(OPENAI_BASE_URL=server.base_url, OPENAI_API_KEY="bench")
        for query in QUERIES:
            await arun(query, model="openai:fake")
        requests = list(server.requests)
    drafts = [
        r
        for r in requests
        if not r.get("tools") and len(r["messages"]) == 2 and "guiding principles" in r["messages"][0]["content"]
    ]
    refine = next(
        r
        for r in requests
        if not r.get("tools") and len(r["messages"]) == 4 and "guiding principles" in r["messages"][0]["content"]
    )
    first, second = (json.dumps(d["messages"]) for d in drafts[:2])
    common = next(
        (i for i, (a, b) in enumerate(zip(first, second, strict=False)) if a != b), min(len(first), len(second))
    )
    return {
        "system_identical": drafts[0]["messages"][0] == drafts[1]["messages"][0],
        "system_bytes": len(json.dumps(drafts[0]["messages"][0])),
        "common_prefix": common,
        "request_bytes": len(first),
        "refine_extends_draft": refine["messages"][:2] == drafts[0]["messages"],
    }


async def measure() -> dict[str, Any]:
    prompts = await _drafting_prompts()
    return {"embedded": _embedded(prompts), "http": await _http()}


def report(r: dict[str, Any]) -> str:
    e, h = r["embedded"], r["http"]
    ratio = e["seconds"][1] / e["seconds"][0]
    return "\n".join(
        [
            "## P4 — prefix reuse",
            "",
            "(a) Embedded model, the `draft_principles` prompt (role, rules, 4 seed examples, then the query) "
            "for two different queries on one KV-cache slot, generating 1 token:",
            "",
            "| prompt | prompt tokens | time (s) |",
            "|---|---|---|",
            f"| query 1 (cold) | {e['tokens'][0]} | {e['seconds'][0]:.2f} |",
            f"| query 2 (shared prefix cached) | {e['tokens'][1]} | {e['seconds'][1]:.2f} |",
            "",
            f"Query 2 costs {ratio:.2f}x query 1's prompt processing.",
            "",
            "(b) OpenAI-compatible server, requests captured at 127.0.0.1:",
            "",
            f"- the system message (role, rules, seed examples; {h['system_bytes']} bytes) of `draft_principles` is "
            f"byte-identical for the two queries: {'yes' if h['system_identical'] else 'NO'};",
            f"- the two requests' `messages` share their first {h['common_prefix']} of {h['request_bytes']} bytes "
            "(everything before the query);",
            f"- a refinement's request starts with its draft's request verbatim: "
            f"{'yes' if h['refine_extends_draft'] else 'NO'}.",
        ]
    )


SECTION = "p4"
"""Which section of RESULTS.md this benchmark writes (``make bench`` finds benchmarks by it)."""
