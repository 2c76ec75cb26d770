"""The `spri` command line: ask, resume, show, batch, serve, eval.

Progress goes to stderr, the answer (or with --json the whole result) to stdout. Problems the user
can fix print one line, `spri: error: ...`, and exit with code 2; finished steps stay in the
checkpoint database and `spri resume THREAD` continues from them.

Exit codes: 0 done; 1 an unexpected error; 2 a problem the user can fix; 3 the run is paused for a
review of its principles (`spri resume THREAD --approve|--edit|--reject` continues it); 130 interrupted
(Ctrl-C); 141 the reader of stdout went away.
"""

from __future__ import annotations

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


def main(argv: Sequence[str] | None = None) -> int:
    from spri.cli.parsers import build_parser

    warnings.showwarning = _warning
    args = build_parser().parse_args(argv)
    try:
        code: int = args.handler(args)
        return code
    except BrokenPipeError:
        # The reader went away (`spri show T | head -1`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except KeyboardInterrupt as exc:
        notes = getattr(exc, "__notes__", [])
        print("spri: interrupted" + "".join(f"; {note}" for note in notes), file=sys.stderr)
        return 130
    except Exception as exc:
        from spri.api import explain

        message, user_fixable = explain(exc)
        print(f"spri: error: {message}", file=sys.stderr)
        for note in getattr(exc, "__notes__", []):
            print(f"spri: {note}", file=sys.stderr)
        if os.environ.get("SPRI_DEBUG"):
            raise
        return EXIT_USAGE if user_fixable else 1
