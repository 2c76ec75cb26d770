"""`spri mcp`: SPRI as a Model Context Protocol server (the official ``mcp`` SDK), over stdio for desktop
clients and agent frameworks, or over streamable HTTP (``/mcp``) behind the same bearer keys as
`spri serve` (SPRI_API_KEY or SPRI_API_KEYS)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from mcp.server.fastmcp import Context, FastMCP
from mcp.server.fastmcp.exceptions import ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from spri.api import make_context
from spri.mcp import tools
from spri.mcp.tools import Conversation, Goal, Method, Profile, Query

INSTRUCTIONS = (
    "SPRI answers a request by first writing principles situated in it (judged and refined by a critic), "
    "then a response that follows them. Use `answer` for a response, `judge` to score a response with "
    "rubrics written for its query, `principles` for the principles alone."
)
READ_ONLY = ToolAnnotations(readOnlyHint=True, openWorldHint=True)
Shown = TypeVar("Shown", bound=BaseModel)


def reporter(ctx: Context[Any, Any, Any]) -> tools.Progress:
    async def report(step: float, message: str) -> None:
        await ctx.report_progress(step, None, message)

    return report


async def called(text_of: Callable[[Shown], str], run: Awaitable[Shown]) -> CallToolResult:
    """The tool's answer: its text, and the whole result as structured content; a failure is a tool error."""
    try:
        result = await run
    except tools.ToolFailed as exc:
        raise ToolError(str(exc)) from None
    return CallToolResult(
        content=[TextContent(type="text", text=text_of(result))],
        structuredContent=result.model_dump(mode="json"),
    )


async def answer(
    ctx: Context[Any, Any, Any],
    query: Query = None,
    messages: Conversation = None,
    profile: Profile = None,
    method: Method = None,
    goal: Goal = None,
) -> Annotated[CallToolResult, tools.Answer]:
    """Answer a request with SPRI: principles written for it, judged and refined by a critic, then a
    response that follows them, judged and refined the same way. Give the request as `query`, or a
    conversation as `messages` (its last user turn is answered). Returns the response text; the structured
    result adds the principles, the critic's scores, why each stage stopped, the model calls and the thread."""
    run = tools.answer(reporter(ctx), query, messages, profile, method, goal)
    return await called(lambda result: result.response, run)


async def judge(
    ctx: Context[Any, Any, Any],
    query: Annotated[str, Field(description="The request the response answers.")],
    response: Annotated[str, Field(description="The response to judge.")],
    reference: Annotated[str | None, Field(description="A reference answer, if there is one.")] = None,
    system_prompt: Annotated[str | None, Field(description="The system prompt the responder had.")] = None,
    method: Annotated[
        str | None, Field(description=f"How to judge (default 'spri'): {', '.join(tools.JUDGING_METHODS)}.")
    ] = None,
) -> Annotated[CallToolResult, tools.Judgment]:
    """Judge a response to a query with rubrics written for that query (instance rubrics, refined until
    the critic accepts them). Returns the score (1-5) and feedback; the structured result adds the rubric."""
    run = tools.judge(reporter(ctx), query, response, reference, system_prompt, method)
    return await called(lambda result: f"Score: {result.score}\n{result.feedback or ''}".strip(), run)


async def principles(
    ctx: Context[Any, Any, Any],
    query: Query = None,
    messages: Conversation = None,
    profile: Profile = None,
    goal: Goal = None,
) -> Annotated[CallToolResult, tools.Principles]:
    """Write principles for answering a request well (SPRI's first stage only: drafted, judged and
    refined by a critic), without the response. Returns the principles; the structured result adds the
    critic's last score and feedback."""
    run = tools.principles(reporter(ctx), query, messages, profile, goal)
    return await called(lambda result: result.principles, run)


def build_server(host: str = "127.0.0.1", port: int = 8000) -> FastMCP:
    """The MCP server with its three tools. ``host`` and ``port`` matter for streamable HTTP only (on a
    loopback host the SDK also refuses requests whose Host or Origin header is not local)."""
    make_context()  # the server's own models must be usable: fail at start-up, naming the problem
    server: FastMCP = FastMCP("spri", instructions=INSTRUCTIONS, host=host, port=port, log_level="WARNING")
    for tool in (answer, judge, principles):
        server.add_tool(tool, annotations=READ_ONLY, structured_output=True)
    return server
