"""Hypothesis profiles: ``ci`` (what `make test` runs, a budget that fits) and ``fuzz`` (10,000
examples per target, `make fuzz`). HYPOTHESIS_PROFILE picks one."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

COMMON = {
    "deadline": None,  # speed is for `make bench`, never a test's verdict
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    "database": None,
}
settings.register_profile("ci", max_examples=40, derandomize=True, **COMMON)
settings.register_profile(
    "fuzz", max_examples=int(os.environ.get("FUZZ_EXAMPLES", "10000")), **COMMON
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
