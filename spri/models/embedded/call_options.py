"""What the embedded model takes from where a call is made (a :class:`spri.models.CallSite`).

- a KV-cache slot per role and stage, so calls that share a prompt prefix reuse it;
- for a draft: the profile's grammar for the stage, the plain parts of what is written (a
  :class:`Subject`), which spri.models.embedded.drafts uses to keep the draft clean, and the system
  message without the seed examples whose request does not fit this one (a 135M model copies them);
- for a verdict on a draft (or, in a judgment, on the given response): the Subject, read by the critic
  from log-probabilities (spri.models.embedded.critic); any other verdict (on a judgment draft) is
  sampled under the 'Feedback: ... / Score: N' grammar with its score the probability-weighted digit.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from spri.models.embedded.copying import kept_examples
from spri.models.embedded.drafts import draft_options
from spri.models.embedded.subject import Subject
from spri.models.sites import CallSite

READ_VERDICT = "read_verdict"
"""Call option: a verdict read by the critic about this Subject (as a dict), not generated."""
SAMPLED_VERDICT = "sampled_verdict"
"""Call option: a verdict generated under the critic grammar, its score weighted by digit probabilities."""


def call_options(site: CallSite) -> dict[str, Any]:
    """The call options of the embedded model at ``site``."""
    if _is_verdict(site):
        subject = verdict_subject(site)
        if subject is None:
            return {"slot": site.slot, SAMPLED_VERDICT: True}
        return {"slot": site.slot, READ_VERDICT: asdict(subject)}
    options = draft_options(_grammar(site), site.slot, draft_subject(site))
    shown, fitting = _systems(site)
    if fitting != shown:
        options["system"] = [shown, fitting]  # the system message as rendered -> as shown
    return options


def _systems(site: CallSite) -> tuple[str, str]:
    """The stage's system message with all its seed examples, and with those whose request fits the
    query ('' for both where the stage shows no examples)."""
    if site.profile is None or site.stage is None or site.state is None:
        return "", ""
    stable = dict(site.stable())
    examples, requests = list(stable.get("examples") or []), list(stable.get("example_requests") or [])
    if not examples or len(requests) != len(examples):
        return "", ""
    kept = kept_examples(examples, requests, site.state.query or "")
    if len(kept) == len(examples):
        return "", ""
    system = site.profile.render(site.stage, "system", site.variant, site.fields, **{**site.variables, **stable})
    fitting = site.profile.render(
        site.stage, "system", site.variant, site.fields, **{**site.variables, **stable, "examples": kept}
    )
    return system, fitting


def _is_verdict(site: CallSite) -> bool:
    if site.step == "judge":
        return True
    return site.profile is not None and site.stage is not None and site.profile.stage(site.stage).output == "verdict"


def _grammar(site: CallSite) -> str:
    if site.grammar or site.profile is None or site.stage is None:
        return site.grammar
    return site.profile.render(site.stage, "grammar", max_chars=(site.max_tokens - 16) * 3)


def _parts(site: CallSite) -> dict[str, Any]:
    assert site.state is not None and site.stage is not None
    return {
        "stage": site.stage,
        "request": site.variables.get("input") or "",
        "query": site.state.query or "",
        "principles": site.variables.get("principles"),
    }


def draft_subject(site: CallSite) -> Subject | None:
    """A draft's parts: the request, the principles it follows, and in a revision the draft revised and
    the feedback it answers."""
    if site.state is None or site.stage is None:
        return None
    revised = site.state.current(site.stage) if site.step == "refine" else None
    feedback = site.state.next_feedback(site.stage) if revised is not None else None
    return Subject(**_parts(site), draft=revised, feedback=feedback)


def verdict_subject(site: CallSite) -> Subject | None:
    """What a verdict is about: the stage's current draft (a text draft; a verdict written by the base
    model is not read this way), or, for the base model's judgment, the response given to judge."""
    if site.state is None or site.stage is None or site.profile is None:
        return None
    if site.step != "judge":  # a judgment profile's base model judging the given response
        return Subject(**_parts(site), judged=site.state.response_to_judge or "")
    if site.profile.stage(site.stage).output != "text":
        return None
    return Subject(**_parts(site), draft=site.state.current(site.stage), shown=_shown(site))


def _shown(site: CallSite) -> str:
    """What the writer of the stage's drafts was shown besides the input: the system message with every
    seed example, and each feedback so far."""
    assert site.profile is not None and site.stage is not None and site.state is not None
    stable = dict(site.stable())
    system = site.profile.render(site.stage, "system", site.variant, site.fields, **{**site.variables, **stable})
    feedback = [c.feedback for c in site.state.critiques.get(site.stage, [])]
    return "\n".join([system, *feedback])
