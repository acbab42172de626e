"""HTTP client of the BHXH gateway (docs/domain.md §3): token, lookup, retries, breaker, cache.

The only module that imports httpx for the gateway. Synchronous on purpose: the kiosk calls
it from a worker thread, and a deadline bounds every call.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import TypeVar

import httpx

from hospital_adapter.bounded_http import DeadlineTransport, HttpAnswer, HttpPeer, post_within
from hospital_adapter.config import GatewayAccount, GatewaySettings
from hospital_adapter.deadline import Deadline
from hospital_adapter.errors import (
    GatewayAuthError,
    GatewayError,
    GatewayProtocolError,
    GatewayTimeoutError,
    GatewayUnavailableError,
)
from hospital_adapter.gateway.codes import DECISIONS, Decision, ResultCode
from hospital_adapter.gateway.history import (
    HISTORY_PATH,
    MAX_HISTORY_BYTES,
    VisitHistory,
    parse_history_response,
)
from hospital_adapter.gateway.resilience import CircuitBreaker, RetryPolicy, TtlCache
from hospital_adapter.gateway.submission import (
    SUBMIT_PATH,
    Xml0Receipt,
    parse_submission_response,
    submission_form,
    submission_headers,
)
from hospital_adapter.gateway.wire import (
    LOOKUP_PATH,
    MAX_RESPONSE_BYTES,
    TOKEN_PATH,
    GatewayToken,
    InsuranceLookup,
    LookupQuery,
    load_object,
    lookup_body,
    lookup_params,
    parse_lookup_response,
    parse_token_response,
    result_code,
    token_form,
)

log = logging.getLogger(__name__)

TOKEN_EARLY_RENEWAL = timedelta(seconds=5)
"""Renew a token this long before ``expires_in`` so it does not expire in flight."""

_NOT_CACHED = frozenset({Decision.RETRY, Decision.CONFIGURATION_ERROR})
_TRANSIENT = frozenset(code for code, decision in DECISIONS.items() if decision is Decision.RETRY)
"""Result codes worth asking again for: 100, 101, 500 (docs/domain.md §3.5)."""
_T = TypeVar("_T")
_SECRET_PARAMS = frozenset({"token", "id_token", "password"})
GATEWAY = HttpPeer(
    "the gateway",
    MAX_RESPONSE_BYTES,
    timeout_error=GatewayTimeoutError,
    unreachable_error=GatewayUnavailableError,
    protocol_error=GatewayProtocolError,
)
HISTORY = replace(GATEWAY, max_bytes=MAX_HISTORY_BYTES)
"""The gateway answering a visit history, which may be long."""


class RedactGatewaySecrets(logging.Filter):
    """Masks the lookup URL's ``token``, ``id_token`` and ``password`` (an MD5 the gateway
    takes as the password itself, docs/domain.md §3) in httpx's "HTTP Request" log lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_redact(arg) for arg in record.args)
        return True


def _redact(arg: object) -> object:
    if not isinstance(arg, httpx.URL) or not _SECRET_PARAMS & set(arg.params):
        return arg
    params = [(k, "REDACTED" if k in _SECRET_PARAMS else v) for k, v in arg.params.multi_items()]
    return arg.copy_with(params=params)


def _install_redaction() -> None:
    """Add :class:`RedactGatewaySecrets` to the ``httpx`` logger, once per process."""
    logger = logging.getLogger("httpx")
    if not any(isinstance(f, RedactGatewaySecrets) for f in logger.filters):
        logger.addFilter(RedactGatewaySecrets())


class GatewayClient:
    """Looks BHYT coverage up at the BHXH gateway.

    :meth:`lookup` returns a typed :class:`InsuranceLookup` for every ``maKetQua`` (a
    persistent 100/101/500 comes back with decision ``RETRY``); :meth:`history` and
    :meth:`submit_xml0` use the same token, retries and breaker. Each raises
    :class:`GatewayUnavailableError` (down, timeout, circuit open), :class:`GatewayAuthError`
    (account refused) or :class:`GatewayProtocolError` (malformed answer).
    """

    def __init__(
        self,
        settings: GatewaySettings,
        account: GatewayAccount,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._settings = settings
        self._account = account
        _install_redaction()
        self._http = httpx.Client(base_url=settings.url, transport=transport or DeadlineTransport())
        self._clock = clock
        self._wall_clock = wall_clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._retry = RetryPolicy(attempts=settings.attempts, base_delay=settings.backoff_s)
        self.breaker = CircuitBreaker(settings.breaker_threshold, settings.breaker_reset_s, clock)
        self.cache: TtlCache[tuple[str, str, str], InsuranceLookup] = TtlCache(
            settings.cache_ttl_s, clock=clock
        )
        self._token: GatewayToken | None = None
        self._token_lock = threading.Lock()

    def __enter__(self) -> GatewayClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def lookup(self, query: LookupQuery, deadline: Deadline | None = None) -> InsuranceLookup:
        """Look ``query`` up, within ``deadline`` (default: unbounded but for timeouts)."""
        deadline = deadline or Deadline.never()
        key = query.cache_key()
        cached = self.cache.get(key)
        if cached is not None:
            log.debug("gateway lookup answered from cache (%s)", cached.raw_code)
            return replace(cached, from_cache=True)
        outcome = self._resilient(
            deadline,
            lambda: self._lookup_once(query, deadline),
            lambda result: result.decision is Decision.RETRY,
        )
        if outcome.decision not in _NOT_CACHED:
            self.cache.put(key, outcome)
        return outcome

    def history(self, query: LookupQuery, deadline: Deadline | None = None) -> VisitHistory:
        """The patient's visit history (``Lskcb2025``, docs/domain.md §3.4): the lookup's
        fields form URL-encoded, the token in the query string. Errors as :meth:`lookup`."""
        deadline = deadline or Deadline.never()
        form = lookup_body(query, self._account.staff_name, self._account.staff_id)

        def once() -> VisitHistory:
            body = self._authorized(
                deadline,
                lambda token: self._post(
                    HISTORY_PATH,
                    deadline,
                    params=self._token_params(token),
                    data=form,
                    peer=HISTORY,
                ),
            )
            return parse_history_response(body)

        return self._resilient(deadline, once, lambda result: result.code in _TRANSIENT)

    def submit_xml0(
        self,
        signed_xml: bytes,
        province: str,
        facility: str,
        deadline: Deadline | None = None,
    ) -> Xml0Receipt:
        """Report a signed XML0 record (``checkInKcbQd3176``, docs/domain.md §3.7) and return
        the receipt. Raises :class:`Xml0RejectedError` when the gateway refuses the record,
        otherwise the errors of :meth:`lookup`."""
        deadline = deadline or Deadline.never()
        form = submission_form(self._account.username, province, facility, signed_xml)

        def once() -> Xml0Receipt:
            body = self._authorized(
                deadline,
                lambda token: self._post(
                    SUBMIT_PATH,
                    deadline,
                    data=form,
                    headers=submission_headers(token, self._account.password),
                ),
            )
            return parse_submission_response(body)

        return self._resilient(deadline, once, lambda _: False)

    def _resilient(
        self, deadline: Deadline, once: Callable[[], _T], transient: Callable[[_T], bool]
    ) -> _T:
        """Call ``once`` through the circuit breaker, retrying transport failures and
        ``transient`` answers with backoff while the deadline allows; the last transient
        answer is returned when the attempts run out."""
        outcome: _T | GatewayUnavailableError | None = None
        for attempt in range(self._retry.attempts):
            if attempt:
                delay = self._retry.delay(attempt - 1, self._rng)
                if delay >= deadline.remaining():
                    break
                self._sleep(delay)
            self.breaker.before_call()
            try:
                result = once()
            except GatewayUnavailableError as exc:
                log.info("gateway attempt %d failed: %s", attempt + 1, exc)
                self.breaker.record_failure()
                outcome = exc
                continue
            except GatewayProtocolError:
                self.breaker.record_failure()  # a garbled answer (maintenance page): still down
                raise
            except GatewayError:
                self.breaker.record_success()  # it answered: the link is up, the request is not
                raise
            if transient(result):
                log.info("gateway attempt %d answered a transient failure", attempt + 1)
                self.breaker.record_failure()
                outcome = result
                continue
            self.breaker.record_success()
            return result
        if outcome is None:
            raise GatewayTimeoutError("deadline passed before the first attempt")
        if isinstance(outcome, GatewayUnavailableError):
            raise outcome
        return outcome

    def _lookup_once(self, query: LookupQuery, deadline: Deadline) -> InsuranceLookup:
        body = lookup_body(query, self._account.staff_name, self._account.staff_id)
        answer = self._authorized(
            deadline,
            lambda token: self._post(
                LOOKUP_PATH, deadline, params=self._token_params(token), json=body
            ),
        )
        return parse_lookup_response(answer)

    def _token_params(self, token: GatewayToken) -> dict[str, str]:
        return lookup_params(token, self._account.username, self._account.password)

    def _authorized(self, deadline: Deadline, send: Callable[[GatewayToken], HttpAnswer]) -> bytes:
        """The body of ``send``'s answer, taking a new token once when the gateway refuses
        the cached one: HTTP 401, or ``maKetQua`` 401 inside HTTP 200 (docs/domain.md §3.4)."""
        for renewed in (False, True):
            token = self._current_token(deadline, force=renewed)
            response = send(token)
            if response.status_code != httpx.codes.UNAUTHORIZED:
                _raise_for_server_status(response)
                if result_code(load_object(response.content)) != ResultCode.UNAUTHORIZED.value:
                    return response.content
            log.info("gateway token refused, taking a new one")
            self._drop_token(token)
        raise GatewayAuthError("gateway refused a freshly taken token", code="401")

    def _current_token(self, deadline: Deadline, *, force: bool) -> GatewayToken:
        with self._token_lock:
            token = self._token
            if (
                not force
                and token is not None
                and self._wall_clock() + TOKEN_EARLY_RENEWAL < token.expires_at
            ):
                return token
            response = self._post(
                TOKEN_PATH,
                deadline,
                data=token_form(self._account.username, self._account.password),
            )
            if response.status_code == httpx.codes.UNAUTHORIZED:
                raise GatewayAuthError("gateway refused the facility account", code="401")
            _raise_for_server_status(response)
            code, token = parse_token_response(response.content)
            if token is None:
                if code == ResultCode.INTERNAL_ERROR.value:
                    raise GatewayUnavailableError("gateway failed to issue a token", code=code)
                raise GatewayAuthError(f"gateway refused the facility account ({code})", code=code)
            if token.expires_at <= self._wall_clock() + TOKEN_EARLY_RENEWAL:
                raise GatewayProtocolError("gateway issued a token that has already expired")
            self._token = token
            return token

    def _drop_token(self, token: GatewayToken) -> None:
        with self._token_lock:
            if self._token is token:
                self._token = None

    def _post(
        self,
        path: str,
        deadline: Deadline,
        *,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        json: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        peer: HttpPeer = GATEWAY,
    ) -> HttpAnswer:
        return post_within(
            self._http,
            peer,
            path,
            deadline,
            self._settings.timeout_s,
            params=params,
            data=data,
            json=json,
            headers=headers,
        )


def _raise_for_server_status(response: HttpAnswer) -> None:
    status = response.status_code
    if status == httpx.codes.TOO_MANY_REQUESTS:
        raise GatewayUnavailableError("gateway rate limit reached", code="429")
    if status >= 500:
        raise GatewayUnavailableError(f"gateway HTTP {status}", code=str(status))
    if status != httpx.codes.OK:
        raise GatewayProtocolError(f"gateway answered HTTP {status}", code=str(status))
