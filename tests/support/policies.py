"""Ways the loopback OpenAI-compatible server (:mod:`tests.support.openai_server`) answers: each a pure
function of the request, so every process, server and resumed run sees the same run."""

from __future__ import annotations

from typing import Any

from tests.support.openai_server import Reply, is_critic_request


def deterministic(request: dict[str, Any]) -> Reply:
    """Refines each stage once: a first draft scores 2, its revision 5. Replies depend on the prompt only."""
    messages = request["messages"]
    if is_critic_request(request):
        # the draft shown for review (a format-reminder retry comes after it and repeats nothing)
        shown = [m["content"] for m in messages if "under review:" in (m.get("content") or "")]
        under_review = (shown or [messages[-1]["content"]])[-1].split("under review:")[-1]
        score = 5 if "revised" in under_review else 2
        return Reply(tool_args={"feedback": "Be more specific.", "score": score})
    revised = any(m["role"] == "assistant" for m in messages)
    kind = "principles" if "guiding principles" in messages[0]["content"] else "response"
    return Reply(text=f"{'revised ' if revised else ''}{kind} text")


def accepting(delay: float = 0.0):
    """The critic accepts every first draft; a draft names the end of its query. ``delay`` per reply."""

    def policy(request: dict[str, Any]) -> Reply:
        if is_critic_request(request):
            return Reply(tool_args={"feedback": "Good.", "score": 5}, delay=delay)
        return Reply(text="draft for " + request["messages"][1]["content"][-30:], delay=delay)

    return policy


def principle_drafts(requests: list[dict[str, Any]]) -> int:
    """How many of these requests drafted or refined principles."""
    return sum(1 for r in requests if not is_critic_request(r) and "guiding principles" in r["messages"][0]["content"])
