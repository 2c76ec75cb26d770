"""Credentials out of every text that leaves the process: errors, log lines, probes, metrics and trace
metadata all pass through :func:`redact` (or :func:`redact_url` where the text is one URL).

What counts as a credential: the password of a URL's user-info (``http://user:PASS@host``; a user-info
without a password, ``https://TOKEN@host``, is taken whole), query parameters and ``key=value`` pairs
whose name says secret (``?password=``, ``sslpassword=``, ``api_key=``, ``token=``, ...), ``Bearer``
tokens, and the values of this process's environment variables whose name says secret (API keys,
tokens, passwords, the keys of ``SPRI_API_KEYS``) or that a URL-valued variable carries in its
user-info.
"""

from __future__ import annotations

import os
import re
from urllib.parse import unquote

MASK = "***"

SECRET_VARIABLE = re.compile(r"KEY|TOKEN|SECRET|PASSW|PWD|CREDENTIAL", re.IGNORECASE)
"""Environment variables whose value is a secret (by a part of their name)."""

SECRET_FIELD = re.compile(
    r"(password|passwd|pwd|secret|apikey|(^|[_.\-])(pass|token|key|sig|signature|credentials?|auth|authorization))$",
    re.IGNORECASE,
)
"""Query parameters and ``key=value`` names whose value is a secret (``sslpassword``, ``api_key``,
``access_token``; not ``max_tokens``)."""

MIN_SECRET = 8
"""Shorter environment values are not blanked out by value (too likely to match ordinary text); their
URL and ``key=value`` forms are still redacted by shape."""

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s\"<>`]+")
"""A URL in text: up to whitespace, a double quote or angle bracket (a single quote may be in a password)."""
_PAIR = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_.\-]*)(?P<sep>=|\"\s*:\s*\"?)(?P<value>[^\s&;,'\"}]+)")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]+")


def redact_url(url: str) -> str:
    """``url`` without credentials: its user-info password (or, in a web URL, a user-info with no
    password or an empty one, whole) and
    the values of secret-named query parameters become ``***``; everything else is kept, so the
    endpoint or database is still named. A password with an unencoded ``@`` or ``/`` is still
    removed (the user-info runs to the last ``@`` before the query)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return _redact_pairs(url)
    head, mark, tail = _split_query(rest)
    if "@" in head:
        userinfo, _, host = head.rpartition("@")
        user, colon, password = userinfo.partition(":")
        if _token_scheme(scheme) and not password:  # ``TOKEN@host`` or ``TOKEN:@host``: the user is the token
            head = f"{MASK}@{host}"
        elif colon:
            head = f"{user}:{MASK}@{host}"
    return f"{scheme}://{head}{mark}{_redact_pairs(tail) if mark else tail}"


def _token_scheme(scheme: str) -> bool:
    """Web URLs, whose user-info alone is usually a token (``https://TOKEN@host``); in a database URL
    it is a user name."""
    return scheme.lower() in ("http", "https", "ws", "wss")


def _split_query(rest: str) -> tuple[str, str, str]:
    """(before the query or fragment, its mark, after it)."""
    cut = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=-1)
    if cut < 0:
        return rest, "", ""
    return rest[:cut], rest[cut], rest[cut + 1 :]


def _redact_pairs(text: str) -> str:
    """``name=value`` (and JSON's ``"name": "value"``) pairs whose name says secret, with the value masked."""

    def mask(found: re.Match[str]) -> str:
        if not SECRET_FIELD.search(found["name"]):
            return found[0]
        return f"{found['name']}{found['sep']}{MASK}"

    return _PAIR.sub(mask, text)


def secret_values(environ: dict[str, str] | None = None) -> list[str]:
    """Values in the environment that must never be shown, longest first: secret-named variables, the
    keys of ``SPRI_API_KEYS``, and passwords inside URL-valued variables."""
    environ = dict(os.environ if environ is None else environ)
    found: set[str] = set()
    for name, value in environ.items():
        if SECRET_VARIABLE.search(name):
            found.add(value)
            found.update(item.partition(":")[2] for item in re.split(r"[,\s]+", value) if ":" in item)
        for word in value.split():
            if "://" in word:
                found.update(_url_secrets(word))
    found = {value for value in found if len(value) >= MIN_SECRET}
    found.update({unquote(value) for value in found})
    return sorted(found, key=len, reverse=True)


def _url_secrets(url: str) -> list[str]:
    scheme, _, rest = url.partition("://")
    head, mark, tail = _split_query(rest)
    secrets = []
    if "@" in head:
        user, colon, password = head.rpartition("@")[0].partition(":")
        if colon or _token_scheme(scheme):
            secrets.append(password if colon else user)
    if mark:
        secrets += [m["value"] for m in _PAIR.finditer(tail) if SECRET_FIELD.search(m["name"])]
    return secrets


def redact(text: str, environ: dict[str, str] | None = None) -> str:
    """``text`` with every credential it holds replaced by ``***`` (see the module)."""
    if not text:
        return text
    for secret in secret_values(environ):
        text = text.replace(secret, MASK)
    text = _URL.sub(lambda found: redact_url(found[0]), text)
    text = _BEARER.sub(lambda found: f"{found[1]} {MASK}", text)
    return _redact_pairs(text)
