import pytest

from brickfield.lego import shapes
from brickfield.lego.checks import check_structure


@pytest.mark.parametrize("make", [
    lambda: shapes.walls(300),
    lambda: shapes.solid_block(6, side=8, bond="crossed"),
    lambda: shapes.solid_block(5, side=12, bond="running"),
    lambda: shapes.random_stack(120, seed=3),
    lambda: shapes.random_stack(400, seed=1, side=20, layers=20),
])
def test_generated_structures_are_valid_and_deterministic(make):
    a, b = make(), make()
    assert a == b
    report = check_structure(a)
    assert report.is_valid, report.counts


def test_sizes_and_seeds():
    assert len(shapes.walls(57)) == 57
    assert len(shapes.solid_block(20)) == 1000  # a full 20x20x20 world of 2x4 bricks
    assert len(shapes.random_stack(1000, seed=0, side=20, layers=20)) == 1000
    assert shapes.random_stack(50, seed=1) != shapes.random_stack(50, seed=2)
    assert [b.to_text() for b in shapes.staircase(1, 2, 3)] == ["1x2 (0,0,0)", "1x2 (0,1,1)", "1x2 (0,2,2)"]
    with pytest.raises(ValueError):
        shapes.solid_block(bond="herringbone")
    with pytest.raises(ValueError):
        shapes.walls(10_000)
