import pytest

from brickfield.core import TaskSpecError, get_domain
from brickfield.lego import evaluate_text, lego_task
from brickfield.lego.examples import example_text

TOWER3 = "2x2 (0,0,0)\n2x2 (0,0,1)\n2x2 (0,0,2)\n"


def test_free_design_rewards_validity_times_stability():
    dom = get_domain("lego")
    task = dom.task("free", caption="a short tower")
    ev = dom.evaluate(dom.parse("2x2 (0,0,0)\n2x2 (0,0,1)\n", task), task)
    assert ev.status == "ok" and ev.valid and ev.details["stable"]
    assert ev.components == {"valid": 1.0, "stable": 1.0} and ev.reward == 1.0 and ev.success
    unstable = evaluate_text(example_text("stairs_9"), task)
    assert unstable.status == "ok" and unstable.valid  # every brick passes the per-brick checks ...
    assert unstable.components["stable"] == 0.0 and unstable.reward == 0.0  # ... but it falls
    assert any(i["code"] == "unstable" for i in unstable.issues)


def test_target_gives_pvpo_reward():
    exact = evaluate_text(TOWER3, lego_task("t", caption="tower", target=TOWER3))
    off = evaluate_text("2x2 (5,5,0)\n", lego_task("t", caption="tower", target=TOWER3, lam=0.5))
    assert exact.reward == pytest.approx(1.0) and exact.success
    assert 0.0 < off.reward < exact.reward and not off.success
    assert off.components["r_phys"] == 1.0 and off.components["r_vox"] < 1.0
    assert "iou" in off.metrics


def test_malformed_lines_count_as_invalid_items_and_pvpo_keeps_partial_credit():
    task = lego_task("t", caption="x", target="2x4 (0,0,0)\n")
    ev = evaluate_text("2x4 (0,0,0)\n2x4 (0,0\n", task)
    assert ev.status == "invalid" and not ev.valid
    assert ev.details["reasons"] == [[], ["ill_formatted"]]
    assert ev.components["r_phys"] == pytest.approx(0.5)
    assert ev.reward == pytest.approx(0.5 * 0.5 + 0.5 * ev.components["r_vox"])  # PVPO grades invalid designs
    free = evaluate_text("2x4 (0,0,0)\n2x4 (0,0\n")
    assert free.status == "invalid" and free.reward == 0.0  # free design: invalid -> 0
    assert free.details["stable"] is False


def test_unparseable_and_refused_answers():
    ev = evaluate_text("I cannot build that.")
    assert ev.status == "unparseable" and ev.reward == 0.0 and ev.design_text is None
    assert ev.issues[0]["code"] == "no_bricks"
    big = evaluate_text("1x1 (0,0,0)\n" * 200_000)
    assert big.status == "refused" and big.reward == 0.0
    many = evaluate_text("1x1 (0,0,0)\n" * 2_001)
    assert many.status == "refused" and many.issues[0]["code"] == "too_many_bricks"


def test_deterministic_output_and_no_wall_clock_in_record():
    text = "2x6 (0,0,0)\n1x2 (0,4,1)\n2x2 (1,1,1)\n1x4 (0,3,2)\n"
    a, b = evaluate_text(text), evaluate_text(text)
    assert a == b and a.to_dict(timings=False) == b.to_dict(timings=False)
    assert "seconds" not in a.details["stability"] and a.timings["stability_s"] >= 0.0


def test_design_text_is_canonical():
    ev = evaluate_text("Here you go:\n```\n- 2x2 (0, 0, 0)\n* 2x2 (0,0,1)\n```\n")
    assert ev.design_text == "2x2 (0,0,0)\n2x2 (0,0,1)\n"


def test_lego_feedback_levels():
    dom = get_domain("lego")
    task = dom.task("free", caption="x")
    ev = dom.evaluate_text("2x2 (0,0,0)\n3x3 (0,0,1)\n2x2 (0,0,5)\n", task)
    assert dom.feedback(ev, "score", task).text.startswith("status invalid")
    full = dom.feedback(ev, "full", task)
    assert "not_in_library" in full.text and "floating" in full.text and "grid 0..19" in full.text
    assert {p["item"] for p in full.data["problems"]} == {1, 2}
    stairs = dom.evaluate_text(example_text("stairs_9"), task)
    fb = dom.feedback(stairs, "full", task)
    assert fb.data["failing"] and "score" in fb.text
    with pytest.raises(ValueError):
        dom.feedback(ev, "everything", task)


def test_task_validation():
    with pytest.raises(TaskSpecError):
        lego_task("x")  # no caption
    with pytest.raises(TaskSpecError):
        lego_task("x", caption="c", target="not bricks")
    with pytest.raises(TaskSpecError):
        lego_task("x", caption="c", lam=2.0)
    with pytest.raises(TaskSpecError):
        lego_task("x", caption="c", world_dim=10_000)
    assert lego_task("tower").param("target").startswith("2x2")
