"""The pipeline's layers: design and levels import without MuJoCo (only ``machines.sim`` needs it)."""

import subprocess
import sys

import pytest

MUJOCO_FREE = ["brickfield.machines.design.validity", "brickfield.machines.design.placement",
               "brickfield.machines.levels.registry", "brickfield.machines.levels.triggers",
               "brickfield.machines.prompts"]


@pytest.mark.parametrize("module", MUJOCO_FREE)
def test_imports_without_mujoco(module: str) -> None:
    code = f"import sys, {module}; print('mujoco' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_sim_does_import_mujoco() -> None:
    code = "import sys, brickfield.machines.sim.simulate; print('mujoco' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_tree_does_not_import_its_checkers() -> None:
    """``tree`` holds the types, ``filecheck`` the checkers that use them, ``parse`` joins both: no cycle."""
    code = ("import sys, brickfield.machines.design.tree; "
            "print('brickfield.machines.design.filecheck' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
