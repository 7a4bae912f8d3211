"""`TaskSpec`: what is asked of a designer, as data (hashable, JSON round trip, cache key).

A spec is built by its domain (``get_domain("machines").task("car:2")``), which validates the
parameters, writes the chat messages and fills in the limits and the reward definition. Everything
downstream (agents, generators, the batch evaluator, RL reward adapters, the CLI, the envs) passes the
spec around and never interprets the parameters itself.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any

from brickfield.core.errors import BrickfieldError

__all__ = ["Limits", "RewardSpec", "SuccessRule", "TaskSpec", "TaskSpecError", "canonical_json"]

SPEC_SCHEMA = 1


class TaskSpecError(BrickfieldError, ValueError):
    """A task name, parameter or serialised spec is not valid."""


def canonical_json(value: Any) -> str:
    """Sorted-key, compact JSON: the one text form hashes and equality are built on."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _package_version() -> str:
    from brickfield import __version__

    return __version__


@dataclass(frozen=True)
class Limits:
    """Resource limits a domain honours for one answer (None: the domain's default applies)."""

    max_text_chars: int = 131_072
    max_parts: int | None = None      # bricks or blocks
    sim_seconds: float | None = None  # simulated time (machines)
    wall_seconds: float | None = 60.0  # wall clock for evaluating one answer

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON record."""
        return {"max_text_chars": self.max_text_chars, "max_parts": self.max_parts,
                "sim_seconds": self.sim_seconds, "wall_seconds": self.wall_seconds}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Limits:
        """Inverse of :meth:`to_dict` (unknown keys are an error)."""
        unknown = set(d) - {"max_text_chars", "max_parts", "sim_seconds", "wall_seconds"}
        if unknown:
            raise TaskSpecError(f"unknown limit(s): {sorted(unknown)}")
        return cls(**d)


@dataclass(frozen=True)
class SuccessRule:
    """``metric op threshold`` on an evaluation, e.g. ``win >= 1`` or ``reward >= 1``; the design must
    also be valid. ``metric`` names a reward component, a metric, or ``reward``."""

    metric: str = "reward"
    op: str = ">="
    threshold: float = 1.0

    def holds(self, value: float | None) -> bool:
        """Whether ``value`` satisfies the rule (None never does)."""
        if value is None:
            return False
        if self.op == ">=":
            return value >= self.threshold
        if self.op == ">":
            return value > self.threshold
        raise TaskSpecError(f"unknown success operator {self.op!r}")

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.threshold:g}"


@dataclass(frozen=True)
class RewardSpec:
    """How the scalar reward is composed: ``reward = prod`` or ``sum`` of weighted named components.

    ``combine="product"``: reward = Π component^weight (gates such as validity × score);
    ``combine="sum"``: reward = Σ weight · component (PVPO's (1-λ)·R_phys + λ·R_vox).
    ``grade_invalid``: an ``invalid`` design still earns its component reward (PVPO's partial credit
    for the fraction of valid bricks); otherwise invalid designs get 0.
    """

    components: tuple[tuple[str, float], ...]
    combine: str = "product"
    success: SuccessRule = field(default_factory=SuccessRule)
    description: str = ""
    grade_invalid: bool = False

    def combine_values(self, values: dict[str, float]) -> float:
        """The reward of component ``values`` under this spec (missing components count 0)."""
        if self.combine == "sum":
            return float(sum(w * float(values.get(n, 0.0)) for n, w in self.components))
        out = 1.0
        for name, weight in self.components:
            v = float(values.get(name, 0.0))
            out *= v if weight == 1.0 else v ** weight
        return float(out)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON record."""
        return {"components": [[n, w] for n, w in self.components], "combine": self.combine,
                "success": {"metric": self.success.metric, "op": self.success.op,
                            "threshold": self.success.threshold},
                "description": self.description, "grade_invalid": self.grade_invalid}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RewardSpec:
        """Inverse of :meth:`to_dict`."""
        try:
            comps = tuple((str(n), float(w)) for n, w in d["components"])
            return cls(comps, str(d.get("combine", "product")), SuccessRule(**d.get("success", {})),
                       str(d.get("description", "")),
                       bool(d.get("grade_invalid", False)))
        except (KeyError, TypeError, ValueError) as exc:
            raise TaskSpecError(f"bad reward spec: {exc}") from None


@dataclass(frozen=True)
class TaskSpec:
    """One task: domain, name, validated parameters, chat messages, limits and reward definition.

    Frozen and hashable; ``params`` is stored as canonical JSON so equal specs hash equally, and read
    back as a fresh dict through :attr:`params`. ``id`` is ``"<domain>/<name>"`` (``machines/car:1``,
    ``lego/tower``); ``key()`` adds the package version, for caches and resumable runs.
    """

    domain: str
    name: str
    params_json: str = "{}"
    messages: tuple[tuple[str, str], ...] = ()
    limits: Limits = field(default_factory=Limits)
    reward: RewardSpec = field(default_factory=lambda: RewardSpec((("reward", 1.0),)))
    version: int = 1

    @classmethod
    def make(cls, domain: str, name: str, params: dict[str, Any] | None = None, *,
             messages: tuple[tuple[str, str], ...] | list[dict[str, str]] = (), limits: Limits | None = None,
             reward: RewardSpec | None = None, version: int = 1) -> TaskSpec:
        """Build a spec from a params dict and messages as ``{"role", "content"}`` dicts or pairs."""
        msgs = tuple((m["role"], m["content"]) if isinstance(m, dict) else (str(m[0]), str(m[1]))
                     for m in messages)
        try:
            pj = canonical_json(params or {})
        except (TypeError, ValueError) as exc:
            raise TaskSpecError(f"task parameters must be plain JSON values: {exc}") from None
        return cls(domain, name, pj, msgs, limits or Limits(),
                   reward or RewardSpec((("reward", 1.0),)), version)

    @property
    def id(self) -> str:
        """``<domain>/<name>``."""
        return f"{self.domain}/{self.name}"

    @property
    def params(self) -> dict[str, Any]:
        """The domain's validated parameters (a fresh copy)."""
        return json.loads(self.params_json)

    def param(self, name: str, default: Any = None) -> Any:
        """One parameter, or ``default``."""
        return self.params.get(name, default)

    @property
    def chat(self) -> list[dict[str, str]]:
        """The messages as OpenAI-style ``{"role", "content"}`` dicts."""
        return [{"role": r, "content": c} for r, c in self.messages]

    def with_params(self, **changes: Any) -> TaskSpec:
        """A copy with some parameters changed (not re-validated: prefer ``domain.task(...)``)."""
        return replace(self, params_json=canonical_json({**self.params, **changes}))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON record (``schema`` versions the record layout, ``version`` the task)."""
        return {"schema": SPEC_SCHEMA, "id": self.id, "domain": self.domain, "name": self.name,
                "version": self.version, "params": self.params, "messages": self.chat,
                "limits": self.limits.to_dict(), "reward": self.reward.to_dict()}

    def to_json(self) -> str:
        """Canonical JSON text of :meth:`to_dict`."""
        return canonical_json(self.to_dict())

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TaskSpec:
        """Inverse of :meth:`to_dict`; a malformed record raises :class:`TaskSpecError`."""
        if not isinstance(d, dict):
            raise TaskSpecError("a task spec must be a JSON object")
        if d.get("schema", SPEC_SCHEMA) != SPEC_SCHEMA:
            raise TaskSpecError(f"unsupported task spec schema {d.get('schema')!r}")
        try:
            return cls.make(str(d["domain"]), str(d["name"]), dict(d.get("params") or {}),
                            messages=list(d.get("messages") or ()),
                            limits=Limits.from_dict(dict(d.get("limits") or {})),
                            reward=RewardSpec.from_dict(dict(d["reward"])) if "reward" in d else None,
                            version=int(d.get("version", 1)))
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, TaskSpecError):
                raise
            raise TaskSpecError(f"bad task spec: {exc!r}") from None

    @classmethod
    def from_json(cls, text: str) -> TaskSpec:
        """Parse :meth:`to_json` output."""
        try:
            return cls.from_dict(json.loads(text))
        except (json.JSONDecodeError, RecursionError) as exc:
            raise TaskSpecError(f"task spec is not JSON: {exc}") from None

    def key(self) -> str:
        """Stable hex digest of the spec and the package version (caches, resumable runs)."""
        blob = canonical_json({"spec": self.to_dict(), "brickfield": _package_version()})
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]
