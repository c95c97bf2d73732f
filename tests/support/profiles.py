"""Example counts that follow the Hypothesis profile loaded by tests/conftest.py.

Tests that set their own ``max_examples`` (the state machines, whose examples are long) write
it as ``examples(n)``: ``n`` under the dev profile, as many times fewer or more under the fast
and thorough profiles as those run fewer or more examples than Hypothesis's default.
"""

from __future__ import annotations

from hypothesis import settings

#: Hypothesis's own default, which the dev profile keeps.
DEFAULT_EXAMPLES = 100


def examples(n: int) -> int:
    """``n`` examples under the dev profile, scaled to the profile loaded now (at least 1)."""
    return max(1, round(n * settings().max_examples / DEFAULT_EXAMPLES))
