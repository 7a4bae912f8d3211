"""Cross-check against BrickGPT's own stability verdicts (80 public cases in ../shared/reference).

Skipped when the shared reference folder is absent. Comparison rule from the reference README: the
verdict must match exactly, and each per-brick score must lie in [scores_lo - 0.01, scores_hi + 0.01]
(the range over all optimal solutions of the same model, since load splits are not unique).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from brickfield.lego.stability.solve import StabilityConfig, StabilityResult, analyze_stability
from brickfield.lego.textformat import parse_structure

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
VERDICTS = SHARED / "reference" / "verdicts" / "lego" / "stability.jsonl"
SLACK = 0.01

pytestmark = pytest.mark.skipif(not VERDICTS.exists(), reason="shared reference verdicts not present")


def _cases() -> list[dict]:
    return [json.loads(line) for line in VERDICTS.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module", params=["clarabel", "highs"])
def results(request) -> tuple[str, list[tuple[dict, StabilityResult]]]:
    cfg = StabilityConfig(solver=request.param, fallback=False)
    return request.param, [(c, analyze_stability(parse_structure(c["bricks"]), cfg)) for c in _cases()]


def test_case_count():
    assert len(_cases()) == 80


def test_verdicts_and_scores(results):
    solver, pairs = results
    verdict_miss, outside, total, kind_miss = [], [], 0, []
    for case, res in pairs:
        if res.stable != case["stable"]:
            verdict_miss.append(case["id"])
        if list(res.fail_kinds) != case["fail_kind"]:
            kind_miss.append((case["id"], res.fail_kinds, case["fail_kind"]))
        if case["scores"] is None:  # collision: the reference refuses to compute scores
            assert res.status == "collision", case["id"]
            continue
        assert res.status == "optimal", (case["id"], res.status)
        lo, hi = np.asarray(case["scores_lo"]), np.asarray(case["scores_hi"])
        bad = np.flatnonzero((res.scores < lo - SLACK) | (res.scores > hi + SLACK))
        total += lo.size
        outside += [(case["id"], int(i), float(res.scores[i]), float(lo[i]), float(hi[i])) for i in bad]
    in_range = 1.0 - len(outside) / total
    print(f"\n[{solver}] verdicts {len(pairs) - len(verdict_miss)}/{len(pairs)} matched; "
          f"scores in range {total - len(outside)}/{total} ({100 * in_range:.2f}%); "
          f"fail kinds matched {len(pairs) - len(kind_miss)}/{len(pairs)}")
    for item in outside[:20]:
        print("  outside range:", item)
    assert not verdict_miss, verdict_miss
    assert in_range >= 0.98, outside[:10]
    assert not kind_miss, kind_miss


def test_floating_flags_match(results):
    _, pairs = results
    for case, res in pairs:
        assert bool(res.floating.any()) == case["floating"], case["id"]
