"""Typed errors. Every failure a user can cause maps to one of these, with a stable `code`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class BrickfieldError(Exception):
    """Base class of every error brickfield raises on purpose."""


@dataclass
class ParseIssue:
    """One problem found while parsing: where it is and a machine-readable code."""

    code: str
    message: str
    line: int | None = None
    column: int | None = None
    item: int | None = None  # index of the offending element (brick line, block) where known

    def where(self) -> str:
        """The location as text (``line 3, column 7``), empty when unknown."""
        parts = []
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.column is not None:
            parts.append(f"column {self.column}")
        if self.item is not None:
            parts.append(f"item {self.item}")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable record."""
        return {"code": self.code, "message": self.message, "line": self.line,
                "column": self.column, "item": self.item}

    def __str__(self) -> str:
        loc = self.where()
        return f"{loc}: {self.message} [{self.code}]" if loc else f"{self.message} [{self.code}]"


@dataclass
class ParseError(BrickfieldError):
    """Raw text could not be turned into a design.

    `code` is stable and machine-readable (e.g. ``bad_line``, ``too_large``, ``bad_json``); `issues`
    lists every problem found (a parser reports all bad lines, not just the first).
    """

    code: str
    message: str
    line: int | None = None
    column: int | None = None
    item: int | None = None
    issues: list[ParseIssue] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.issues:
            self.issues = [ParseIssue(self.code, self.message, self.line, self.column, self.item)]
        super().__init__(str(self))

    @classmethod
    def from_issues(cls, issues: list[ParseIssue], summary: str | None = None) -> ParseError:
        """Build one error from several issues; the first issue gives the code and location."""
        if not issues:
            raise ValueError("from_issues needs at least one issue")
        first = issues[0]
        msg = summary or first.message
        if len(issues) > 1 and summary is None:
            msg = f"{first.message} (and {len(issues) - 1} more problem(s))"
        return cls(first.code, msg, first.line, first.column, first.item, list(issues))

    def __str__(self) -> str:
        loc = ParseIssue(self.code, self.message, self.line, self.column, self.item).where()
        head = f"{loc}: {self.message}" if loc else self.message
        return f"{head} [{self.code}]"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable record, every issue included."""
        return {"code": self.code, "message": self.message, "line": self.line, "column": self.column,
                "item": self.item, "issues": [i.to_dict() for i in self.issues]}


class InputTooLargeError(ParseError):
    """Input refused before parsing because it exceeds a configured size limit."""

    def __init__(self, size: int, limit: int, what: str = "input") -> None:
        super().__init__("too_large", f"{what} is {size} bytes, over the limit of {limit} bytes")
        self.size = size
        self.limit = limit


class SimulationError(BrickfieldError):
    """A simulation could not be set up at all (not raised for in-episode failures, which become
    invalid evaluations with a reason)."""


class InvalidArgumentError(BrickfieldError, ValueError):
    """An argument that is not a valid value: a world grid size that is not 1 or 3 positive ints or
    is over ``lego.structure.MAX_WORLD_DIM`` per axis, a voxel grid that is not a 3-D array of
    numbers. A ``ValueError`` too, so callers that validated arguments with ``except ValueError``
    keep working; ``code`` is stable and machine-readable (``bad_world_dim``, ``world_too_large``,
    ``bad_voxels``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{message} [{code}]")
        self.code = code
        self.message = message

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable record."""
        return {"code": self.code, "message": self.message}
