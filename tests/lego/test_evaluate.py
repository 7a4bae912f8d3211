import pytest

from brickfield.core import Task, get_domain
from brickfield.core.errors import InputTooLargeError
from brickfield.lego.evaluate import evaluate_text


def test_domain_contract_round_trip():
    dom = get_domain("lego")
    design = dom.parse("2x2 (0,0,0)\n2x2 (0,0,1)\n")
    ev = dom.evaluate(design, Task(domain="lego", name="free"))
    assert ev.valid and ev.details["stable"]
    assert ev.reward == 1.0  # R_phys without a target


def test_target_gives_pvpo_reward():
    target = "2x2 (0,0,0)\n2x2 (0,0,1)\n2x2 (0,0,2)\n"
    exact = evaluate_text(target, Task("lego", "t", target=target))
    off = evaluate_text("2x2 (5,5,0)\n", Task("lego", "t", target=target, options={"lam": 0.5}))
    assert exact.reward == pytest.approx(1.0)
    assert 0.0 < off.reward < exact.reward
    assert off.metrics["r_phys"] == 1.0 and off.metrics["r_vox"] < 1.0


def test_malformed_lines_count_as_invalid_items():
    ev = evaluate_text("2x4 (0,0,0)\n2x4 (0,0\n")
    assert not ev.valid
    assert ev.details["reasons"] == [[], ["ill_formatted"]]
    assert ev.reward == pytest.approx(0.5)
    assert ev.details["stable"] is False  # not every item could be analysed


def test_deterministic_output():
    text = "2x6 (0,0,0)\n1x2 (0,4,1)\n2x2 (1,1,1)\n1x4 (0,3,2)\n"
    a = evaluate_text(text).to_dict()
    b = evaluate_text(text).to_dict()
    for d in (a, b):
        d.pop("timing")
        d["stability"].pop("seconds")
    assert a == b


def test_oversize_input_refused():
    with pytest.raises(InputTooLargeError):
        evaluate_text("1x1 (0,0,0)\n" * 200_000)
