"""A simulated BHXH gateway (docs/domain.md §3) for tests and demos.

Run it with ``python -m simulators.bhxh_gateway``.
"""

from __future__ import annotations

from simulators.bhxh_gateway.dataset import (
    CHILD_WITHOUT_CARD,
    DEFAULT_SCENARIOS,
    EXPIRED,
    INSURED,
    MILITARY,
    NEW_CARD_OLD_EXPIRED,
    NEW_CARD_OLD_VALID,
    PERSONA_SCENARIOS,
    POLICE,
    REVOKED,
    TERMINATED,
    UNLINKED,
    Dataset,
    InsuranceRecord,
    Person,
    Scenario,
    find_persona_seed,
    generate_people,
    persona_scenario,
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
    "CHILD_WITHOUT_CARD",
    "CONTROL_PATH",
    "DEFAULT_ACCOUNTS",
    "DEFAULT_SCENARIOS",
    "EXPIRED",
    "INSURED",
    "MILITARY",
    "NEW_CARD_OLD_EXPIRED",
    "NEW_CARD_OLD_VALID",
    "PERSONA_SCENARIOS",
    "POLICE",
    "REVOKED",
    "TERMINATED",
    "UNLINKED",
    "ControlCommand",
    "Dataset",
    "Fault",
    "GatewaySimulator",
    "InsuranceRecord",
    "Person",
    "RunningGateway",
    "Scenario",
    "control",
    "find_persona_seed",
    "generate_people",
    "parse_control",
    "persona_scenario",
    "serve",
]
