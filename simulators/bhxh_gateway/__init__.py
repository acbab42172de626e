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
    DEFAULT_ACCOUNTS,
    Fault,
    GatewaySimulator,
    RunningGateway,
    serve,
)

__all__ = [
    "DEFAULT_ACCOUNTS",
    "DEFAULT_SCENARIOS",
    "Dataset",
    "Fault",
    "GatewaySimulator",
    "InsuranceRecord",
    "Person",
    "RunningGateway",
    "Scenario",
    "generate_people",
    "serve",
]
