"""The MCP tools' pure parts: the progress line of a step, a conversation turned into the run's input,
and the command's grammar."""

from __future__ import annotations

import pytest

from spri.api import Update
from spri.cli.parsers import build_parser
from spri.mcp.tools import Message, ToolFailed, conversation_input, step_message


def test_a_step_in_one_line():
    assert step_message(Update(node="begin")) == "begin"
    judged = Update(node="judge_response", stage="response", round=2, score=4)
    assert step_message(judged) == "judge_response: response, round 2, score 4"
    finished = Update(node="finalize", stop_reason={"principles": "accepted", "response": "max_rounds"})
    assert step_message(finished) == "finalize: principles accepted, response max_rounds"


def test_a_query_or_the_last_user_turn():
    assert conversation_input("Why?", None) == {"query": "Why?"}
    turns = [
        Message(role="user", content="First?"),
        Message(role="assistant", content="A."),
        Message(role="user", content="Then?"),
    ]
    assert conversation_input(None, turns) == {"messages": [turn.model_dump() for turn in turns]}
    with pytest.raises(ToolFailed, match="give a query"):
        conversation_input("  ", None)


def test_the_command_defaults_to_stdio_on_loopback():
    args = build_parser().parse_args(["mcp"])
    assert (args.transport, args.host, args.port) == ("stdio", "127.0.0.1", 8000)
    args = build_parser().parse_args(["mcp", "--transport", "streamable-http", "--port", "9001"])
    assert (args.transport, args.port) == ("streamable-http", 9001)


def test_without_the_sdk_the_command_says_what_to_install(monkeypatch):
    import sys

    from spri.api import SpriError
    from spri.mcp.run import cmd_mcp

    monkeypatch.delitem(sys.modules, "spri.mcp.server", raising=False)
    monkeypatch.setitem(sys.modules, "mcp", None)
    with pytest.raises(SpriError, match=r"pip install 'spri\[mcp\]'"):
        cmd_mcp(build_parser().parse_args(["mcp"]))
