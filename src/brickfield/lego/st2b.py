"""Load a local copy of StableText2Brick (or any file in its columns) and validate every row.

Hubs are unreachable, so this reads files already on disk:

* a single file: ``.parquet``, ``.jsonl`` (one JSON object per line) or ``.arrow`` (Arrow IPC);
* a directory in the hub's parquet shards layout (``data/train-00000-of-00001.parquet``, also
  ``train/*.parquet`` or ``train.parquet``/``train.jsonl``): the files of the requested split;
* a directory written by ``datasets``' ``save_to_disk`` (``dataset_dict.json`` with one folder per
  split holding ``data-*.arrow`` IPC streams and a ``state.json``; or a single split's folder).

Every row is checked: ids present, ``captions`` a non-empty list of non-empty strings, ``bricks`` in
the exact brick format with every brick in the library, inside the grid and colliding with nothing,
and ``stability_scores`` (when present) either one score per brick or a world-sized per-voxel grid,
every value in [0, 1]. A bad row becomes an :class:`ST2BError` with a stable ``code``: with
``on_error="skip"`` it is counted and kept in ``errors`` (the first ``max_errors``), with ``"raise"``
it is raised. Problems with a whole file (unreadable, a column missing) always raise.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from brickfield.core.errors import BrickfieldError, ParseError
from brickfield.lego.checks import COLLISION, NOT_IN_LIBRARY, OUT_OF_BOUNDS, check_structure
from brickfield.lego.dataset import ST2B_COLUMNS, CaptionTarget
from brickfield.lego.library import DEFAULT_WORLD_DIM
from brickfield.lego.structure import Structure, world_dims
from brickfield.lego.textformat import parse_structure

OnError = Literal["skip", "raise"]

_REQUIRED = ("structure_id", "captions", "bricks")
_SUFFIXES = (".parquet", ".jsonl", ".arrow")
_MAX_LINE = 50_000_000  # a JSONL line (a 20^3 score grid as text is ~50 kB)


class ST2BError(BrickfieldError):
    """A StableText2Brick row (or file) that cannot be used.

    ``code``: ``bad_file``, ``missing_columns``, ``no_split``, ``missing_dependency`` (file level);
    ``bad_json``, ``bad_id``, ``bad_captions``, ``bad_bricks``, ``invalid_bricks``, ``bad_scores``
    (row level). ``row`` is the
    0-based row index within the split (None for file errors), ``field`` the offending column.
    """

    def __init__(self, code: str, message: str, *, row: int | None = None, field: str | None = None,
                 structure_id: str | None = None, path: str | None = None) -> None:
        self.code = code
        self.message = message
        self.row = row
        self.field = field
        self.structure_id = structure_id
        self.path = path
        where = f"row {row}: " if row is not None else ""
        super().__init__(f"{where}{message} [{code}]")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable record."""
        return {"code": self.code, "message": self.message, "row": self.row, "field": self.field,
                "structure_id": self.structure_id, "path": self.path}


@dataclass(frozen=True)
class ST2BRow:
    """One validated row. ``scores`` are per brick in ``bricks`` order (None when the row had none)."""

    structure_id: str
    object_id: str
    category_id: str
    captions: tuple[str, ...]
    bricks: str
    structure: Structure
    scores: tuple[float, ...] | None = None

    @property
    def stable(self) -> bool | None:
        """BrickGPT's verdict from the stored scores (every score < 1); None without scores."""
        return None if self.scores is None else all(s < 1.0 for s in self.scores)


@dataclass
class ST2BData:
    """The valid rows of one split, the row errors kept, and how many rows were skipped."""

    rows: list[ST2BRow]
    errors: list[ST2BError] = field(default_factory=list)
    skipped: int = 0
    files: list[Path] = field(default_factory=list)
    split: str = "train"

    def __len__(self) -> int:
        return len(self.rows)


# ---------------------------------------------------------------------------------------------------
# files


def _arrow_files(folder: Path) -> list[Path]:
    state = folder / "state.json"
    if state.is_file():
        try:
            names = [d["filename"] for d in json.loads(state.read_text())["_data_files"]]
            return [folder / n for n in names]
        except (OSError, ValueError, KeyError, TypeError):
            pass  # fall back to the folder listing
    return sorted(folder.glob("*.arrow"))


def _matches_split(rel: Path, split: str) -> bool:
    name = rel.name.lower()
    return split in [p.lower() for p in rel.parts[:-1]] or any(
        name.startswith(split + sep) for sep in ("-", ".", "_"))


def split_files(path: str | Path, split: str = "train") -> list[Path]:
    """The data files of `split` under `path` (a file is returned as is). Raises ST2BError
    (``bad_file`` / ``no_split``) when there is nothing to read."""
    root = Path(path)
    if root.is_file():
        _kind(root)  # refuse a file of no known kind here rather than while reading
        return [root]
    if not root.is_dir():
        raise ST2BError("bad_file", f"{root} does not exist", path=str(root))
    split = split.lower()
    if (root / "dataset_dict.json").is_file():  # datasets' DatasetDict.save_to_disk
        folder = root / split
        files = _arrow_files(folder) if folder.is_dir() else []
    elif (root / "state.json").is_file():  # a single Dataset.save_to_disk: one split, no name
        files = _arrow_files(root)
    else:
        files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in _SUFFIXES
                       and _matches_split(p.relative_to(root), split))
    if not files:
        raise ST2BError("no_split", f"no data files for split {split!r} under {root}", path=str(root))
    return files


def _kind(path: Path) -> str:
    """``parquet``, ``arrow`` or ``jsonl``: from the suffix, else sniffed from the first bytes."""
    suffix = path.suffix.lower()
    if suffix in _SUFFIXES:
        return suffix[1:]
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise ST2BError("bad_file", f"cannot read {path}: {exc}", path=str(path)) from None
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"ARROW1") or head.startswith(b"\xff\xff\xff\xff"):  # IPC file / stream
        return "arrow"
    if head.lstrip().startswith(b"{"):
        return "jsonl"
    raise ST2BError("bad_file", f"{path}: not parquet, Arrow IPC or JSONL", path=str(path))


def _check_columns(names: list[str], path: Path) -> None:
    missing = [c for c in _REQUIRED if c not in names]
    if missing:
        raise ST2BError("missing_columns", f"{path.name} lacks column(s) {missing}", path=str(path))


def _arrow_batches(path: Path, columns: list[str] | None,
                   batch_size: int) -> Iterator[list[dict[str, Any]]]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ST2BError("missing_dependency", f"reading {path.name} needs pyarrow (pip install pyarrow)",
                        path=str(path)) from None
    try:
        if _kind(path) == "parquet":
            pf = pq.ParquetFile(str(path))
            names = pf.schema_arrow.names
            _check_columns(names, path)
            cols = [c for c in columns if c in names] if columns else None
            for batch in pf.iter_batches(batch_size=batch_size, columns=cols):
                yield batch.to_pylist()
            return
        with open(path, "rb") as fh:
            is_file_format = fh.read(6) == b"ARROW1"  # else an IPC stream, as datasets writes
        source = pa.memory_map(str(path))
        reader: Any = pa.ipc.open_file(source) if is_file_format else pa.ipc.open_stream(source)
        _check_columns(reader.schema.names, path)
        batches = reader if hasattr(reader, "read_next_batch") else (
            reader.get_batch(i) for i in range(reader.num_record_batches))
        for batch in batches:
            if columns:
                batch = batch.select([c for c in columns if c in batch.schema.names])
            yield batch.to_pylist()
    except (OSError, pa.ArrowException) as exc:
        raise ST2BError("bad_file", f"cannot read {path}: {exc}", path=str(path)) from None


def _jsonl_records(path: Path) -> Iterator[dict[str, Any] | ST2BError]:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                if len(line) > _MAX_LINE:
                    yield ST2BError("bad_json", f"{path.name} line {lineno}: over {_MAX_LINE} bytes")
                    continue
                try:
                    obj = json.loads(line)
                except (ValueError, RecursionError) as exc:
                    yield ST2BError("bad_json", f"{path.name} line {lineno}: invalid JSON: {exc}"[:200])
                    continue
                yield obj if isinstance(obj, dict) else ST2BError(
                    "bad_json", f"{path.name} line {lineno}: not a JSON object")
    except OSError as exc:
        raise ST2BError("bad_file", f"cannot read {path}: {exc}", path=str(path)) from None


def _records(files: list[Path], columns: list[str] | None) -> Iterator[dict[str, Any] | ST2BError]:
    for path in files:
        if _kind(path) == "jsonl":
            yield from _jsonl_records(path)
        else:
            for batch in _arrow_batches(path, columns, 256):
                yield from batch


# ---------------------------------------------------------------------------------------------------
# rows


def _text_field(rec: dict[str, Any], key: str, required: bool) -> str:
    value = rec.get(key)
    if value is None and not required:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value).strip() == "":
        raise ST2BError("bad_id", f"{key!r} must be a non-empty string, got {value!r}"[:160], field=key)
    return str(value)


def _captions(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value:
        raise ST2BError("bad_captions", "captions must be a non-empty list of strings", field="captions")
    if any(not isinstance(c, str) or not c.strip() for c in value):
        raise ST2BError("bad_captions", "every caption must be a non-empty string", field="captions")
    return tuple(value)


def _structure(value: Any, dims: tuple[int, int, int]) -> Structure:
    if not isinstance(value, str):
        raise ST2BError("bad_bricks", f"bricks must be a string, got {type(value).__name__}", field="bricks")
    try:
        structure = parse_structure(value, strict=True, world_dim=dims)
    except ParseError as exc:
        raise ST2BError("bad_bricks", f"bricks: {exc}"[:200], field="bricks") from None
    report = check_structure(structure)
    for i, reasons in enumerate(report.reasons):
        bad = [r for r in reasons if r in (NOT_IN_LIBRARY, OUT_OF_BOUNDS, COLLISION)]
        if bad:
            raise ST2BError("invalid_bricks", f"brick {i} ({structure[i]}): {bad[0]}", field="bricks")
    return structure


def _scores(value: Any, structure: Structure) -> tuple[float, ...] | None:
    if value is None:
        return None
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ST2BError("bad_scores", "stability_scores must be numbers", field="stability_scores") from None
    if arr.ndim == 1 and arr.size == len(structure):
        per_brick = arr
    elif arr.shape == structure.world_dim:  # StableText2Brick's per-voxel grid
        per_brick = np.array([arr[b.x:b.x + b.h, b.y:b.y + b.w, b.z].max() for b in structure.bricks])
    else:
        raise ST2BError("bad_scores", f"stability_scores shape {arr.shape} is neither one per brick "
                        f"({len(structure)}) nor the grid {structure.world_dim}", field="stability_scores")
    if per_brick.size and (not np.isfinite(per_brick).all() or per_brick.min() < 0 or per_brick.max() > 1):
        raise ST2BError("bad_scores", "stability_scores must lie in [0, 1]", field="stability_scores")
    return tuple(float(s) for s in per_brick)


def validate_row(rec: dict[str, Any], world_dim: int | tuple[int, int, int] = DEFAULT_WORLD_DIM,
                 with_scores: bool = True) -> ST2BRow:
    """One record in StableText2Brick's columns as a validated :class:`ST2BRow`; ST2BError if bad."""
    dims = world_dims(world_dim)
    sid = _text_field(rec, "structure_id", True)
    try:
        structure = _structure(rec.get("bricks"), dims)
        return ST2BRow(
            structure_id=sid, object_id=_text_field(rec, "object_id", False),
            category_id=_text_field(rec, "category_id", False), captions=_captions(rec.get("captions")),
            bricks=rec["bricks"], structure=structure,
            scores=_scores(rec.get("stability_scores"), structure) if with_scores else None)
    except ST2BError as err:
        err.structure_id = sid
        raise


def iter_st2b(path: str | Path, split: str = "train", *,
              world_dim: int | tuple[int, int, int] = DEFAULT_WORLD_DIM,
              with_scores: bool = True) -> Iterator[ST2BRow | ST2BError]:
    """Stream the split's rows in file order: an :class:`ST2BRow` per valid row, an ST2BError (with
    its ``row`` index) per bad one. File-level problems raise."""
    files = split_files(path, split)
    columns = list(ST2B_COLUMNS if with_scores else ST2B_COLUMNS[:-1])
    for index, rec in enumerate(_records(files, columns)):
        if isinstance(rec, ST2BError):
            rec.row = index
            yield rec
            continue
        try:
            yield validate_row(rec, world_dim, with_scores)
        except ST2BError as err:
            err.row = index
            yield err


def load_st2b(path: str | Path, split: str = "train", *, limit: int | None = None,
              on_error: OnError = "skip", max_errors: int = 100,
              world_dim: int | tuple[int, int, int] = DEFAULT_WORLD_DIM,
              with_scores: bool = True) -> ST2BData:
    """Load and validate a split (see the module docstring for the layouts). `limit` caps the valid
    rows returned; ``on_error="skip"`` counts bad rows in ``skipped`` (keeping the first
    `max_errors` in ``errors``), ``"raise"`` raises the first. ``with_scores=False`` does not read
    ``stability_scores`` (faster; ``scores`` stay None)."""
    if on_error not in ("skip", "raise"):
        raise ValueError(f"on_error must be skip or raise, got {on_error!r}")
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    data = ST2BData(rows=[], files=split_files(path, split), split=split)
    if limit == 0:
        return data
    for item in iter_st2b(path, split, world_dim=world_dim, with_scores=with_scores):
        if isinstance(item, ST2BError):
            if on_error == "raise":
                raise item
            data.skipped += 1
            if len(data.errors) < max_errors:
                data.errors.append(item)
            continue
        data.rows.append(item)
        if limit is not None and len(data.rows) >= limit:
            break
    return data


def st2b_suite(path: str | Path, split: str = "test", limit: int | None = None, *,
               all_captions: bool = False) -> list[CaptionTarget]:
    """Caption -> target tasks from a local StableText2Brick split: one per structure (its first
    caption; ``all_captions=True``: one per caption, ids ``<structure_id>#<k>``). `limit` caps the
    number of tasks. Bad rows are skipped."""
    out: list[CaptionTarget] = []
    if limit is not None and limit <= 0:
        return out
    for item in iter_st2b(path, split, with_scores=False):
        if isinstance(item, ST2BError):
            continue
        captions = item.captions if all_captions else item.captions[:1]
        for k, caption in enumerate(captions):
            sid = f"{item.structure_id}#{k}" if all_captions else item.structure_id
            out.append(CaptionTarget(sid, caption, item.bricks, item.category_id))
            if limit is not None and len(out) >= limit:
                return out
    return out


__all__ = ["ST2BData", "ST2BError", "ST2BRow", "iter_st2b", "load_st2b", "split_files", "st2b_suite",
           "validate_row"]
