"""A user's profile is one self-contained file whose fields never take a name its templates use for
their own text: what breaks that is refused when the profile loads, in one line naming the profile
file and the template; recursion a load cannot see is named when the template renders."""

from __future__ import annotations

from importlib import resources

import pytest

from spri import SpriError, arun
from spri.nodes.profiles import builtin_profiles, load_profile
from spri.state import ProfileError
from spri.state.templates import OWN_NAMES, jinja_takes, reserved_field_name
from tests.support.fakes import scripted

BUILT_IN = (resources.files("spri.nodes") / "prompts" / "general.toml").read_text(encoding="utf-8")


FILES = ", but a profile cannot read other template files (share text with [texts])"


def write(tmp_path, text: str) -> str:
    path = tmp_path / "mine.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def with_template(step: str, prefix: str) -> str:
    """The built-in general profile with ``prefix`` put before its principles stage's ``step`` template."""
    return BUILT_IN.replace(f'{step} = """', f'{step} = """{prefix}', 1)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{% include "other.txt" %}', "template 'draft' uses {% include %}" + FILES),
        ('{% import "macros.txt" as m %}', "template 'draft' uses {% import %}" + FILES),
        ('{% from "macros.txt" import m %}', "template 'draft' uses {% from ... import %}" + FILES),
        ('{% extends "base.txt" %}', "template 'draft' uses {% extends %}" + FILES),
        ("{% macro f(n) %}{{ g(n) }}{% endmacro %}{% macro g(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}",
         "template 'draft' has macros that call each other without end: f -> g -> f"),
        ("\ufdd1",
         "template 'draft' holds a Unicode noncharacter (U+FDD0 to U+FDEF), which the renderer keeps for itself"),
    ],
)  # fmt: skip
def test_a_template_that_reads_other_files_or_recurses_is_refused_on_load(tmp_path, text, problem):
    path = write(tmp_path, with_template("draft", text))
    with pytest.raises(ProfileError) as refused:
        load_profile(path)
    assert str(refused.value) == f"profile file {path} is invalid: principles: {problem}"


def test_passages_that_show_each_other_are_refused_on_load(tmp_path):
    path = write(tmp_path, BUILT_IN.replace("[texts]\n", '[texts]\na = "{{ texts.b }}"\nb = "x {{ texts[\'a\'] }}"\n'))
    with pytest.raises(ProfileError, match=r"is invalid: texts show each other without end: a -> b -> a$"):
        load_profile(path)


async def test_recursion_only_a_render_finds_names_the_profile_and_template(tmp_path):
    # A macro handed to itself recurses without calling itself by name: found when it renders, before
    # any model call, as one error naming the profile and the template.
    path = write(tmp_path, with_template("system", "{% macro f(g) %}{{ g(g) }}{% endmacro %}{{ f(f) }}"))
    model = scripted()
    with pytest.raises(ProfileError) as refused:
        await arun("Q?", profile=path, model=model)
    assert str(refused.value) == (
        "profile 'general': template principles.system shows itself without end (a macro or passage that calls itself)"
    )
    assert model.calls == []


@pytest.mark.parametrize("name", ["scale", "draft", "examples", "texts", "loop", "self", "range", "caller"])
def test_a_profile_cannot_declare_a_field_by_a_name_its_templates_use(tmp_path, name):
    path = write(tmp_path, BUILT_IN + f'\n[[fields]]\nname = "{name}"\nlabel = "Sneaky"\n')
    with pytest.raises(SpriError, match=f"is invalid: field '{name}': the templates use that name"):
        load_profile(path)


def test_reserved_names_come_from_the_renderer_and_jinja():
    assert {"scale", "levels", "texts", "draft", "feedback", "examples", "input", "principles"} <= OWN_NAMES
    assert all(jinja_takes(name) for name in ("loop", "self", "caller", "varargs", "kwargs", "super", "range"))
    assert not any(reserved_field_name(name) for name in ("query", "goal", "system_prompt", "kitchen"))
    for profile in builtin_profiles():  # no built-in profile declares one
        for protocol in ("default", "paper"):
            assert not any(reserved_field_name(f.name) for f in load_profile(profile, protocol).fields)
