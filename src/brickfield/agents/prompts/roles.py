"""Role prompts of the machine-design agents: designer, inspector, refiner, environment querier,
meta-designer, builder and the single agent.

Each role has two ``str.format`` templates, ``{role}.txt`` (system message) and ``{role}_user.txt``
(user message), packaged next to this module. ``render_role(role, task, **context)`` (or the per-role
functions ``designer_prompt`` ...) fills them and returns a ``RolePrompt`` (system, user, chat
messages, and the tag of the fenced block the answer must contain: ``json`` for trees and the
blueprint, ``edits``, ``query``, ``issues``).

**Task fields** (filled from the level; available in every template):

==================  ==================================================================================
``level_name``      ``car_level1`` (``/variantN`` for a seeded variant)
``task_family``     car | catapult | delivery | fetch
``task_description`` the level's own task text
``duration``        simulated seconds
``controls``        which keys are held when (``key L held 0-5 s``)
``scoring``         how the level scores a machine
``task_hints``      what matters physically on this task family (our notes)
``block_table``     the allowed blocks: id, name, size, attach points per face (``machines.prompts``)
``allowed_ids``     the allowed type ids, comma-separated
``tree_format``     the construction-tree format and building rules (``machines.prompts``)
``facing_table``    where each face of a block points for each facing
``edit_grammar``    the edit language (``agents.edits.EDIT_GRAMMAR``)
``query_format``    the querier's request format (facts from ``machines.feedback.querier``)
``blueprint_format`` the meta-designer's blueprint JSON (``agents.prompts.blueprint``)
==================  ==================================================================================

**Context fields** (given by the workflow; which ones a role takes is in ``ROLES``): ``machine`` (tree
JSON; a ``ConstructionTree`` is written as text), ``info3d`` (computed from ``machine`` when not
given), ``feedback``, ``inspection``, ``query_answer``, ``history``, ``score``, ``notes``, ``blueprint``,
``stage``. Objects with ``to_text()`` (trees, 3D info, edit results, blueprints) or a ``text``
attribute (feedback) are written as that text.

``load_prompts(folder)`` reads a user's own templates from a folder (``designer.txt``,
``designer_user.txt``, ``inspector.txt`` ...; roles without a file keep the packaged text). Literal
braces in a template are written ``{{`` and ``}}``. A template naming a field its role does not have
is refused when loaded (``PromptTemplateError``), a render missing a required context field or given
an unknown one is refused with the list of fields (``PromptFieldError``).
"""

from __future__ import annotations

import contextlib
import json
import re
import string
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from brickfield.agents.edits import EDIT_GRAMMAR, canonical_tree
from brickfield.agents.prompts.blueprint import BLUEPRINT_FORMAT
from brickfield.core.errors import BrickfieldError
from brickfield.machines.design.parse import parse_tree
from brickfield.machines.design.tree import ConstructionTree, TreeParseError
from brickfield.machines.levels.registry import Level, get_level
from brickfield.machines.prompts import (
    block_table,
    facing_table,
    level_controls,
    level_scoring,
    tree_format_rules,
    type_order,
)

__all__ = ["CONTEXT_FIELDS", "ROLES", "SAMPLE_INTERVAL_S", "TASK_FIELDS", "PromptError", "PromptFieldError",
           "PromptSet", "PromptTemplateError", "RolePrompt", "RoleSpec", "answer_block", "builder_prompt",
           "default_prompts", "designer_prompt", "inspector_prompt", "load_prompts", "meta_designer_prompt",
           "querier_prompt", "refiner_prompt", "render_role", "resolve_level", "single_agent_prompt",
           "task_fields"]

SAMPLE_INTERVAL_S = 0.2
"""Sampling interval of the simulation trace the querier asks about (``sim.simulate`` record_every)."""
MAX_TEMPLATE_CHARS = 200_000
ROOT_ONLY = '[{"id": "0", "order_id": 0, "parent": -1, "bp_id": -1}]'


class PromptError(BrickfieldError):
    """A prompt could not be built; ``code`` is stable (``unknown_role``, ``unknown_task``,
    ``not_a_folder``, ``unknown_prompt_file``, ``bad_template``, ``unknown_field``,
    ``missing_field``, ``unreadable``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.code, self.message))


class PromptTemplateError(PromptError):
    """A template that cannot be used: bad ``{}`` syntax or a field its role does not have."""


class PromptFieldError(PromptError):
    """A render with a required context field missing, or with a field the role does not take."""


# --- roles ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RoleSpec:
    """A role: its context fields (``required`` ones and ``defaults`` for the optional ones), the
    fenced-block tag its answer must contain, and other names it answers to."""

    name: str
    required: tuple[str, ...] = ()
    defaults: Mapping[str, str] = field(default_factory=dict)
    answer: str = "json"
    aliases: tuple[str, ...] = ()

    @property
    def context_fields(self) -> tuple[str, ...]:
        """Every context field the role takes."""
        return (*self.required, *self.defaults)


_NONE = "(none)"
ROLES: Mapping[str, RoleSpec] = {r.name: r for r in (
    RoleSpec("designer", (), {"notes": ""}, "json"),
    RoleSpec("inspector", ("machine", "info3d"), {}, "issues"),
    RoleSpec("refiner", ("machine", "info3d"),
             {"score": "not simulated yet", "inspection": _NONE, "feedback": "(not simulated yet)",
              "query_answer": _NONE, "history": _NONE}, "edits"),
    RoleSpec("querier", ("machine", "info3d", "feedback"), {}, "query",
             ("environment_querier", "env_querier")),
    RoleSpec("meta_designer", (), {"notes": ""}, "json", ("metadesigner", "meta")),
    RoleSpec("builder", ("blueprint", "stage"), {"machine": ROOT_ONLY, "info3d": ""}, "json"),
    RoleSpec("single_agent", (), {"notes": ""}, "json", ("single",)),
)}
"""Every role by name."""

CONTEXT_FIELDS: Mapping[str, str] = {
    "machine": "the current construction tree (JSON text)",
    "info3d": "the machine's 3D information (agents.info3d text); computed from machine when not given",
    "feedback": "the environment feedback text of the last simulation",
    "inspection": "the inspector's report",
    "query_answer": "the answer to the querier's request",
    "history": "earlier edits and their results",
    "score": "the machine's last score",
    "notes": "extra instructions for the designer / meta-designer / single agent",
    "blueprint": "the meta-designer's blueprint (JSON text)",
    "stage": "the functional block a builder must build now",
}
"""Context fields a workflow passes, with their meaning."""


def _role(name: str) -> RoleSpec:
    key = str(name).strip().lower().replace("-", "_").replace(" ", "_")
    for spec in ROLES.values():
        if key == spec.name or key in spec.aliases:
            return spec
    raise PromptError("unknown_role", f"unknown role {name!r}; roles: {', '.join(ROLES)}")


# --- task fields ---------------------------------------------------------------------------------

_NAME = re.compile(r"^\s*([a-z]+)(?:(?::|_level)(\d+))?(?:@(\d+))?\s*$")


def resolve_level(task: Any) -> Level:
    """The ``Level`` of ``task``: a ``Level``, a machines ``TaskSpec`` (anything with ``params``
    holding ``task``, ``level`` and ``variant``), or a name (``car:1``, ``car_level1``, ``car``,
    ``catapult:8@3``). Raises ``PromptError`` (``unknown_task``)."""
    if isinstance(task, Level):
        return task
    params = getattr(task, "params", None)
    try:
        if isinstance(params, Mapping) and "task" in params:
            if getattr(task, "domain", "machines") != "machines":
                raise PromptError("unknown_task", f"role prompts are for machine tasks, not {task.domain!r}")
            return get_level(str(params["task"]), int(params.get("level") or 1), params.get("variant"))
        m = _NAME.match(str(task).lower()) if isinstance(task, str) else None
        if m is None:
            raise PromptError("unknown_task", f"cannot tell the level of {str(task)[:80]!r}: give a Level, a "
                              "TaskSpec or a name such as car:1")
        return get_level(m.group(1), int(m.group(2) or 1), None if m.group(3) is None else int(m.group(3)))
    except (KeyError, ValueError, TypeError) as exc:
        raise PromptError("unknown_task", f"unknown level {str(task)[:80]!r}: {exc}") from None


def _quirks(task: Any) -> bool:
    params = getattr(task, "params", None)
    return bool(params.get("reference_quirks", True)) if isinstance(params, Mapping) else True


_EXTRA_SCORING = {
    "Boulder_throw_with_target": "score = 1 when a boulder reaches the target; otherwise up to 1 for how "
                                 "close the boulder came",
    "Target_deliver": "score = 1 when the goal object (the iron ball) reaches the goal area; otherwise up "
                      "to 1 for how much closer to it the ball got",
}

_HINTS = {
    "car": "Only powered wheels (2) drive a machine. A wheel on a left or right face has its axle along x "
           "and drives the machine forward (+z); wheels facing up, down, forward or back drive sideways or "
           "not at all. The score counts straight-line travel, so drive straight ahead: keep the machine "
           "symmetric, low and long enough not to tip, with only the wheels touching the ground.",
    "catapult": "The boulder (36) never attaches to anything: it rests in a container (30) and must be "
                "flung out of it. A rubber band (9) pulls its two anchor points together while its key is "
                "held (see the controls), a hinge (5) gives an arm a pivot, ballast (35) adds mass where it "
                "is needed. Release the boulder upwards and forwards (+z) from high enough: it must rise "
                "at least 3 m and land away from the machine, which should stay put on a wide, heavy base.",
    "delivery": "The iron ball lies loose on the track ahead: drive to it and push or carry it into the "
                "goal area. Powered wheels (2) on the left and right faces drive forward (+z); a grabber "
                "(27) holds whatever touches its front; a frame reaching ahead of the body pushes the ball "
                "without driving over it.",
    "fetch": "A script drives the machine: UpArrow runs the powered wheels (they drive only while it is "
             "held), V makes grabbers (27) let go and fires decouplers (4), M pays winches (45) out and N "
             "reels them in. Build a vehicle with an arm, winch or hook that reaches into the well, grips "
             "the ball with a grabber and lifts it out when the winch reels in.",
}


def _scoring(lvl: Level) -> str:
    return _EXTRA_SCORING.get(lvl.win_condition) or level_scoring(lvl)


def _hints(lvl: Level) -> str:
    hint = _HINTS.get(lvl.task, "")
    if lvl.win_condition == "Boulder_throw_with_target":
        hint += " On this level the aim is to land the boulder in the target, not to throw it far."
    return hint


_PROPERTY_TEXT = {
    "position": "position (block origin, m; the centre for a boulder or bomb)",
    "rotation": "rotation (quaternion [x, y, z, w], Euler angles and forward axis; not for two-point blocks)",
    "velocity": "velocity (vector and speed, m/s)",
    "length": "length (two-point blocks only: distance between their two ends, m)",
}


def _query_format(lvl: Level) -> str:
    # Imported here: the querier module needs MuJoCo, and only the querier role uses these facts.
    from brickfield.machines.feedback.querier import DEFAULT_LIMITS, PROPERTIES

    example = [{"order_id": 3, "duration": [0.0, 2.0], "properties": ["position", "velocity"]}]
    props = "; ".join(_PROPERTY_TEXT.get(p, p) for p in PROPERTIES)
    return "\n".join([
        f"A JSON list of at most {DEFAULT_LIMITS.max_items} requests, for example:", json.dumps(example),
        "- order_id: the block to measure",
        f"- duration: [start, end] in seconds, 0 <= start <= end <= {lvl.duration:g}; the simulation is "
        f"recorded every {SAMPLE_INTERVAL_S:g} s",
        f"- properties: one or more of {props}; leave properties out to get all that apply",
        f"- one answer holds at most {DEFAULT_LIMITS.max_values} values (samples x properties over all "
        "requests): prefer short windows and few properties"])


TASK_FIELDS: Mapping[str, Callable[[Level], str]] = {
    "level_name": lambda lvl: lvl.label,
    "task_family": lambda lvl: lvl.task,
    "task_description": lambda lvl: lvl.prompt,
    "duration": lambda lvl: f"{lvl.duration:g}",
    "controls": level_controls,
    "scoring": _scoring,
    "task_hints": _hints,
    "block_table": lambda lvl: block_table(lvl.allowed_blocks),
    "allowed_ids": lambda lvl: ", ".join(sorted(lvl.allowed_blocks, key=type_order)),
    "tree_format": lambda lvl: tree_format_rules(),
    "facing_table": lambda lvl: facing_table(),
    "edit_grammar": lambda lvl: EDIT_GRAMMAR,
    "query_format": _query_format,
    "blueprint_format": lambda lvl: BLUEPRINT_FORMAT,
}
"""Task fields and how each is computed from the level."""


def task_fields(task: Any, names: Iterable[str] | None = None) -> dict[str, str]:
    """The task fields of ``task`` (all, or only ``names``) as text."""
    lvl = resolve_level(task)
    return {n: TASK_FIELDS[n](lvl) for n in (TASK_FIELDS if names is None else names)}


# --- templates -----------------------------------------------------------------------------------

def _fields(text: str, where: str, allowed: Iterable[str]) -> tuple[str, ...]:
    """Field names used by a template; raises ``PromptTemplateError`` for bad syntax or fields
    outside ``allowed``."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise PromptTemplateError("bad_template", f"{where}: {exc} (write literal braces as {{{{ and }}}})") \
            from None
    allowed_set = set(allowed)
    names: list[str] = []
    for _, name, spec, _conv in parsed:
        if name is None:
            continue
        if not name.isidentifier() or (spec and "{" in spec):
            raise PromptTemplateError("bad_template", f"{where}: placeholder {{{name}}} must be a plain "
                                      "field name (no indexing, attributes or nested fields; literal braces "
                                      "are written {{ and }})")
        if name not in allowed_set:
            raise PromptTemplateError("unknown_field", f"{where}: unknown field {{{name}}}; this role's "
                                      f"fields: {', '.join(sorted(allowed_set))}")
        if name not in names:
            names.append(name)
    return tuple(names)


def _allowed(spec: RoleSpec) -> tuple[str, ...]:
    return (*TASK_FIELDS, *spec.context_fields)


@dataclass(frozen=True)
class RolePrompt:
    """A rendered role prompt: system and user messages and the answer's fenced-block tag."""

    role: str
    system: str
    user: str
    answer: str

    @property
    def messages(self) -> list[dict[str, str]]:
        """OpenAI-style chat messages (system, user)."""
        return [{"role": "system", "content": self.system}, {"role": "user", "content": self.user}]


@dataclass(frozen=True)
class PromptSet:
    """Validated templates per role (``templates["designer"]`` system, ``["designer_user"]`` user)
    and where each came from (``sources``: ``default`` or a file path)."""

    templates: Mapping[str, str]
    sources: Mapping[str, str]

    def render(self, role: str, task: Any, **context: Any) -> RolePrompt:
        """Fill ``role``'s templates for ``task`` (see ``render_role``)."""
        spec = _role(role)
        unknown = sorted(set(context) - set(spec.context_fields))
        if unknown:
            raise PromptFieldError("unknown_field", f"{spec.name} takes no field(s) {', '.join(unknown)}; "
                                   f"its fields: {', '.join(spec.context_fields) or 'none'}")
        values = _context(spec, context, _quirks(task))
        missing = [n for n in spec.required if n not in values]
        if missing:
            raise PromptFieldError("missing_field", f"{spec.name} needs {', '.join(missing)} (required: "
                                   f"{', '.join(spec.required)})")
        system, user = self.templates[spec.name], self.templates[f"{spec.name}_user"]
        used = set(_fields(system, spec.name, _allowed(spec)) + _fields(user, spec.name, _allowed(spec)))
        values.update(task_fields(task, [n for n in TASK_FIELDS if n in used]))
        return RolePrompt(spec.name, system.format_map(values).strip(), user.format_map(values).strip(),
                          spec.answer)


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if hasattr(value, "to_text") and callable(value.to_text):
        return str(value.to_text())
    if isinstance(getattr(value, "text", None), str):
        return value.text
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, (list, dict, tuple)):
        try:
            return json.dumps(value, ensure_ascii=False)
        except (TypeError, ValueError):
            pass
    return str(value)


def _context(spec: RoleSpec, context: Mapping[str, Any], quirks: bool) -> dict[str, str]:
    """Context values as text: given ones, then defaults; ``info3d`` computed from ``machine``."""
    values = {k: _as_text(v) for k, v in context.items() if v is not None}
    if isinstance(context.get("machine"), ConstructionTree):  # show the ids the edit language uses
        with contextlib.suppress(TreeParseError):
            values["machine"] = canonical_tree(context["machine"], reference_quirks=quirks).to_text()
    if "info3d" in spec.context_fields and "info3d" not in values:
        machine = context.get("machine")
        if machine is not None or "machine" not in spec.required:
            values["info3d"] = _info3d(machine if machine is not None else ROOT_ONLY, quirks)
    for k, v in spec.defaults.items():
        values.setdefault(k, v)
    return values


def _info3d(machine: Any, quirks: bool) -> str:
    from brickfield.agents.info3d import machine_info3d

    try:
        tree = machine if isinstance(machine, ConstructionTree) else parse_tree(_as_text(machine),
                                                                               reference_quirks=quirks)
    except TreeParseError as exc:
        if _as_text(machine).strip() == ROOT_ONLY:  # reference mode refuses a root-only machine
            tree = parse_tree(ROOT_ONLY, reference_quirks=False)
        else:
            return f"(not available: the machine is not file-valid: {exc.message})"
    return machine_info3d(tree, reference_quirks=quirks).to_text()


def _read(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_TEMPLATE_CHARS * 4:
            raise PromptError("unreadable", f"{path}: over {MAX_TEMPLATE_CHARS} characters")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PromptError("unreadable", f"{path}: cannot read it as UTF-8 text: {exc}") from None
    if len(text) > MAX_TEMPLATE_CHARS:
        raise PromptError("unreadable", f"{path}: over {MAX_TEMPLATE_CHARS} characters")
    return text


@cache
def default_prompts() -> PromptSet:
    """The packaged templates."""
    folder = resources.files("brickfield.agents.prompts")
    templates, sources = {}, {}
    for spec in ROLES.values():
        for key in (spec.name, f"{spec.name}_user"):
            text = folder.joinpath(f"{key}.txt").read_text(encoding="utf-8")
            _fields(text, f"{key}.txt", _allowed(spec))
            templates[key], sources[key] = text, "default"
    return PromptSet(templates, sources)


def load_prompts(folder: Path | str | None = None) -> PromptSet:
    """Templates from ``folder`` (``designer.txt``, ``designer_user.txt``, ...; a role's aliases work
    as file names too, e.g. ``environment_querier.txt``), the packaged ones for files it lacks. None:
    the packaged set. Every template is checked now; a ``*.txt`` file that names no role (except
    ``README.txt`` and names starting with ``_``) is an error, so a typo does not go unnoticed."""
    base = default_prompts()
    if folder is None:
        return base
    path = Path(folder)
    if not path.is_dir():
        raise PromptError("not_a_folder", f"prompt folder {str(path)!r} does not exist or is not a folder")
    stems = {}
    for spec in ROLES.values():
        for name in (spec.name, *spec.aliases):
            stems[name] = spec.name
            stems[f"{name}_user"] = f"{spec.name}_user"
    templates, sources = dict(base.templates), dict(base.sources)
    for file in sorted(path.glob("*.txt")):
        stem = file.stem.lower()
        if stem.startswith("_") or stem == "readme":
            continue
        if stem not in stems:
            raise PromptError("unknown_prompt_file", f"{file.name}: not a role prompt; expected one of "
                              f"{', '.join(f'{s}.txt' for s in sorted(set(stems.values())))}")
        key = stems[stem]
        spec = ROLES[key.removesuffix("_user")]
        text = _read(file)
        _fields(text, file.name, _allowed(spec))
        templates[key], sources[key] = text, str(file)
    return PromptSet(templates, sources)


# --- rendering -----------------------------------------------------------------------------------

def render_role(role: str, task: Any, *, prompts: PromptSet | None = None, **context: Any) -> RolePrompt:
    """The prompt of ``role`` for ``task`` (a ``Level``, machines ``TaskSpec`` or level name) with the
    given context fields (``ROLES[role]`` lists them; None means "use the default")."""
    return (prompts or default_prompts()).render(role, task, **context)


def designer_prompt(task: Any, *, notes: str | None = None, prompts: PromptSet | None = None) -> RolePrompt:
    """Designer: a first complete machine from the task (answer: a ```json tree)."""
    return render_role("designer", task, prompts=prompts, notes=notes)


def inspector_prompt(task: Any, machine: Any, *, info3d: Any = None,
                     prompts: PromptSet | None = None) -> RolePrompt:
    """Inspector: a static review of ``machine`` (answer: a ```issues list)."""
    return render_role("inspector", task, prompts=prompts, machine=machine, info3d=info3d)


def refiner_prompt(task: Any, machine: Any, *, info3d: Any = None, feedback: Any = None,
                   inspection: Any = None, query_answer: Any = None, history: Any = None, score: Any = None,
                   prompts: PromptSet | None = None) -> RolePrompt:
    """Refiner: edits to ``machine`` from the inspection and/or simulation feedback (answer: a
    ```edits block and a ```prediction block)."""
    return render_role("refiner", task, prompts=prompts, machine=machine, info3d=info3d, feedback=feedback,
                       inspection=inspection, query_answer=query_answer, history=history, score=score)


def querier_prompt(task: Any, machine: Any, feedback: Any, *, info3d: Any = None,
                   prompts: PromptSet | None = None) -> RolePrompt:
    """Environment querier: which per-block measurements to ask for (answer: a ```query JSON list)."""
    return render_role("querier", task, prompts=prompts, machine=machine, feedback=feedback, info3d=info3d)


def meta_designer_prompt(task: Any, *, notes: str | None = None,
                         prompts: PromptSet | None = None) -> RolePrompt:
    """Meta-designer: a blueprint of 3-4 functional blocks (answer: a ```json blueprint)."""
    return render_role("meta_designer", task, prompts=prompts, notes=notes)


def builder_prompt(task: Any, blueprint: Any, stage: Any, *, machine: Any = None, info3d: Any = None,
                   prompts: PromptSet | None = None) -> RolePrompt:
    """Builder: one functional block (``stage``) of ``blueprint`` on top of ``machine`` (default: the
    bare Starting Block) (answer: the whole ```json tree so far)."""
    return render_role("builder", task, prompts=prompts, blueprint=blueprint, stage=stage, machine=machine,
                       info3d=info3d)


def single_agent_prompt(task: Any, *, notes: str | None = None,
                        prompts: PromptSet | None = None) -> RolePrompt:
    """Single agent: one-shot design with reasoning (answer: a ```json tree)."""
    return render_role("single_agent", task, prompts=prompts, notes=notes)


def answer_block(text: str, tag: str) -> str | None:
    """Body of the last fenced block tagged ``tag`` in a model answer (None when there is none). A
    block left open at the end of the text counts (answers get truncated)."""
    if not isinstance(text, str):
        return None
    lines = text.replace("\r\n", "\n").split("\n")
    body: list[str] | None = None
    found: str | None = None
    for ln in lines:
        s = ln.strip()
        if body is None and s.startswith("```") and s[3:].strip().lower() == tag.lower():
            body = []
        elif body is not None and s.startswith("```"):
            found, body = "\n".join(body), None
        elif body is not None:
            body.append(ln)
    if body is not None:
        found = "\n".join(body)
    return found.strip() if found is not None else None
