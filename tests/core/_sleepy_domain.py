"""A test-only domain whose evaluation hangs on the answer 'hang' (registered on import)."""

import time

from brickfield.core import DomainBase, Evaluation, Parsed, register_domain
from brickfield.core.task import Limits, TaskSpec


class Sleepy(DomainBase):
    name = "sleepy_test"

    def task(self, name="t", **params):
        return TaskSpec.make(self.name, name, params, limits=Limits(wall_seconds=0.5))

    def tasks(self, suite="default"):
        return [self.task()]

    def _parse(self, text, task):
        return Parsed(str(text))

    def _evaluate(self, parsed, task):
        if parsed.design == "hang":
            time.sleep(3600)
        return Evaluation.scored(task, "ok", components={"reward": 1.0})


DOMAIN = Sleepy()
register_domain(DOMAIN)
