"""Procedural LEGO dataset in StableText2Brick's columns, and the caption -> target task suite.

Rows are made the way StableText2Brick made its own (research/lego_anchors.md §1.6), with parametric
objects (:mod:`brickfield.lego.objects`) in place of ShapeNet meshes: draw an object, legolise its
voxels (:mod:`brickfield.lego.legolize`) into a canonical layout and seeded layout variants, keep a
variant only when it is valid, stable by our stability analysis and still close to the shape (repair
may have removed bricks: IoU at least ``min_iou``), and drop exact duplicates. Everything is counted
in :class:`DatasetStats`. The same ``(n, seed, variants)`` always gives the same rows.

Columns (StableText2Brick's):

==================  ===============================================================================
``structure_id``    ``<object_id>-<variant>``
``object_id``       ``<category>-<seed>-<object index>``
``category_id``     the category name (StableText2Brick stores a ShapeNet synset id string here)
``captions``        list of 3-5 captions of the object (shared by its variants)
``bricks``          BrickGPT brick text, one ``HxW (x,y,z)`` per line, newline-terminated
``stability_scores`` per-voxel score grid ``[x][y][z]`` of the world (20x20x20), each brick's cells
                    holding its BrickGPT score (0 = no pull, 1 = failing), empty cells 0 -- the
                    array BrickGPT's ``stability_score`` returns; ``scores_layout="per_brick"``
                    writes the flat per-brick list instead
==================  ===============================================================================
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from brickfield.core.errors import BrickfieldError
from brickfield.lego.legolize import LegolizeConfig, legolize
from brickfield.lego.objects import CATEGORIES, make_object
from brickfield.lego.structure import Structure
from brickfield.lego.textformat import parse_structure

#: StableText2Brick's columns, in its order.
ST2B_COLUMNS: tuple[str, ...] = ("structure_id", "object_id", "category_id", "captions", "bricks",
                                 "stability_scores")

ScoresLayout = Literal["grid", "per_brick"]
Format = Literal["parquet", "jsonl"]

#: Scores are rounded to this many decimals (the interior-point solver leaves ~1e-11 noise on zeros).
SCORE_DECIMALS = 6

#: Score noise of the layout variants after the first (0 = the canonical layout).
VARIANT_RANDOMNESS = 4.0


class DatasetError(BrickfieldError):
    """The dataset cannot be written as asked (``code``: ``missing_dependency``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{message} [{code}]")
        self.code = code
        self.message = message


def _pyarrow() -> tuple[Any, Any]:
    """``(pyarrow, pyarrow.parquet)``, or DatasetError when pyarrow is not installed."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise DatasetError("missing_dependency", "parquet needs pyarrow (pip install pyarrow), "
                                                 "or write JSONL") from None
    return pa, pq


@dataclass(frozen=True)
class CaptionTarget:
    """One caption -> target structure task: ``target`` is the brick text to build."""

    id: str
    caption: str
    target: str
    category: str


@dataclass(frozen=True)
class DatasetRow:
    """One structure row; ``scores`` are the per-brick stability scores in ``bricks`` order."""

    structure_id: str
    object_id: str
    category_id: str
    captions: tuple[str, ...]
    bricks: str
    scores: tuple[float, ...]
    world_dim: tuple[int, int, int] = (20, 20, 20)

    def stability_grid(self, structure: Structure | None = None) -> np.ndarray:
        """The per-voxel score grid (world-sized, float64) StableText2Brick stores."""
        s = structure if structure is not None else parse_structure(self.bricks, world_dim=self.world_dim)
        grid = np.zeros(self.world_dim, dtype=np.float64)
        for b, score in zip(s.bricks, self.scores, strict=True):
            grid[b.x:b.x + b.h, b.y:b.y + b.w, b.z] = score
        return grid

    def to_record(self, scores_layout: ScoresLayout = "grid") -> dict[str, Any]:
        """The row as a plain dict in StableText2Brick's columns."""
        scores = self.stability_grid().tolist() if scores_layout == "grid" else list(self.scores)
        return {"structure_id": self.structure_id, "object_id": self.object_id,
                "category_id": self.category_id, "captions": list(self.captions), "bricks": self.bricks,
                "stability_scores": scores}


@dataclass
class DatasetStats:
    """What generation did: rows kept, objects drawn, candidates legolised, and why some were not
    kept (``dropped_unstable``: invalid or unstable after repair; ``dropped_shape``: repair lost too
    much of the shape; ``duplicates``: a variant identical to an earlier one). ``repaired`` counts kept
    rows whose layout needed repair actions."""

    rows: int = 0
    objects: int = 0
    candidates: int = 0
    repaired: int = 0
    dropped_unstable: int = 0
    dropped_shape: int = 0
    duplicates: int = 0
    per_category: dict[str, int] = field(default_factory=dict)

    @property
    def dropped(self) -> int:
        """Candidates not kept for being unstable/invalid or misshapen."""
        return self.dropped_unstable + self.dropped_shape

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable record."""
        return {"rows": self.rows, "objects": self.objects, "candidates": self.candidates,
                "repaired": self.repaired, "dropped": self.dropped, "dropped_unstable": self.dropped_unstable,
                "dropped_shape": self.dropped_shape, "duplicates": self.duplicates,
                "per_category": dict(self.per_category)}


def _variant_seed(seed: int, index: int, variant: int) -> int:
    return int(np.random.SeedSequence([seed, index, variant]).generate_state(1)[0])


def _check_args(n: int, seed: int, variants: int, categories: Sequence[str] | None) -> list[str]:
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    if variants < 1:
        raise ValueError(f"variants must be >= 1, got {variants}")
    cats = list(categories) if categories is not None else list(CATEGORIES)
    unknown = [c for c in cats if c not in CATEGORIES]
    if unknown or not cats:
        raise ValueError(f"unknown categories {unknown}; known: {sorted(CATEGORIES)}")
    return cats


def generate_rows(n: int, seed: int = 0, *, variants: int = 2, categories: Sequence[str] | None = None,
                  min_iou: float = 0.9, stats: DatasetStats | None = None,
                  max_objects: int | None = None) -> Iterator[DatasetRow]:
    """Yield `n` verified rows (fewer only if ``max_objects`` objects, default ``4 * n + 10``, did
    not yield enough). Objects cycle through `categories` (default: all) so they stay balanced; each
    object gives up to `variants` layouts. Pass a :class:`DatasetStats` to receive the counts."""
    cats = _check_args(n, seed, variants, categories)
    stats = stats if stats is not None else DatasetStats()
    limit = max_objects if max_objects is not None else 4 * n + 10
    index = 0
    while stats.rows < n and index < limit:
        category = cats[index % len(cats)]
        obj = make_object(category, np.random.default_rng([seed, index]))
        object_id = f"{category}-{seed}-{index:06d}"
        stats.objects += 1
        seen: set[str] = set()
        for v in range(variants):
            if stats.rows >= n:
                break
            cfg = LegolizeConfig(seed=_variant_seed(seed, index, v),
                                 randomness=VARIANT_RANDOMNESS if v else 0.0)
            res = legolize(obj.voxels, cfg)
            stats.candidates += 1
            if not (res.valid and res.stable) or res.stability is None:
                stats.dropped_unstable += 1
                continue
            if res.iou < min_iou:
                stats.dropped_shape += 1
                continue
            text = res.structure.to_text()
            if text in seen:
                stats.duplicates += 1
                continue
            seen.add(text)
            stats.repaired += bool(res.repairs)
            stats.rows += 1
            stats.per_category[category] = stats.per_category.get(category, 0) + 1
            yield DatasetRow(f"{object_id}-{v}", object_id, category, obj.captions, text,
                             tuple(round(float(s), SCORE_DECIMALS) for s in res.stability.scores),
                             res.structure.world_dim)
        index += 1


# ---------------------------------------------------------------------------------------------------
# writing


def parquet_schema(scores_layout: ScoresLayout = "grid") -> Any:
    """The pyarrow schema of the written parquet files."""
    pa, _ = _pyarrow()

    scores = pa.list_(pa.float64())
    if scores_layout == "grid":
        scores = pa.list_(pa.list_(scores))
    return pa.schema([("structure_id", pa.string()), ("object_id", pa.string()),
                      ("category_id", pa.string()), ("captions", pa.list_(pa.string())),
                      ("bricks", pa.string()), ("stability_scores", scores)])


def format_for(path: str | Path, fmt: str | None = None) -> Format:
    """`fmt` if given (``parquet`` or ``jsonl``), else from the file suffix (``.jsonl``/``.json`` ->
    jsonl, anything else -> parquet). ValueError for an unknown format."""
    if fmt is None:
        return "jsonl" if Path(path).suffix.lower() in (".jsonl", ".json") else "parquet"
    if fmt not in ("parquet", "jsonl"):
        raise ValueError(f"format must be parquet or jsonl, got {fmt!r}")
    return fmt  # type: ignore[return-value]


def write_dataset(rows: Iterable[DatasetRow], path: str | Path, fmt: str | None = None, *,
                  scores_layout: ScoresLayout = "grid", batch_size: int = 128) -> int:
    """Stream `rows` to `path` as parquet (pyarrow) or JSONL; returns the number written.

    Raises OSError when `path` cannot be written, ValueError for a bad format or layout and
    DatasetError when parquet is asked for without pyarrow installed.
    """
    if scores_layout not in ("grid", "per_brick"):
        raise ValueError(f"scores_layout must be grid or per_brick, got {scores_layout!r}")
    kind = format_for(path, fmt)
    count = 0
    if kind == "jsonl":
        with open(path, "w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row.to_record(scores_layout)) + "\n")
                count += 1
        return count
    pa, pq = _pyarrow()
    schema = parquet_schema(scores_layout)
    with pq.ParquetWriter(str(path), schema, compression="zstd") as writer:
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append(row.to_record(scores_layout))
            count += 1
            if len(batch) >= batch_size:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                batch = []
        if batch or count == 0:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
    return count


def build_dataset(n: int, out: str | Path, seed: int = 0, fmt: str | None = None, *, variants: int = 2,
                  categories: Sequence[str] | None = None, scores_layout: ScoresLayout = "grid",
                  on_row: Callable[[DatasetRow, DatasetStats], None] | None = None) -> DatasetStats:
    """Generate `n` rows (see :func:`generate_rows`) and write them to `out`; `on_row` is called after
    each row (for progress bars). Returns the generation counts."""
    stats = DatasetStats()
    _check_args(n, seed, variants, categories)
    if format_for(out, fmt) == "parquet":  # refuse what cannot be written before any work
        _pyarrow()

    def rows() -> Iterator[DatasetRow]:
        for row in generate_rows(n, seed, variants=variants, categories=categories, stats=stats):
            if on_row is not None:
                on_row(row, stats)
            yield row

    write_dataset(rows(), out, fmt, scores_layout=scores_layout)
    return stats


# ---------------------------------------------------------------------------------------------------
# task suite


def procedural_suite(n: int, seed: int = 0) -> list[CaptionTarget]:
    """`n` caption -> target tasks from procedural objects (one structure per object, its first
    caption), deterministic for `seed`. Objects cycle through the categories, so they stay balanced."""
    return [CaptionTarget(row.structure_id, row.captions[0], row.bricks, row.category_id)
            for row in generate_rows(n, seed, variants=1)]


__all__ = ["ST2B_COLUMNS", "CaptionTarget", "DatasetError", "DatasetRow", "DatasetStats", "build_dataset",
           "format_for", "generate_rows", "parquet_schema", "procedural_suite", "write_dataset"]
