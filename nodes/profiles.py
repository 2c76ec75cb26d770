"""Loading profiles and seed examples: the built-in ones shipped beside the nodes (``prompts/*.toml``,
``seeds/*.jsonl``) and users' files. The schema they are validated against is ``spri.state.profile``."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from spri.jsonl import BadLine, iter_jsonl
from spri.models import READINGS
from spri.state import Context, MethodPlan, Profile, ProfileError, Seed, SpriError
from spri.state.errors import problem_text
from spri.state.methods import plan_for
from spri.state.profile import seed_from_record

_PACKAGE = resources.files("spri.nodes")


@lru_cache(maxsize=1)
def builtin_profiles() -> tuple[str, ...]:
    folder = _PACKAGE / "prompts"
    return tuple(sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")))


def _read_profile_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"cannot read profile file {path}: {exc}") from exc
    try:
        if path.suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = tomllib.loads(text)
    except Exception as exc:
        raise ProfileError(f"profile file {path} is not valid {path.suffix.lstrip('.').upper()}: {exc}") from exc
    if not isinstance(data, dict):
        raise ProfileError(f"profile file {path} must hold a table/mapping at the top level")
    data.setdefault("name", path.stem)
    return data


@lru_cache(maxsize=64)
def load_profile(name_or_path: str, protocol: str = "default") -> Profile:
    """A built-in profile by name (under protocol 'paper', its paper version), or a user's profile
    from a .toml/.yaml/.yml file (the same under either protocol)."""
    if name_or_path in builtin_profiles():
        folder = _PACKAGE / "prompts" / "paper" if protocol == "paper" else _PACKAGE / "prompts"
        with resources.as_file(folder / f"{name_or_path}.toml") as p:
            path = Path(p)
    else:
        path = Path(name_or_path).expanduser()
        if path.suffix not in (".toml", ".yaml", ".yml"):
            raise ProfileError(
                f"unknown profile '{name_or_path}': use one of {', '.join(builtin_profiles())} "
                "or a path to a .toml/.yaml profile file"
            )
        if not path.is_file():
            raise ProfileError(f"profile file not found: {path}")
    data = _read_profile_file(path)
    try:
        profile = Profile.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {problem_text(err)}" if err["loc"] else problem_text(err)
            for err in exc.errors()
        )
        raise ProfileError(f"profile file {path} is invalid: {problems}") from exc
    _check_readings(profile, path)
    return profile


def _check_readings(profile: Profile, path: Path) -> None:
    """Each stage's readings are ones the model layer knows (``spri.models.READINGS``)."""
    for stage in ("principles", "response"):
        prompts = profile.stage(stage)
        for field in ("reading", "critic_reading"):
            name = getattr(prompts, field)
            if name not in READINGS:
                known = ", ".join(READINGS)
                raise ProfileError(
                    f"profile file {path} is invalid: {stage}.{field}: unknown reading {name!r} ({known})"
                )


def profile_of(ctx: Context) -> Profile:
    """The profile a run renders its prompts from (the protocol's version of a built-in one)."""
    return load_profile(ctx.profile, ctx.protocol)


def plan_of(ctx: Context) -> MethodPlan:
    """What the run's method runs with its profile under its protocol: the routers and nodes read
    this row, never the method's name (a profile may run another method's row under a name, e.g. the
    paper's self-refine for its task)."""
    method = profile_of(ctx).methods.get(ctx.method, ctx.method)
    return plan_for(method, ctx.protocol)


RELEASE = "the SPRI paper's release (github.com/honglizhan/SPRI-public, its seeds)"
"""Where the paper's seed files come from, for the message when one is missing."""

SEEDED = ("draft", "seed-random", "seed-list")
"""Where a method's principles come from when it reads the seed examples its seed policy selects (the
'seeds' and 'seed-sequence' methods read them whatever the policy)."""


def with_released_seeds(ctx: Context) -> Context:
    """The run's settings with its profile's released seeds (``Profile.released_seeds``: the paper's
    seed file for the task) in place of ``seeds='default'``, and their seed policy where the run set
    none; unchanged when the run names its seeds or reads none. The file is looked up in ``paper_seeds``
    and a ProfileError names it and where it comes from when it is not there: the paper's protocol never
    falls back to other seeds."""
    released = profile_of(ctx).released_seeds
    if ctx.seeds != "default" or released is None:
        return ctx
    set_by_run = "seed_policy" in ctx.model_fields_set or released.policy is None
    policy = ctx.seed_policy if set_by_run else released.policy
    principles = plan_of(ctx).principles
    if principles not in ("seeds", "seed-sequence") and (principles not in SEEDED or policy == "none"):
        return ctx
    return ctx.model_copy(update={"seeds": str(_released_file(released.file, ctx.paper_seeds)), "seed_policy": policy})


def _released_file(name: str, folder: str | None) -> Path:
    path = Path(folder).expanduser() / name if folder else None
    if path is not None and path.is_file():
        return path
    missing = f", not found at {path}" if path is not None else ""
    raise ProfileError(
        f"protocol paper uses the paper's seed file {name} from {RELEASE}{missing}: give the folder that holds "
        "it with --paper-seeds DIR (paper_seeds=, or $SPRI_PAPER_SEEDS); or other seeds with --seeds FILE, or "
        "none with --no-seeds"
    )


@lru_cache(maxsize=32)
def _load_seed_file(path: str, mtime_ns: int, mapping: tuple[tuple[str, str], ...]) -> tuple[Seed, ...]:
    try:
        lines = list(iter_jsonl(path))
    except SpriError as exc:  # the file cannot be opened: "cannot read seeds file PATH: reason"
        raise ProfileError(str(exc).replace(path, f"seeds file {path}", 1)) from exc
    seeds = []
    for number, record in lines:
        if isinstance(record, BadLine):
            raise ProfileError(f"seeds file {path}, line {number}: {record.reason}")
        seeds.append(_seed(record, dict(mapping), f"seeds file {path}, line {number}"))
    if not seeds:
        raise ProfileError(f"seeds file {path} holds no examples")
    return tuple(seeds)


def _seed(record: dict[str, Any], mapping: dict[str, str], where: str) -> Seed:
    try:
        return seed_from_record(record, mapping)
    except ValueError as exc:
        raise ProfileError(f"{where}: {exc}") from exc
    except (MemoryError, RecursionError) as exc:  # what ast.literal_eval gives for a "{...}" nested deep
        raise ProfileError(f"{where}: a value is not example text (nested too deeply to read)") from exc


def load_seeds(source: str, profile: str, mapping: dict[str, str] | None = None) -> tuple[Seed, ...]:
    """Seeds from 'default' (the built-in profile's own set, if it has one) or a JSONL file."""
    if source == "default":
        default = _default_seed_path(profile)
        if default is None:
            return ()
        path = default
    else:
        path = Path(source).expanduser()
        if not path.is_file():
            raise ProfileError(f"seeds file not found: {path}")
    return _load_seed_file(str(path), path.stat().st_mtime_ns, tuple(sorted((mapping or {}).items())))


@lru_cache(maxsize=16)
def _default_seed_path(profile: str) -> Path | None:
    """Where a built-in profile's own seeds live (package data: looked up once per process)."""
    candidate = _PACKAGE / "seeds" / f"{profile}.jsonl"
    if profile not in builtin_profiles() or not candidate.is_file():
        return None
    with resources.as_file(candidate) as p:
        return Path(p)


def select_seeds(seeds: tuple[Seed, ...], policy: str, category: str | None) -> tuple[Seed, ...]:
    """Apply the seed policy: all seeds, none, only those of the input's category, or all but those."""
    if policy == "none":
        return ()
    if policy in ("category", "others") and category:
        wanted = category.strip().lower()
        same = policy == "category"
        return tuple(s for s in seeds if ((s.category or "").strip().lower() == wanted) == same)
    return seeds
