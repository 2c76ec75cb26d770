"""The recipe profile of docs/profiles.md renders exactly as the page shows (the generic runner in
tests/unit/docs only checks that its example runs)."""

from __future__ import annotations

from spri import arun
from tests.support.fakes import critique, scripted
from tests.support.readme import readme_block


async def test_the_recipe_profile_renders_as_written(tmp_path, monkeypatch):
    (tmp_path / "recipe.yaml").write_text(readme_block("# recipe.yaml"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    model = scripted("1. Preheat the pot.", critique(5), "Bake at 230 C.", critique(5))
    result = await arun("How do I bake bread?", profile="recipe.yaml", extra={"kitchen": "a dutch oven"}, model=model)
    assert result.response == "Bake at 230 C."
    draft_principles, draft_response = model.calls[0][-1].text, model.calls[2][-1].text
    assert draft_principles == (
        "Question:\nHow do I bake bread?\n\nEquipment available:\na dutch oven\n\nWrite the principles."
    )
    assert draft_response == (
        "Question:\nHow do I bake bread?\n\nEquipment available:\na dutch oven\nPrinciples:\n1. Preheat the pot."
    )
