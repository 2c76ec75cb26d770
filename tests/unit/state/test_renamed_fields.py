"""Context fields renamed (RENAMED_FIELDS) keep their former names wherever settings come in: API
keywords, settings saved with a thread or a batch output, and hidden command-line flags."""

from __future__ import annotations

import json

from spri import Context
from spri.state import RENAMED_FIELDS


def test_a_former_name_sets_the_field_and_settings_are_saved_under_the_name_now():
    assert RENAMED_FIELDS == {"random_seed": "random_pick"}
    ctx = Context(random_seed=7)
    assert ctx.random_pick == 7 and json.loads(ctx.to_json())["random_pick"] == 7
    assert Context(random_seed=7, random_pick=2).random_pick == 2  # the name now wins


def test_the_command_line_takes_the_former_flag_without_showing_it():
    from spri.cli.parsers import build_parser
    from spri.options import context_overrides, run_options

    parser = build_parser()
    for flag in ("--random-pick", "--random-seed"):
        args = parser.parse_args(["ask", flag, "5", "Q?"])
        assert context_overrides(args, run_options())["random_pick"] == 5
    ask = parser._subparsers._group_actions[0].choices["ask"]  # the ask sub-command's own help
    assert "--random-pick" in ask.format_help() and "--random-seed" not in ask.format_help()


def test_settings_saved_with_a_thread_under_the_former_name_still_load():
    from spri.threads import Snapshot, saved_context

    saved = json.loads(Context(model="openai:gpt-4o-mini").to_json())
    saved["random_seed"] = saved.pop("random_pick") + 4  # as a thread saved them before the rename
    continued = Context(**saved_context(Snapshot("t", {"query": "Q?"}, settings=saved), {}))
    assert continued.random_pick == 4


def test_a_batch_output_saved_with_the_former_name_matches():
    from spri.batch.settings import differing

    assert differing({"random_seed": 3, "min_score": 4}, {"random_pick": 3, "min_score": 4}) is None
    assert differing({"random_seed": 3}, {"random_pick": 4}) == "random_pick"
