"""With LangSmith tracing on, each finished run's final critic scores become feedback on its root run
(keys ``principles_score`` and ``response_score``), so runs can be filtered and charted by score."""

from __future__ import annotations

import uuid
import warnings
from typing import Any

from spri.state import Output


def tracing_on() -> bool:
    from langsmith.utils import tracing_is_enabled

    return bool(tracing_is_enabled())


def record_scores(run_id: uuid.UUID | str, result: Output) -> None:
    """Send the scores as feedback on ``run_id`` (blocking: call it off the event loop)."""
    from langchain_core.tracers.langchain import get_client

    client: Any = get_client()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # LangSmith's notice about feedback without a project id
        for stage, score in result.final_scores.items():
            if score is None:
                continue
            client.create_feedback(
                run_id, f"{stage}_score", score=float(score), comment="SPRI: the critic's final score"
            )
