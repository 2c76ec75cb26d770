"""A run given a conversation: its last user turn is the query, the turns before it are shown to both
stages (bounded by conversation_chars, oldest left out first, with a marker), and the paper's
single-turn prompts refuse it."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from spri import arun, run
from spri.api import Context, InputError, astream, build_graph, make_context, make_input
from spri.state.conversation import LEFT_OUT, bounded
from tests.support.fakes import critique, is_critic_prompt, scripted
from tests.support.paper import PAPER_SEEDS

LETTER = [
    {"role": "user", "content": "My landlord kept my deposit without a reason."},
    {"role": "assistant", "content": "Write him a formal letter asking for it back within 14 days."},
    {"role": "user", "content": "And if he ignores my letter?"},
]


def accepting():
    """A model that writes principles and responses and accepts every draft; it records its prompts."""
    return scripted(default=lambda messages: critique(5) if is_critic_prompt(messages) else "1. Be concrete.")


def prompt_of(call) -> str:
    return "\n".join(message.text for message in call)


def test_the_follow_ups_prompts_show_the_earlier_turns_and_answer_the_last():
    model = accepting()
    result = run({"messages": LETTER}, model=model)
    assert result.response == "1. Be concrete."
    assert len(model.calls) == 4  # principles drafted and judged, response drafted and judged
    for call in model.calls:
        text = prompt_of(call)
        assert "User: My landlord kept my deposit without a reason." in text
        assert "Assistant: Write him a formal letter" in text
        assert "Request:\nAnd if he ignores my letter?" in text
        assert "User: And if he ignores my letter?" not in text  # the query is shown once, as the request
        assert call[0].type == "system" and "without a reason" not in call[0].text  # the stable prefix stays stable


def test_a_single_query_shows_no_conversation():
    model = accepting()
    run("And if he ignores my letter?", model=model)
    assert not any("conversation" in prompt_of(call) for call in model.calls)


async def test_langchain_messages_and_a_query_given_beside_them():
    model = accepting()
    messages = [HumanMessage("My landlord kept my deposit."), AIMessage("Write him a letter.")]
    await arun({"query": "And if he ignores it?", "messages": messages}, model=model)
    text = prompt_of(model.calls[0])
    assert "User: My landlord kept my deposit.\n\nAssistant: Write him a letter." in text
    assert "Request:\nAnd if he ignores it?" in text
    items = [item async for item in astream({"messages": [*messages, HumanMessage("Then what?")]}, model=accepting())]
    assert items[-1].response == "1. Be concrete."


def test_the_input_keeps_the_conversation_as_plain_turns():
    ctx = make_context(model=accepting())
    blocks = {"role": "user", "content": [{"type": "text", "text": "Help me."}]}
    messages = [SystemMessage("Be brief."), ("human", "Hi"), {"type": "ai", "content": "Hello"}, blocks]
    inputs = make_input({"messages": messages}, ctx)
    assert inputs.query == "Help me."
    assert inputs.model_dump()["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"},
        {"role": "user", "content": "Help me."},
    ]


@pytest.mark.parametrize(
    ("messages", "problem"),
    [
        ([{"role": "assistant", "content": "Hello"}], "messages hold no user turn with text"),
        (
            [{"role": "wizard", "content": "Hi"}],
            "message 1 has role 'wizard': use one of user, assistant, system, tool",
        ),
        ([{"role": "user", "content": "Hi"}, 7], "message 2 is no message"),
        ("Hi", "messages must be a list of messages"),
    ],
)
def test_a_conversation_that_cannot_be_read_is_refused_in_one_line(messages, problem):
    model = scripted()
    with pytest.raises(InputError) as refused:
        run({"messages": messages}, model=model)
    assert str(refused.value).startswith(problem) and "\n" not in str(refused.value)
    assert model.calls == []


def test_a_long_conversation_stays_within_the_budget_oldest_turns_left_out_first():
    turns = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": f"Turn {i}: " + "words " * 20} for i in range(200)
    ]
    model = accepting()
    run({"messages": [*turns, {"role": "user", "content": "So what now?"}]}, model=model, conversation_chars=1500)
    text = prompt_of(model.calls[0])
    shown = text.split("The conversation so far, oldest turn first:\n", 1)[1].split("\n\nThe request below", 1)[0]
    marker, rest = shown.split("\n\n", 1)
    kept = rest.count("Turn ")
    assert marker == LEFT_OUT.format(count=200 - kept, s="s")
    assert 0 < kept < 200 and len(rest) <= 1500
    assert "Turn 199:" in rest and "Turn 0:" not in rest  # the newest turns stay


def test_the_budget_cuts_turns_whole_and_keeps_the_end_of_a_newest_turn_too_long_for_it():
    turns = [{"role": "user", "content": "a" * 10}, {"role": "assistant", "content": "b" * 10}]
    assert bounded(turns, 1000) == "User: aaaaaaaaaa\n\nAssistant: bbbbbbbbbb"
    assert bounded(turns, 25) == "[1 earlier turn left out]\n\nAssistant: bbbbbbbbbb"
    assert bounded(turns, 8) == "[1 earlier turn left out]\n\n…bbbbbbb"
    assert bounded(turns, 0) == "[2 earlier turns left out]"


def test_the_paper_protocol_refuses_a_conversation_and_takes_a_single_turn():
    model = scripted()
    with pytest.raises(InputError) as refused:
        run({"messages": LETTER}, model=model, protocol="paper", paper_seeds=PAPER_SEEDS)
    assert str(refused.value) == (
        "protocol 'paper' keeps the paper's single-turn prompts and takes no conversation: give the query alone "
        "(messages with one user turn), or use protocol 'default'"
    )
    assert model.calls == []
    ctx = make_context(model=model, protocol="paper", paper_seeds=PAPER_SEEDS)
    assert make_input({"messages": LETTER[-1:]}, ctx).query == "And if he ignores my letter?"


def test_a_profile_file_shows_the_conversation_through_its_template_variable(tmp_path):
    from importlib import resources

    built_in = (resources.files("spri.nodes") / "prompts" / "general.toml").read_text(encoding="utf-8")
    own = built_in.replace("{{ texts.earlier_turns }}", "")
    path = tmp_path / "mine.toml"
    path.write_text(own, encoding="utf-8")
    with pytest.raises(InputError, match=r"^profile 'general' shows no conversation \(none of its templates uses"):
        run({"messages": LETTER}, model=scripted(), profile=str(path))
    shows = tmp_path / "shows.toml"
    shows.write_text(own.replace('draft = """\n', 'draft = """\nSO FAR[{{ conversation }}]\n', 1), encoding="utf-8")
    model = accepting()
    run({"messages": LETTER}, model=model, profile=str(shows))
    assert "SO FAR[User: My landlord kept my deposit without a reason.\n\nAssistant: Write" in prompt_of(model.calls[0])


async def test_the_graph_itself_takes_a_conversation_as_the_langgraph_server_sends_it():
    model = accepting()
    sent = [{"type": "human", "content": "My landlord kept my deposit."}, {"type": "ai", "content": "Write to him."}]
    values = await build_graph().ainvoke(
        {"messages": [*sent, {"type": "human", "content": "And then?"}]}, context=Context(model=model)
    )
    assert values["response"] == "1. Be concrete."
    assert "User: My landlord kept my deposit.\n\nAssistant: Write to him." in prompt_of(model.calls[0])
    with pytest.raises(InputError, match=r"^protocol 'paper' keeps the paper's single-turn prompts"):
        await build_graph().ainvoke({"messages": LETTER}, context=Context(model=scripted(), protocol="paper"))


def test_an_empty_last_user_turn_does_not_repeat_the_query_as_an_earlier_turn():
    from spri.state.conversation import earlier_turns, last_user_text

    turns = [
        {"role": "user", "content": "First?"},
        {"role": "assistant", "content": "A."},
        {"role": "user", "content": "Follow-up?"},
        {"role": "user", "content": "  "},
    ]
    assert last_user_text(turns) == "Follow-up?"
    assert earlier_turns(turns, "Follow-up?") == turns[:2]
