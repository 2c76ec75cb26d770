"""The `spri` command line: ask, resume, show, batch, serve, eval.

Progress goes to stderr, the answer (or with --json the whole result) to stdout. Problems the user
can fix print one line, `spri: error: ...`, and exit with code 2; finished steps stay in the
checkpoint database and `spri resume THREAD` continues from them.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Sequence

EXIT_USAGE = 2


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
