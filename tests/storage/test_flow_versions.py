"""Stored flow versions: a check-in finishes on the version it started on, even when that
version would no longer pass `flows check`."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy.orm import Session, sessionmaker

from storage import flow_versions
from storage.database import transaction
from storage.models import FlowVersion
from survey_flows.checks.loading import parse_flow
from survey_flows.checks.problems import FlowError

# Accepted before every measure had to be declared under `measures:`.
OLD = """\
flow: old-weekly
title: Old weekly
steps:
  - id: worry
    ask: "Money worry from 0 to 10?"
    type: scale
    min: 0
    max: 10
    measure: money_worry
"""


def test_a_version_stored_before_a_rule_was_added_still_loads(
    sessions: sessionmaker[Session],
) -> None:
    with pytest.raises(FlowError, match="measure 'money_worry' is not declared"):
        parse_flow(OLD)
    version = hashlib.sha256(OLD.encode("utf-8")).hexdigest()
    with transaction(sessions) as session:
        session.add(FlowVersion(version=version, flow_id="old-weekly", source_text=OLD))
    with transaction(sessions, readonly=True) as session:
        flow = flow_versions.load(session, version)
    assert flow.version == version
    assert flow.measure_label("money_worry") == "Money worry"
