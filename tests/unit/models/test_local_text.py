"""The embedded model's text clean-up and checks (no model): the no-repeat-n-gram ban on synthetic
logits, trimming to the last full sentence, the measures the critic's checks use, and how a draft is
planned (notes, token cap, seed of a revision)."""

from __future__ import annotations

import numpy as np
import pytest

from spri.models.embedded.answers import AnswerParts
from spri.models.embedded.critic import (
    FLUENCY_WEIGHT,
    PRINCIPLE_BANDS,
    RESPONSE_BANDS,
    SURPRISE_WEIGHT,
    Reading,
    critique_feedback,
    judgment_feedback,
    principle_checks,
    text_checks,
)
from spri.models.embedded.drafts import draft_options, emphasis, plan_draft
from spri.models.embedded.subject import Subject
from spri.models.embedded.text import (
    NoRepeatNGram,
    clean_response,
    ends_sentence,
    items,
    near_duplicates,
    repetition,
    share_in,
    trim_to_sentence,
)

VOCAB = 32


def _logits() -> np.ndarray:
    return np.zeros(VOCAB, dtype=np.float32)


def test_no_repeat_ngram_bans_the_token_that_would_repeat_a_generated_4gram():
    ban = NoRepeatNGram(prompt_length=2, n=4)
    # prompt [9, 9], then generated 5 6 7 8 5 6 7: the next 8 would repeat "5 6 7 8"
    out = ban(np.array([9, 9, 5, 6, 7, 8, 5, 6, 7]), _logits())
    assert out[8] == pytest.approx(-1e4)
    assert np.count_nonzero(out) == 1


def test_no_repeat_ngram_ignores_the_prompt_and_shorter_repeats():
    ban = NoRepeatNGram(prompt_length=4, n=4)
    # "1 2 3 4" is in the prompt only; generated 1 2 3 has no earlier 4-gram of its own
    assert not np.any(ban(np.array([1, 2, 3, 4, 1, 2, 3]), _logits()))
    # a repeated 3-gram alone bans nothing
    assert not np.any(NoRepeatNGram(prompt_length=0, n=4)(np.array([1, 2, 3, 1, 2]), _logits()))


def test_no_repeat_ngram_takes_the_first_input_as_the_prompt():
    ban = NoRepeatNGram(None, n=4)
    assert not np.any(ban(np.array([5, 6, 7, 8, 5, 6, 7]), _logits()))  # all prompt at the first call
    out = ban(np.array([5, 6, 7, 8, 5, 6, 7, 1, 2, 3, 4, 1, 2, 3]), _logits())
    assert out[4] == pytest.approx(-1e4) and np.count_nonzero(out) == 1


def test_no_repeat_ngram_bans_copying_5grams_of_a_source():
    ban = NoRepeatNGram(prompt_length=1, n=4, source=[10, 11, 12, 13, 14], source_n=5)
    out = ban(np.array([0, 10, 11, 12, 13]), _logits())
    assert out[14] == pytest.approx(-1e4) and np.count_nonzero(out) == 1
    assert not np.any(ban(np.array([0, 10, 11, 12]), _logits()))


def test_a_ban_lowers_the_logit_but_keeps_it_finite():
    out = NoRepeatNGram(0, n=2)(np.array([3, 3]), _logits())
    assert np.isfinite(out[3]) and out[3] < -1000


def test_trim_cuts_after_the_last_full_sentence():
    assert trim_to_sentence("Boil the water. Add the egg. This can be done by") == "Boil the water. Add the egg."
    assert trim_to_sentence('He said "stop." Then he left. And') == 'He said "stop." Then he left.'
    assert trim_to_sentence("Done!") == "Done!"


def test_trim_does_not_take_a_list_number_for_a_sentence_end():
    text = "Steps:\n1. Heat the pan.\n2. Add oil.\n3."
    assert trim_to_sentence(text) == "Steps:\n1. Heat the pan.\n2. Add oil."


def test_trim_drops_a_trailing_line_that_only_announces_more():
    text = "Sleep in a cool room. Drink water.\nHere are more tips:\n- Use a"
    assert trim_to_sentence(text) == "Sleep in a cool room. Drink water."


def test_trim_keeps_text_it_would_mostly_lose():
    text = "Short. " + "and then a very long unfinished clause that goes on " * 3
    assert trim_to_sentence(text) == text.strip()


def test_trim_drops_a_last_sentence_with_an_unclosed_quote():
    text = 'Be polite and calm in every message you send. Ask what went wrong and listen. Say: "Hey, I am sorry.'
    assert trim_to_sentence(text) == "Be polite and calm in every message you send. Ask what went wrong and listen."


def test_clean_response_drops_an_announcing_line_and_wrapping_quotes():
    assert clean_response("Sure, here's my answer:\nKeep the room cool. Use a fan. Then") == (
        "Keep the room cool. Use a fan."
    )
    assert clean_response('"Keep the room cool at night."') == "Keep the room cool at night."
    assert ends_sentence(clean_response("Keep cool. Drink water. Avoid")) is True


def test_measures():
    assert items("1. Be kind.\n2) Be brief.\nnot an item") == ["Be kind.", "Be brief."]
    assert items("Be kind.\nBe brief.") == ["Be kind.", "Be brief."]
    assert near_duplicates(["Use a shopping list to make it easy.", "Use a shopping list, and make it easy."]) == 1
    assert near_duplicates(["Use a shopping list.", "Cook rice in bulk on Sunday."]) == 0
    assert repetition("a b c a b c a b c") > 0.25 and repetition("one two three four five") == 0
    assert share_in("how do i boil an egg", "How do I boil an egg?") == 1.0


REQUEST = "Request:\nHow do I boil an egg so the yolk is still a little soft?"
PRINCIPLES = "1. Give a time range.\n2. Describe the steps in order.\n3. Keep it short."


def test_text_checks_cap_the_score():
    subject = Subject("response", REQUEST, principles=PRINCIPLES)
    good = "Lower the egg into boiling water and cook it for six to seven minutes, then cool it in cold water."
    assert text_checks(subject, good, -3.0, own=True) == {}
    assert text_checks(subject, good, -7.0, own=True) == {"nonsense": 1}
    assert text_checks(subject, "How do I boil an egg so the yolk is still a little soft?", -2.0, own=True) == {
        "copies_request": 2,
        "short": 3,
    }
    meta = "Here's a rewritten version of the principles: cook the egg for six minutes and then cool it down."
    assert text_checks(subject, meta, -2.0, own=True) == {"meta": 2}
    assert text_checks(subject, meta, -2.0, own=False) == {}  # a given response is not checked for meta text
    assert text_checks(subject, good[:-1] + " and then", -3.0, own=True) == {"truncated": 3}


def test_a_judged_response_is_not_taken_for_a_copy_of_the_input_that_shows_it():
    answer = "Lower the egg into boiling water and cook it for six to seven minutes, then cool it in cold water."
    shown = f"{REQUEST}\n\nResponse to evaluate:\n{answer}"
    judged = Subject("response", shown, query="How do I boil an egg so the yolk is still a little soft?", judged=answer)
    assert text_checks(judged, answer, -3.0, own=False) == {}


def test_principle_checks():
    subject = Subject("principles", REQUEST)
    assert principle_checks(subject, PRINCIPLES, -3.0) == {}
    assert principle_checks(subject, "1. Be kind.\n2. Be brief.", -3.0) == {"item_count": 3}
    dup = "1. Use a shopping list to make it easy.\n2. Use a shopping list, and make it easy.\n3. Keep it short."
    assert principle_checks(subject, dup, -3.0) == {"duplicate_items": 2}


@pytest.mark.parametrize(
    ("value", "score"),
    [(-0.5, 1), (-0.001, 1), (0.0, 2), (0.05, 2), (0.1, 3), (0.2, 4), (0.49, 4), (0.5, 5), (3.0, 5)],
)
def test_bands_and_the_continuous_score(value, score):
    expected = Reading(value, PRINCIPLE_BANDS).expected()
    assert 1.0 <= expected <= 5.0
    assert int(expected + 0.5) == score


def test_a_failed_check_caps_the_continuous_score():
    assert Reading(0.9, PRINCIPLE_BANDS, failed={"truncated": 3}).expected() == 3.0
    assert Reading(0.9, PRINCIPLE_BANDS, failed={"truncated": 3, "nonsense": 1}).expected() == 1.0
    low = Reading(0.12, PRINCIPLE_BANDS, failed={"truncated": 3}).expected()
    assert 2.5 <= low < 3.0  # a cap above the contrast leaves it alone


def test_feedback_names_the_least_covered_principles():
    listed = ["Give a time range.", "Describe the steps in order.", "Keep it short."]
    two = critique_feedback(Reading(0.05, RESPONSE_BANDS, [0.3, -0.2, -0.1]), "critique", 2, listed)
    assert two == (
        'Apply principle 2 ("Describe the steps in order.") and principle 3 ("Keep it short.") more directly, '
        "with concrete details for this request."
    )
    one = critique_feedback(
        Reading(0.15, RESPONSE_BANDS, [0.3, -0.2, 0.4], failed={"truncated": 3}), "critique", 3, listed
    )
    assert one.startswith("It stops mid-sentence. End with a complete sentence. Apply principle 2 (")
    assert critique_feedback(Reading(1.2, RESPONSE_BANDS, [0.3, 0.3, 0.3]), "critique", 4, listed) == (
        "Clear, specific and on topic; keep it."
    )
    assert judgment_feedback(Reading(0.9, RESPONSE_BANDS, failed={"nonsense": 1}), 1) == (
        "The text does not read as sensible sentences."
    )


class _Tokenizer:
    def tokenize(self, text: bytes, add_bos: bool, special: bool) -> list[int]:
        return [len(word) for word in text.split()]


def test_a_response_draft_is_planned_with_notes_a_cap_and_a_ban_on_copying():
    subject = Subject("response", REQUEST, query="How do I boil an egg?", principles=PRINCIPLES)
    options = draft_options("", "base:response", subject)
    chat = [{"role": "system", "content": "role"}, {"role": "user", "content": "rendered prompt"}]
    plan = plan_draft(_Tokenizer(), chat, options, max_tokens=512, seed=0, response_tokens=200)
    assert plan.max_tokens == 200 and plan.seed == 0 and plan.response
    assert plan.chat[1] == {"role": "user", "content": "How do I boil an egg?"}
    assert plan.chat[0]["content"].endswith("\n" + PRINCIPLES) and "Most important" not in plan.chat[0]["content"]
    assert len(plan.processors) == 1 and plan.processors[0].followers
    assert plan.finish("Boil it. Cool it. Then") == ("Boil it. Cool it.", True)
    assert plan.finish("Boil it. Cool it.") == ("Boil it. Cool it.", False)


def test_a_response_revision_is_a_fresh_draft_stressing_the_named_principles_with_a_new_seed():
    feedback = 'It stops mid-sentence. Apply principle 2 ("Describe the steps in order.") more directly.'
    subject = Subject("response", REQUEST, query="How?", principles=PRINCIPLES, draft="Old.", feedback=feedback)
    chat = [
        {"role": "system", "content": "s"},
        {"role": "user", "content": "u"},
        {"role": "assistant", "content": "Old."},
        {"role": "user", "content": "revise"},
    ]
    plan = plan_draft(
        _Tokenizer(), chat, draft_options("", "base:response", subject), max_tokens=96, seed=0, response_tokens=200
    )
    assert plan.seed == 1 and plan.max_tokens == 96 and len(plan.chat) == 2
    assert plan.chat[0]["content"].endswith("\nMost important: Describe the steps in order.")
    assert emphasis("Say each point once.") == "Say each point once."


def test_principles_keep_their_grammar_and_may_not_copy_what_they_were_shown():
    options = draft_options("root ::= x", "base:principles", Subject("principles", REQUEST))
    system = "Write principles. Examples: one two three four five six seven"
    chat = [{"role": "system", "content": system}, {"role": "user", "content": "u"}]
    plan = plan_draft(_Tokenizer(), chat, options, max_tokens=512, seed=0, response_tokens=200)
    assert options["grammar"] == "root ::= x" and not plan.response and plan.max_tokens == 512
    banned = plan.processors[0]
    assert len(plan.processors) == 1
    assert 4 in banned.banned([3, 3, 5, 4])  # "one two three four" (word lengths) -> "five" copies the system
    bare = plan_draft(_Tokenizer(), chat, {"slot": "critic"}, max_tokens=64, seed=0, response_tokens=200)
    assert bare.processors == [] and bare.chat is chat and bare.max_tokens == 64


@pytest.mark.parametrize(
    "text",
    [
        "Here's my answer:\nStart small. Keep a list of chores. Ask for help when it piles up. Then you can",
        "Start small. Keep a list.\n1. Make a plan. 2. Stick to it. 3. Review it weekly. And then",
        'She said "stop." Then she left. He waited. Nothing "happened',
        '"A reply quoted whole. It ends here."',
        "Sure, here is a summary of",
        "No sentence end at all",
    ],
)
def test_a_streamed_response_adds_up_to_the_finished_draft(text):
    """Streamed piece by piece (as tokens come), what is let out adds up to what the whole reply is
    finished to, and no piece is let out that finishing would take back."""
    from spri.models.embedded.drafts import DraftPlan
    from spri.models.embedded.streaming import Finished

    plan = DraftPlan([], 200, 0, response=True)
    finished = Finished(plan.finish)
    out, pieces = "", [text[i : i + 3] for i in range(0, len(text), 3)]
    for piece in pieces:
        out += finished.feed(piece)
        assert plan.finish(finished.text)[0].startswith(out) or not out
    rest, trimmed = finished.close()
    assert out + rest == plan.finish(text)[0] and trimmed == plan.finish(text)[1]


def test_an_answer_reads_as_more_correct_when_checked_yes_unsurprising_and_fluent():
    right = AnswerParts(checks=[0.5, 1.0], baseline=[-1.0, 0.0], surprise=-3.0, fluency=-2.0)
    assert right.correctness(SURPRISE_WEIGHT, FLUENCY_WEIGHT) == pytest.approx(0.75 + 1.25 - 0.6 - 0.5)
    for worse in (
        AnswerParts(checks=[0.0, 1.0], baseline=[-1.0, 0.0], surprise=-3.0, fluency=-2.0),  # less sure it is right
        AnswerParts(checks=[0.5, 1.0], baseline=[-1.0, 0.0], surprise=-5.0, fluency=-2.0),  # surprising tokens
        AnswerParts(checks=[0.5, 1.0], baseline=[-1.0, 0.0], surprise=-3.0, fluency=-3.0),  # less fluent
    ):
        assert worse.correctness(SURPRISE_WEIGHT, FLUENCY_WEIGHT) < right.correctness(SURPRISE_WEIGHT, FLUENCY_WEIGHT)
