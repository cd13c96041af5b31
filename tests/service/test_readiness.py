"""Readiness as a plain object: ready only when every registered condition is met."""

from __future__ import annotations

import pytest

from service.readiness import Readiness


def test_readiness_needs_every_registered_condition() -> None:
    readiness = Readiness()
    readiness.register("config loaded")
    readiness.register("provider client open")
    readiness.met("config loaded")
    assert not readiness.ready
    assert readiness.unmet() == ["provider client open"]
    readiness.met("provider client open")
    assert readiness.ready
    readiness.clear("config loaded")
    assert readiness.unmet() == ["config loaded"]
    with pytest.raises(KeyError, match="never registered"):
        readiness.met("draining")
