"""SPRI's nodes, one module per stage (installed as ``spri.nodes``). Prompts live in ``prompts/``."""

from spri.nodes.begin import begin
from spri.nodes.finalize import finalize
from spri.nodes.principles import draft_principles, judge_principles, refine_principles
from spri.nodes.response import draft_response, judge_response, refine_response
from spri.nodes.review import review_principles

__all__ = [
    "begin",
    "draft_principles",
    "draft_response",
    "finalize",
    "judge_principles",
    "judge_response",
    "refine_principles",
    "refine_response",
    "review_principles",
]
