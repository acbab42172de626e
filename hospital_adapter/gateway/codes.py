"""The BHXH gateway's result codes (``maKetQua``) and what the kiosk does with each.

docs/domain.md §3, "Result codes". Every code maps to exactly one :class:`Decision`; an unknown
code sends the patient to the counter rather than guessing.
"""

from __future__ import annotations

import enum


class Decision(enum.Enum):
    """What the check-in does with a lookup result."""

    INSURED = "insured"
    """Valid BHYT card: register an insured visit (khám BHYT)."""
    SELF_PAY = "self_pay"
    """No valid coverage: offer a self-pay visit (khám dịch vụ)."""
    GO_TO_COUNTER = "go_to_counter"
    """A person must look at the case (mismatch, not linked, special card)."""
    RETRY = "retry"
    """The gateway failed transiently: try again or check at the counter later."""
    CONFIGURATION_ERROR = "configuration_error"
    """The facility's account or staff identity is wrong: IT must fix it."""


class ResultCode(enum.Enum):
    """``maKetQua`` values of ``KQNhanLichSuKCB2024`` (docs/domain.md §3)."""

    VALID = "000"
    MILITARY_CARD = "001"
    POLICE_CARD = "002"
    OLD_CARD_EXPIRED_NEW_ISSUED = "003"
    OLD_CARD_VALID_NEW_ISSUED = "004"
    EXPIRED = "010"
    NOT_FOUND = "050"
    WRONG_NUMBER = "051"
    WRONG_PROVINCE = "052"
    WRONG_BENEFIT_LEVEL = "053"
    STAFF_NAME_PROBLEM = "054"
    STAFF_ID_PROBLEM = "055"
    NAME_MISMATCH = "060"
    NAME_MISMATCH_DIACRITICS = "061"
    BIRTH_DATE_MISMATCH = "070"
    SEX_MISMATCH = "080"
    PRIMARY_CARE_FACILITY = "090"
    READ_ERROR = "100"
    SERVER_ERROR = "101"
    REVOKED = "110"
    TERMINATED_120 = "120"
    TERMINATED_121 = "121"
    TERMINATED_122 = "122"
    TERMINATED_123 = "123"
    TERMINATED_124 = "124"
    CHILD_UNDER_6_NO_CARD = "130"
    PARAMETER_ERROR = "205"
    UNAUTHORIZED = "401"
    INTERNAL_ERROR = "500"

    @classmethod
    def lookup(cls, raw: str) -> ResultCode | None:
        """The code for ``raw``, or ``None`` for a code this table does not know."""
        try:
            return cls(raw)
        except ValueError:
            return None

    @property
    def decision(self) -> Decision:
        return DECISIONS.get(self, Decision.GO_TO_COUNTER)

    @property
    def uses_new_card(self) -> bool:
        """003/004: a new card was issued; its fields (``maTheMoi``...) are the ones to use."""
        return self in (
            ResultCode.OLD_CARD_EXPIRED_NEW_ISSUED,
            ResultCode.OLD_CARD_VALID_NEW_ISSUED,
        )


DECISIONS: dict[ResultCode, Decision] = {
    ResultCode.VALID: Decision.INSURED,
    ResultCode.OLD_CARD_EXPIRED_NEW_ISSUED: Decision.INSURED,
    ResultCode.OLD_CARD_VALID_NEW_ISSUED: Decision.INSURED,
    ResultCode.EXPIRED: Decision.SELF_PAY,
    ResultCode.STAFF_NAME_PROBLEM: Decision.CONFIGURATION_ERROR,
    ResultCode.STAFF_ID_PROBLEM: Decision.CONFIGURATION_ERROR,
    ResultCode.PARAMETER_ERROR: Decision.CONFIGURATION_ERROR,
    ResultCode.UNAUTHORIZED: Decision.CONFIGURATION_ERROR,
    ResultCode.READ_ERROR: Decision.RETRY,
    ResultCode.SERVER_ERROR: Decision.RETRY,
    ResultCode.INTERNAL_ERROR: Decision.RETRY,
}
"""Codes not listed here (military/police cards, not found, mismatches, revoked,
terminated, child without card, wrong facility) go to the counter."""


def decide(raw: str) -> Decision:
    """The decision for a raw ``maKetQua``; unknown codes go to the counter."""
    code = ResultCode.lookup(raw)
    return Decision.GO_TO_COUNTER if code is None else code.decision
