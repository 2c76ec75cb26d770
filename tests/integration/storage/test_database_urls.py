"""What `--db` accepts: a SQLite path, a postgresql:// URL or memory. Any other URL is refused with one line
naming the accepted forms (it used to become a SQLite file named after it), and a PostgreSQL URL's
password, in its user-info or as ``?password=``, is never printed."""

from __future__ import annotations

import pytest

from tests.support.openai_server import free_port
from tests.support.processes import one_line_error, show_and_ask

PASSWORD = "hunter22-0123456789"


@pytest.mark.parametrize("db", ["mysql://x", "sqlite://runs.sqlite", "redis://u:p@cache:6379/0", "file:///tmp/x"])
def test_an_unknown_url_scheme_is_refused_and_creates_nothing(env, tmp_path, server, db):
    for done in show_and_ask({**env, "HOME": str(tmp_path)}, db):
        scheme = db.partition("://")[0]
        one_line_error(done, f"unsupported URL scheme '{scheme}'", "SQLite file path", "postgresql://", "memory")
        assert "u:p@" not in done.stderr
    assert not any(tmp_path.rglob(f"{db.partition('://')[0]}:*"))  # no file named after the URL
    assert server.requests == []


@pytest.mark.parametrize(
    "db",
    [
        f"postgresql://spri:{PASSWORD}@127.0.0.1:{free_port()}/runs",
        f"postgresql://spri@127.0.0.1:{free_port()}/runs?sslmode=disable&password={PASSWORD}",
        f"postgres://127.0.0.1:{free_port()}/runs?password={PASSWORD}&connect_timeout=3",
    ],
    ids=["user-info", "query", "query-first"],
)
def test_a_postgresql_password_is_never_printed(env, server, db):
    for done in show_and_ask(env, db):
        one_line_error(done, "cannot open PostgreSQL database", "127.0.0.1", "refused")
        assert PASSWORD not in done.stderr
    assert server.requests == []
