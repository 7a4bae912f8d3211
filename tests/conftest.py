"""Suite-wide test configuration: the Hypothesis profiles.

* ``fixed`` (loaded unless ``HYPOTHESIS_PROFILE`` says otherwise): derandomised, so every run of
  ``make test`` generates the same examples and a pass or fail is reproducible; no deadline, because
  a per-example wall-clock limit fails at random on a loaded machine (speed is measured in
  ``benchmarks/``, not asserted in tests); ``print_blob`` so a failure prints the
  ``@reproduce_failure`` line.
* ``fuzz``: long randomised runs (``HYPOTHESIS_PROFILE=fuzz pytest -m fuzz tests/fuzz``), 20,000
  examples per test unless ``HYPOTHESIS_FUZZ_EXAMPLES`` sets another count. Tests meant for it are
  marked ``@pytest.mark.fuzz`` (deselected by pyproject's ``addopts`` like ``slow``).

A test that sets ``max_examples`` itself keeps that count under both profiles; everything it does not
set (derandomize, deadline, print_blob) comes from the loaded profile.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("fixed", derandomize=True, deadline=None, print_blob=True)
settings.register_profile(
    "fuzz", derandomize=False, deadline=None, print_blob=True,
    max_examples=int(os.environ.get("HYPOTHESIS_FUZZ_EXAMPLES", "20000")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fixed"))

