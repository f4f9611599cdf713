"""What the tests and the benchmarks share: a Voila server harness, an nbgrader course
set-up, browser helpers and tiny models. Never imported by :mod:`catdogkit`, so the kit
itself needs none of the dev-only packages (``psutil``, ``playwright``) this uses."""
