"""`spri mcp`'s tools in a LangChain agent: `langchain-mcp-adapters` loads them over stdio into
`langchain.agents.create_agent`, whose scripted model calls `answer` and gets SPRI's response."""

from __future__ import annotations

import sys

from langchain.agents import create_agent
from langchain_core.messages import ToolMessage
from langchain_mcp_adapters.client import MultiServerMCPClient

from tests.support.fakes import ScriptedToolCaller, tool_call
from tests.support.openai_server import OpenAIServer
from tests.support.policies import deterministic
from tests.support.serving import server_env


async def test_an_agent_calls_answer_and_gets_the_response(tmp_path):
    with OpenAIServer(deterministic) as upstream:
        env = server_env(tmp_path, OPENAI_BASE_URL=upstream.base_url)
        client = MultiServerMCPClient(
            {"spri": {"transport": "stdio", "command": sys.executable, "args": ["-m", "spri.cli", "mcp"], "env": env}}
        )
        tools = await client.get_tools()
        assert {tool.name for tool in tools} == {"answer", "judge", "principles"}
        model = ScriptedToolCaller(
            replies=[
                tool_call("answer", query="How do I tell my team I missed a deadline?"),
                lambda messages: "SPRI says: " + messages[-1].text,
            ]
        )
        agent = create_agent(model, tools)
        state = await agent.ainvoke({"messages": [{"role": "user", "content": "Help me tell my team."}]})
    tool_messages = [m for m in state["messages"] if isinstance(m, ToolMessage)]
    assert len(tool_messages) == 1 and "revised response text" in tool_messages[0].text
    assert state["messages"][-1].text == "SPRI says: " + tool_messages[0].text
    assert len(upstream.requests) == 8  # one SPRI run: each stage refined once
