"""The review prompt at the terminal reads only explicit answers."""

from __future__ import annotations

import io

import pytest

from spri.api import Result
from spri.cli import main
from spri.cli.ask import ask_review

PAUSED = Result(status="interrupted", interrupt={"principles": "1. Be kind.", "score": 3, "feedback": "Vague."})


def answer(monkeypatch, typed: str):
    monkeypatch.setattr("sys.stdin", io.StringIO(typed))
    return ask_review(PAUSED)


@pytest.mark.parametrize("typed", ["\n", "y\n", "YES\n", "approve\n"])
def test_explicit_approvals(monkeypatch, typed):
    assert answer(monkeypatch, typed) == {"decisions": [{"type": "approve"}]}


@pytest.mark.parametrize("typed", ["n\nq\n", "no\nq\n", "maybe\n", ""])
def test_anything_else_does_not_approve(monkeypatch, typed, capsys):
    assert answer(monkeypatch, typed) is None  # asked again, then quit (or end of input): still paused
    if typed.strip() and typed.strip() != "maybe":
        assert "not understood" in capsys.readouterr().err


def test_no_then_edit(monkeypatch):
    decision = answer(monkeypatch, "n\ne\n1. Be brief.\n.\n")
    assert decision["decisions"][0]["edited_action"]["args"] == {"principles": "1. Be brief."}


def test_an_empty_edit_asks_again(monkeypatch, capsys):
    assert answer(monkeypatch, "e\n.\ny\n") == {"decisions": [{"type": "approve"}]}
    assert "no principles given" in capsys.readouterr().err


def test_reject_with_a_note(monkeypatch):
    assert answer(monkeypatch, "r\nMention a therapist.\n") == {
        "decisions": [{"type": "reject", "message": "Mention a therapist."}]
    }


def test_the_prompt_and_the_help_name_every_answer_and_how_an_edit_ends(monkeypatch, capsys):
    answer(monkeypatch, "q\n")
    assert "edit [e] (new principles, then a line '.')" in capsys.readouterr().err
    for command in ("ask", "resume"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        assert "then a line holding only '.'" in text and "r (reject: a note on what to change" in text
        assert "3 paused for your review" in text
    with pytest.raises(SystemExit):
        main(["ask", "--help"])
    review = " ".join(capsys.readouterr().out.split("\n  --review")[1].split("\n  --")[0].split())
    assert "approve the principles, edit them, or reject them with a note" in review
