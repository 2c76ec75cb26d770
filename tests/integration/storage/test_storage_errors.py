"""An unusable --db is one line naming the database and the problem, exit code 2, no traceback and no
model call: a read-only folder, a folder, a file that is not a database, a locked or corrupt one, an
unreachable PostgreSQL server; and text on stdin that is not UTF-8 never reaches a model or database."""

from __future__ import annotations

import sqlite3

from spri import run
from tests.support.fakes import critique, is_critic_prompt, scripted
from tests.support.processes import one_line_error, show_and_ask, spri_cli_bytes
from tests.support.readonly import unwritable_dir


def test_a_read_only_folder(env, tmp_path, server):
    with unwritable_dir(tmp_path / "readonly") as folder:
        db = str(folder / "runs.sqlite")
        for done in show_and_ask(env, db):
            one_line_error(done, f"cannot open checkpoint database {db}: unable to open database file", "not writable")
    assert server.requests == []


def test_a_folder_or_a_file_that_is_not_a_database(env, tmp_path, server):
    for done in show_and_ask(env, str(tmp_path)):
        one_line_error(done, f"checkpoint database {tmp_path} is a folder")
    garbage = tmp_path / "notes.sqlite"
    garbage.write_bytes(b"these are my notes, not a database\n" * 200)
    for done in show_and_ask(env, str(garbage)):
        one_line_error(done, f"cannot open checkpoint database {garbage}: file is not a database")
    assert server.requests == []


def test_a_locked_database(env, tmp_path, server):
    db = tmp_path / "runs.sqlite"
    run("Question?", model=scripted(default=_reply), checkpointer=str(db), thread_id="t0")  # tables, WAL mode
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process is writing and does not let go
    try:
        ask = spri_cli_bytes(env, "ask", "How do I sleep better?", "--model", "openai:fake", "--db", str(db), "-q")
        one_line_error(ask, f"checkpoint database {db} failed: database is locked")
    finally:
        holder.close()
    assert server.requests == []


def _reply(messages):
    return critique(5) if is_critic_prompt(messages) else "A long enough draft. " * 150


def test_a_database_corrupt_in_the_middle(env, tmp_path, server):
    db = tmp_path / "runs.sqlite"
    for i in range(4):
        run(f"Question {i}?", model=scripted(default=_reply), checkpointer=str(db), thread_id=f"t{i}")
    size = db.stat().st_size
    with db.open("r+b") as handle:  # keep the header and schema pages, wreck the rest
        handle.seek(4 * 4096)
        handle.write(b"\xde\xad\xbe\xef" * ((size - 4 * 4096) // 4))
    for done in show_and_ask(env, str(db)):
        one_line_error(done, str(db), "database disk image is malformed")
    assert server.requests == []


def test_an_unreachable_postgresql_server(env, server):
    url = "postgresql://spri:secret@127.0.0.1:1/runs"
    for done in show_and_ask(env, url):
        one_line_error(done, "cannot open PostgreSQL database postgresql://spri:***@127.0.0.1:1/runs", "refused")
        assert "secret" not in done.stderr
    assert server.requests == []


def test_text_on_stdin_that_is_not_utf8(env, tmp_path, server):
    db = tmp_path / "runs.sqlite"
    done = spri_cli_bytes(env, "ask", "-", "--model", "openai:fake", "--db", str(db), "-q", stdin=b"Caf\xe9 or tea?")
    one_line_error(done, "query: standard input is not UTF-8 text (invalid continuation byte at byte 3)")
    assert server.requests == []
