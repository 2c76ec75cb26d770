"""`spri ask --conversation FILE.jsonl` (or - for stdin): the conversation's last user message is the
query, the messages before it reach the prompts; a bad line is one error naming the file and line (exit
2, no model call); protocol paper refuses a conversation the same way."""

from __future__ import annotations

import json

import pytest

from tests.support.openai_server import OpenAIServer
from tests.support.policies import deterministic
from tests.support.processes import cli_env, one_line_error, spri_cli

TURNS = [
    {"role": "user", "content": "My landlord kept my deposit without a reason."},
    {"role": "assistant", "content": "Write him a formal letter."},
    {"role": "user", "content": "And if he ignores my letter?"},
]


def jsonl(turns) -> str:
    return "".join(json.dumps(turn) + "\n" for turn in turns)


@pytest.fixture
def ask(tmp_path):
    """`spri ask ARGS` against a fake endpoint: (the finished process, the model requests made)."""

    def run(*args: str, stdin: str | None = None):
        env = cli_env(tmp_path, OPENAI_API_KEY="test-key", SPRI_MAX_RETRIES="0")
        with OpenAIServer(deterministic) as server:
            env["OPENAI_BASE_URL"] = server.base_url
            db = str(tmp_path / "db.sqlite")
            done = spri_cli("ask", *args, "--model", "openai:fake", "--db", db, "-q", env=env, input=stdin)
            return done, server.requests

    return run


def first_prompt(requests) -> str:
    return "\n".join(m["content"] for m in requests[0]["messages"])


@pytest.mark.parametrize("source", ["file", "stdin"])
def test_a_conversation_from_a_file_or_stdin_answers_its_last_user_message(ask, tmp_path, source):
    path = tmp_path / "chat.jsonl"
    path.write_text(jsonl(TURNS), encoding="utf-8")
    where = str(path) if source == "file" else "-"
    done, requests = ask("--conversation", where, stdin=jsonl(TURNS) if source == "stdin" else None)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "revised response text"
    prompt = first_prompt(requests)
    assert "User: My landlord kept my deposit without a reason.\n\nAssistant: Write him a formal letter." in prompt
    assert "Request:\nAnd if he ignores my letter?" in prompt


def test_a_query_given_beside_the_conversation_follows_it(ask, tmp_path):
    path = tmp_path / "chat.jsonl"
    path.write_text(jsonl(TURNS), encoding="utf-8")
    done, requests = ask("What should my letter say?", "--conversation", str(path))
    assert done.returncode == 0, done.stderr
    prompt = first_prompt(requests)
    assert "User: And if he ignores my letter?" in prompt and "Request:\nWhat should my letter say?" in prompt


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        ('{"role": "user", "content": "Hi"}\n{"role": "wizard", "content": "Hi"}\n',
         "line 2: the message has role 'wizard': use one of user, assistant, system, tool"),
        ('{"role": "user", "content": "Hi"}\n\n{"role": "user", "content": "Hi"\n', "line 3: not valid JSON"),
        ('["user", "Hi"]\n', "line 1: not a JSON object"),
        ('{"role": "user", "content": 7}\n', "line 1: the message has content that is no text (int)"),
        ('{"role": "assistant", "content": "Hello"}\n', "messages hold no user turn with text"),
        ("\n", "no messages"),
    ],
)  # fmt: skip
def test_a_bad_conversation_file_is_one_line_naming_the_file_and_line(ask, tmp_path, lines, problem):
    path = tmp_path / "chat.jsonl"
    path.write_text(lines, encoding="utf-8")
    done, requests = ask("--conversation", str(path))
    named = [] if problem.startswith("messages") else [f"--conversation {path}"]
    one_line_error(done, *named, problem)
    assert requests == []


def test_missing_file_no_query_and_stdin_twice_are_refused(ask, tmp_path):
    done, _ = ask("--conversation", str(tmp_path / "none.jsonl"))
    one_line_error(done, "--conversation: file not found:", "none.jsonl")
    done, _ = ask()
    one_line_error(done, "give the QUERY to answer (or --conversation FILE.jsonl)")
    done, _ = ask("-", "--conversation", "-", stdin=jsonl(TURNS))
    one_line_error(done, "standard input can hold the query or the conversation, not both")


def test_protocol_paper_refuses_a_conversation(ask, tmp_path):
    path = tmp_path / "chat.jsonl"
    path.write_text(jsonl(TURNS), encoding="utf-8")
    done, requests = ask("--conversation", str(path), "--protocol", "paper", "--no-seeds")
    one_line_error(done, "protocol 'paper' keeps the paper's single-turn prompts and takes no conversation")
    assert requests == []
