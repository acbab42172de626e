"""A simulated BHXH gateway (DOMAIN.md §3) for tests and demos.

Run it with ``python -m simulators.bhxh_gateway``.
"""

from __future__ import annotations

from simulators.bhxh_gateway.dataset import (
    DEFAULT_SCENARIOS,
    Dataset,
    InsuranceRecord,
    Person,
    Scenario,
    generate_people,
)
from simulators.bhxh_gateway.server import (
    CONTROL_PATH,
    DEFAULT_ACCOUNTS,
    ControlCommand,
    Fault,
    GatewaySimulator,
    RunningGateway,
    control,
    parse_control,
    serve,
)

__all__ = [
    "CONTROL_PATH",
    "DEFAULT_ACCOUNTS",
    "DEFAULT_SCENARIOS",
    "ControlCommand",
    "Dataset",
    "Fault",
    "GatewaySimulator",
    "InsuranceRecord",
    "Person",
    "RunningGateway",
    "Scenario",
    "control",
    "generate_people",
    "parse_control",
    "serve",
]
