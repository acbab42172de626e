"""Reporting check-ins to BHXH (docs/domain.md §3.7): a stored visit's XML0, signed by the
facility, sent to ``checkInKcbQd3176``; the receipt comes back for the store.

:class:`Xml0Reporter` is the sender of the store's XML0 queue: every check-in whose BHYT
card the gateway confirmed is queued in its own transaction, and an
:class:`~hospital_adapter.outbox.OutboxWorker` with ``queue=Queue.XML0`` delivers it at
least once; the gateway answers a record it already has (same ``MA_CSKCB`` and ``MA_LK``)
with the same receipt, so the report is made once ([open] for the real gateway).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Protocol

from hospital_adapter.config import Settings, Xml0Settings, xml0_secret
from hospital_adapter.deadline import Deadline
from hospital_adapter.gateway.submission import Xml0Receipt
from hospital_adapter.pkcs11_token import open_token_key
from hospital_adapter.visit import Visit
from hospital_adapter.xml0 import Xml0Facility, build_xml0
from hospital_adapter.xmldsig import FacilityKey, load_pkcs12, sign_xml0


class Xml0Port(Protocol):
    """What the reporter needs of :class:`~hospital_adapter.gateway.GatewayClient`."""

    def submit_xml0(
        self, signed_xml: bytes, province: str, facility: str, deadline: Deadline | None = None
    ) -> Xml0Receipt: ...


KeySource = Callable[[], AbstractContextManager[FacilityKey]]
"""Opens the facility's key for one signature: a PKCS#12 key held in memory, or a
session on the PKCS#11 token (:func:`hospital_adapter.pkcs11_token.open_token_key`)."""


class Xml0Reporter:
    """Builds, signs and submits a visit's XML0; ``province`` is the ``maTinh`` field."""

    def __init__(
        self, gateway: Xml0Port, facility: Xml0Facility, province: str, key: KeySource
    ) -> None:
        self._gateway = gateway
        self._facility = facility
        self._province = province
        self._key = key

    def signed_xml0(self, visit: Visit) -> bytes:
        """The signed XML0 of ``visit`` (the same bytes every time for the same key)."""
        with self._key() as key:
            return sign_xml0(build_xml0(visit, self._facility), key)

    def register(self, visit: Visit, deadline: Deadline) -> Xml0Receipt:
        """Report ``visit``; raises the gateway's errors (:class:`Xml0RejectedError` for a
        refused record) and :class:`InvalidInputError` for a visit XML0 cannot carry."""
        return self._gateway.submit_xml0(
            self.signed_xml0(visit), self._province, self._facility.facility_code, deadline
        )


def key_source(p12: str, module: str, token: str, key_label: str, secret: str) -> KeySource:
    """The facility's key: the PKCS#12 file ``p12`` (read now, ``secret`` its password),
    else the token ``token`` of the PKCS#11 library ``module`` (``secret`` its PIN), opened
    for each signature. :class:`ConfigurationError` for an unreadable file or a wrong
    password; the token's problems show at the first signature."""
    if p12:
        key = load_pkcs12(p12, secret)
        return lambda: nullcontext(key)
    return lambda: open_token_key(module, token, secret, key_label or None)


def configured_reporter(
    settings: Settings, gateway: Xml0Port, env: Mapping[str, str] = os.environ
) -> Xml0Reporter:
    """The reporter ``[xml0]`` describes (it must be enabled), with the key it names."""
    xml0: Xml0Settings = settings.xml0
    key = key_source(
        xml0.p12, xml0.pkcs11_module, xml0.token, xml0.key_label, xml0_secret(xml0, env)
    )
    facility = Xml0Facility(
        settings.hospital.facility_code, xml0.service_code, xml0.service_name, xml0.patient_category
    )
    return Xml0Reporter(gateway, facility, xml0.province, key)
