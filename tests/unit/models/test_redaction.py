"""One redaction function for every text that names an endpoint or database: URL passwords, secret query
parameters, bearer tokens and the environment's secrets never survive it, in any URL form."""

from __future__ import annotations

import string
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spri.models.redaction import redact, redact_url, secret_values

# Secrets are drawn from an alphabet the rest of the URL never uses, so "the secret is gone" is exact.
SECRET = st.text(alphabet=string.ascii_uppercase + string.digits + "!$%&'()*+,;=~-_.:@/", min_size=8, max_size=24)
PLAIN = st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=12)
SCHEMES = st.sampled_from(["http", "https", "postgresql", "postgres", "redis", "mysql", "amqp", "socks5"])
SECRET_PARAMS = st.sampled_from(["password", "sslpassword", "api_key", "apikey", "access_token", "token", "key", "sig"])


@st.composite
def urls(draw):
    """(url, secrets it carries) over user-info with and without a password (a web URL's user-info
    alone is a token), raw or percent-encoded, ports, paths, secret query parameters among plain ones,
    and fragments."""
    scheme, host = draw(SCHEMES), draw(PLAIN) + "." + draw(PLAIN)
    secrets, userinfo = [], ""
    forms = ["none", "user-password", "user-only"] + (["token-only"] if scheme.startswith("http") else [])
    form = draw(st.sampled_from(forms))
    if form != "none":
        secret, encoded = draw(SECRET), draw(st.booleans())
        shown = quote(secret, safe="") if encoded else secret
        user = draw(PLAIN)
        userinfo = {"user-password": f"{user}:{shown}@", "token-only": f"{shown}@", "user-only": f"{user}@"}[form]
        if form != "user-only":
            secrets.append(shown)
    port = f":{draw(st.integers(1, 65535))}" if draw(st.booleans()) else ""
    path = "".join(f"/{part}" for part in draw(st.lists(PLAIN, max_size=3)))
    params = [f"{draw(PLAIN)}={draw(PLAIN)}" for _ in range(draw(st.integers(0, 2)))]
    for _ in range(draw(st.integers(0, 2))):
        value = quote(draw(SECRET), safe="")
        params.insert(draw(st.integers(0, len(params))), f"{draw(SECRET_PARAMS)}={value}")
        secrets.append(value)
    query = "?" + "&".join(params) if params else ""
    fragment = "#" + draw(PLAIN) if draw(st.booleans()) else ""
    return f"{scheme}://{userinfo}{host}{port}{path}{query}{fragment}", secrets, host


@settings(max_examples=400, deadline=None)
@given(urls(), st.sampled_from(["{}", "cannot open PostgreSQL database {}: refused", "cannot reach {} (x)", "'{}'"]))
def test_no_credential_survives_in_any_url_form(case, sentence):
    url, secrets, host = case
    for text in (redact_url(url), redact(sentence.format(url), environ={})):
        for secret in secrets:
            assert secret not in text, (url, text)
        assert host in text  # the endpoint is still named


@settings(max_examples=200, deadline=None)
@given(SECRET.filter(lambda s: "," not in s), PLAIN)  # commas separate SPRI_API_KEYS
def test_environment_secrets_are_blanked_wherever_they_appear(secret, name):
    environ = {
        "OPENAI_API_KEY": f"sk-{secret}",
        "SPRI_API_KEYS": f"alice:{secret}A0 bob:{secret}B1",
        "OPENAI_BASE_URL": f"http://proxyuser:{secret}Z9@proxy.internal:3128/v1",
    }
    text = f"{name} sent sk-{secret} and {secret}A0, {secret}B1; the proxy said {secret}Z9 was wrong"
    shown = redact(text, environ=environ)
    for value in (f"sk-{secret}", f"{secret}A0", f"{secret}B1", f"{secret}Z9"):
        assert value not in shown
    assert shown.startswith(name)


@pytest.mark.parametrize(
    "text,expected",
    [
        (
            "cannot open PostgreSQL database postgresql://spri:s3cret@db:5432/runs?sslmode=require&password=hunter22",
            "cannot open PostgreSQL database postgresql://spri:***@db:5432/runs?sslmode=require&password=***",
        ),
        ("https://ghp_abcdefgh12345678@github.com/x", "https://***@github.com/x"),
        ("http://0000000:@a.a", "http://***@a.a"),  # a web URL's token with an empty password after it
        ("Authorization: Bearer sk-abcdef0123456789", "Authorization: Bearer ***"),
        ("host=db port=5432 password=hunter22 dbname=runs", "host=db port=5432 password=*** dbname=runs"),
        ('{"api_key": "sk-abc", "max_tokens": 512}', '{"api_key": "***", "max_tokens": 512}'),
        ("input_tokens=5 max_tokens=512 key_name=alice", "input_tokens=5 max_tokens=512 key_name=alice"),
        ("SPRI_API_KEY: API keys need at least 16 characters", "SPRI_API_KEY: API keys need at least 16 characters"),
    ],
)
def test_known_forms(text, expected):
    assert redact(text, environ={}) == expected


def test_a_database_user_name_is_not_a_secret():
    environ = {"SPRI_SERVE_DB": "postgresql://postgres@db:5432/postgres"}
    shown = "checkpoint database postgresql://postgres@db:5432/postgres is unavailable"
    assert redact(shown, environ=environ) == shown


def test_short_values_are_not_blanked_everywhere():
    """A short secret-named value (SPRI_MAX_TOKENS=512, KEYBOARD=us) is not treated as a secret by value."""
    assert secret_values({"OPENAI_API_KEY": "abc", "SPRI_API_KEY": "0123456789abcdef"}) == ["0123456789abcdef"]
