"""What the embedded critic counts as copying: a seed example's item, an instruction or a feedback
sentence repeated word for word, and principles restated as instructions instead of an answer; and
which seed examples the embedded model is shown for a request."""

from __future__ import annotations

from langchain_core.messages import HumanMessage, SystemMessage

from spri.models import CallSite
from spri.models.embedded.call_options import call_options
from spri.models.embedded.copying import copies, fits, kept_examples, longest_run, restates
from spri.models.embedded.critic import principle_checks, text_checks
from spri.models.embedded.drafts import plan_draft
from spri.models.embedded.subject import Subject
from spri.nodes.profiles import load_profile
from spri.state import State

SEED_ITEM = (
    "Name the common causes that fit the symptom: memory growth from objects kept alive (caches, lists that "
    "only grow, global references), repeated work inside loops."
)
ANGER = "My partner yells at me whenever he is angry. How do I handle it?"


def test_a_long_run_of_shown_words_is_a_copy_and_a_short_one_is_not():
    copied = "1. Name the common causes that fit the symptom: memory growth from objects kept alive.\n2. Listen."
    assert longest_run(copied, SEED_ITEM) >= 10 and copies(copied, [SEED_ITEM])
    own = "1. Acknowledge how frightening it is to be yelled at.\n2. Name the common signs of abuse."
    assert longest_run(own, SEED_ITEM) < 6 and not copies(own, [SEED_ITEM])


def test_copied_principles_fail_a_check_that_caps_them_below_min_score():
    subject = Subject("principles", f"Request:\n{ANGER}", query=ANGER, shown=f"Examples:\n1. {SEED_ITEM}")
    seed_copy = f"1. {SEED_ITEM}\n2. Stay calm and listen to him.\n3. Find a safe place to go."
    assert principle_checks(subject, seed_copy, -2.0) == {"copies_shown": 2}
    feedback_copy = (
        "1. Name the points, facts, risks or tone that matter for this request.\n2. Stay calm.\n3. Get help."
    )
    assert principle_checks(Subject("principles", ANGER, query=ANGER), feedback_copy, -2.0) == {"copies_shown": 2}
    own = "1. Acknowledge how hurtful being yelled at is.\n2. Suggest raising it when he is calm.\n3. Name support."
    assert principle_checks(subject, own, -2.0) == {}


PRINCIPLES = (
    "1. Point out that the sky is blue, and explain why it's so important to us.\n"
    "2. Explain how sunlight is made of many colours.\n3. Use a simple comparison a child can picture."
)


def test_a_response_that_restates_the_principles_as_instructions_cannot_score_4():
    restated = (
        "1. Point out the sky is blue and explain why it is so important to us.\n"
        "2. Explain that sunlight has many colours, like a rainbow.\n"
        "3. Explain to a 10-year-old that the air scatters blue light the most."
    )
    assert restates(restated, PRINCIPLES)
    subject = Subject("response", "Request:\nWhy is the sky blue?", query="Why is the sky blue?", principles=PRINCIPLES)
    assert text_checks(subject, restated, -2.0, own=True)["restates_principles"] == 3
    answer = (
        "Sunlight looks white but holds every colour of the rainbow. When it passes through the air, tiny bits "
        "of air bounce the blue light around much more than the red light. So wherever you look in the sky, "
        "blue light reaches your eyes, and the sky looks blue."
    )
    assert not restates(answer, PRINCIPLES) and "restates_principles" not in text_checks(
        subject, answer, -2.0, own=True
    )
    steps = "Turn off the heat. Cover the pan with a lid. Leave the room and call the fire service if it spreads."
    assert not restates(steps, "1. Give the safe first action.\n2. Warn about water.\n3. Say when to call for help.")


def test_seed_examples_are_kept_only_for_requests_they_fit():
    python = "Why does my Python script get slower the longer it runs?"
    deposit = "My landlord wants to keep my whole security deposit for 'general wear'. What can I do?"
    assert not fits(python, ANGER) and not fits(python, "Explain to a 10-year-old why the sky is blue.")
    assert fits(python, "My Python script runs out of memory after an hour") and fits(
        deposit, "My landlord kept my deposit"
    )
    assert kept_examples(["py", "dep"], [python, deposit], "Can my landlord keep my deposit?") == ["dep"]


def test_the_embedded_model_is_shown_only_fitting_examples_and_told_what_not_to_copy():
    profile = load_profile("general")
    state = State(query=ANGER)
    stable = {"examples": [f"Request:\n{'Why does my Python script get slower?'}\n\nPrinciples:\n1. {SEED_ITEM}"]}
    stable["example_requests"] = ["Why does my Python script get slower the longer it runs?"]
    variables = {"query": ANGER, "goal": None, "input": f"Request:\n{ANGER}"}
    site = CallSite(
        role="base",
        max_tokens=512,
        stage="principles",
        step="draft",
        state=state,
        profile=profile,
        variables=variables,
        stable=lambda: stable,
    )
    options = call_options(site)
    rendered, shown = options["system"]
    assert SEED_ITEM in rendered and SEED_ITEM not in shown and "Examples of principles" not in shown
    chat = [{"role": "system", "content": rendered}, {"role": "user", "content": "Write the principles."}]

    class Words:
        def tokenize(self, text: bytes, add_bos: bool, special: bool) -> list[int]:
            return [hash(word) % 1000 for word in text.split()]

    plan = plan_draft(Words(), chat, options, max_tokens=512, seed=0, response_tokens=200)
    assert plan.chat[0] == {"role": "system", "content": shown}
    messages = [SystemMessage(content=rendered), HumanMessage(content="x")]
    assert messages[0].text == rendered  # the loop's rendering is what the model compares against
