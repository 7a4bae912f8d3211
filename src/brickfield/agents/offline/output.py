"""Files a search leaves behind: the best designs as tree JSON and ``.bsg``, the history per
generation as CSV and JSONL, and a JSON summary.

Layout of ``out``::

    best.json  best.bsg          the best design (construction tree JSON / Besiege machine file)
    top/rank01.json, .bsg ...    the final population's best designs, best first
    history.csv  history.jsonl   one row per generation (GenerationStats)
    summary.json                 SearchResult.to_dict() plus the config
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from brickfield.agents.offline.evolution import GenerationStats, SearchConfig, SearchResult
from brickfield.agents.offline.space import SearchSpaceError
from brickfield.core.errors import ParseError
from brickfield.machines.design.parse import parse_tree
from brickfield.machines.design.validity import check_machine
from brickfield.machines.io.bsg import bsg_to_tree, to_bsg

__all__ = ["HISTORY_FIELDS", "history_csv", "load_start", "write_search"]

HISTORY_FIELDS = ("generation", "evaluations", "best", "population_best", "mean", "new_best", "new_mean",
                  "wall_s")


def history_csv(history: tuple[GenerationStats, ...] | list[GenerationStats]) -> str:
    """The history as CSV text (header ``HISTORY_FIELDS``)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=HISTORY_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in history:
        writer.writerow(row.to_dict())
    return buf.getvalue()


def _design_files(folder: Path, stem: str, text: str, title: str, reference_quirks: bool) -> list[Path]:
    tree = json.loads(text)
    paths = [folder / f"{stem}.json"]
    paths[0].write_text(json.dumps(tree, indent=1) + "\n", encoding="utf-8")
    machine = check_machine(tree, reference_quirks=reference_quirks).machine
    if machine is not None:  # a design that cannot be placed has no .bsg form
        paths.append(folder / f"{stem}.bsg")
        paths[1].write_text(to_bsg(machine, name=title), encoding="utf-8")
    return paths


def write_search(result: SearchResult, out: str | Path, config: SearchConfig | None = None, *,
                 reference_quirks: bool = True) -> list[Path]:
    """Write the result's files under ``out`` (created if missing); returns the paths written.

    Raises ``OSError`` when ``out`` cannot be written."""
    root = Path(out)
    (root / "top").mkdir(parents=True, exist_ok=True)
    paths = _design_files(root, "best", result.best_text,
                          f"{result.task} best (reward {result.best_reward:.3f})", reference_quirks)
    for rank, (text, outcome) in enumerate(result.top, 1):
        paths += _design_files(root / "top", f"rank{rank:02d}", text,
                               f"{result.task} rank {rank} (reward {outcome.reward:.3f})", reference_quirks)
    files = {"history.csv": history_csv(result.history),
             "history.jsonl": "".join(json.dumps(h.to_dict()) + "\n" for h in result.history)}
    summary: dict[str, Any] = result.to_dict()
    if config is not None:
        summary["config"] = asdict(config)
    files["summary.json"] = json.dumps(summary, indent=1) + "\n"
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
        paths.append(root / name)
    return paths


def load_start(text: str, *, bsg: bool = False) -> str:
    """Canonical tree text of a start design given as tree JSON / LLM text, or ``.bsg`` XML
    (``bsg=True``). Raises ``SearchSpaceError`` when no tree can be read."""
    try:
        tree = bsg_to_tree(text) if bsg else parse_tree(text)
    except ParseError as exc:
        raise SearchSpaceError(f"cannot read the start design: {exc}") from None
    return tree.to_text()
