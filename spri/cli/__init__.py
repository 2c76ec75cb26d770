"""The `spri` command line: ask, resume, show, batch, export, serve, threads, eval.

Progress goes to stderr, the answer (or with --json the whole result) to stdout. Problems the user
can fix print one line, `spri: error: ...`, and exit with code 2; finished steps stay in the
checkpoint database and `spri resume THREAD` continues from them.

Exit codes: 0 done; 1 an unexpected error; 2 a problem the user can fix; 3 the run is paused for a
review of its principles (`spri resume THREAD --approve|--edit|--reject` continues it); 130 interrupted
(Ctrl-C); 141 the reader of stdout went away.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Sequence

EXIT_USAGE = 2
EXIT_PAUSED = 3
"""The run stopped for a human review of its principles; with --json the result (status "interrupted",
the pending review in "interrupt") is on stdout."""
EXIT_CODES = (
    "exit codes: 0 done, 1 unexpected error, 2 a problem you can fix (the message says which), "
    "3 paused for your review of the principles (continue with spri resume THREAD), 130 interrupted"
)


def _warning(message: Warning | str, category: type[Warning], *args: object, **kwargs: object) -> None:
    print(f"spri: warning: {message}", file=sys.stderr)


def show_retries() -> None:
    """Print the model layer's retry notices on stderr, as ``spri: endpoint ... unreachable, retry 2/11 in
    1.0 s`` (they are logged without credentials), so a run waiting on an endpoint is never silent."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("spri: %(message)s"))
    logger = logging.getLogger("spri.models.retry")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def own_notes(exc: BaseException) -> list[str]:
    """The notes spri added to an error (how to resume), without the ones LangGraph adds ("During task
    with name ..."), which name internals rather than anything a user can act on."""
    return [str(note) for note in getattr(exc, "__notes__", []) if not str(note).startswith("During task")]


def main(argv: Sequence[str] | None = None) -> int:
    if list(sys.argv[1:] if argv is None else argv) == ["--version"]:
        # answered before the parser is built: building it loads the run options and output formats
        from spri import __version__

        print(f"spri {__version__}")
        return 0
    from spri.cli.parsers import build_parser

    warnings.showwarning = _warning
    args = build_parser().parse_args(argv)
    if args.command in ("ask", "resume") and not getattr(args, "quiet", False):
        show_retries()
    try:
        code: int = args.handler(args)
        return code
    except BrokenPipeError:
        # The reader went away (`spri show T | head -1`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except KeyboardInterrupt as exc:
        print("; ".join(["spri: interrupted", *own_notes(exc)]), file=sys.stderr)
        return 130
    except Exception as exc:
        from spri.api import explain

        message, user_fixable = explain(exc)
        print("spri: error: " + "; ".join([message, *own_notes(exc)]), file=sys.stderr)
        if os.environ.get("SPRI_DEBUG"):
            raise
        return EXIT_USAGE if user_fixable else 1
