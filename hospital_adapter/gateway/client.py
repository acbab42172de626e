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

import httpx

from hospital_adapter.bounded_http import DeadlineTransport, HttpAnswer, HttpPeer, post_within
from hospital_adapter.config import GatewayAccount, GatewaySettings
from hospital_adapter.deadline import Deadline
from hospital_adapter.errors import (
    GatewayAuthError,
    GatewayProtocolError,
    GatewayTimeoutError,
    GatewayUnavailableError,
)
from hospital_adapter.gateway.codes import Decision, ResultCode
from hospital_adapter.gateway.resilience import CircuitBreaker, RetryPolicy, TtlCache
from hospital_adapter.gateway.wire import (
    LOOKUP_PATH,
    MAX_RESPONSE_BYTES,
    TOKEN_PATH,
    GatewayToken,
    InsuranceLookup,
    LookupQuery,
    lookup_body,
    lookup_params,
    parse_lookup_response,
    parse_token_response,
    token_form,
)

log = logging.getLogger(__name__)

TOKEN_EARLY_RENEWAL = timedelta(seconds=5)
"""Renew a token this long before ``expires_in`` so it does not expire in flight."""

_NOT_CACHED = frozenset({Decision.RETRY, Decision.CONFIGURATION_ERROR})
_SECRET_PARAMS = frozenset({"token", "id_token", "password"})
GATEWAY = HttpPeer(
    "the gateway",
    MAX_RESPONSE_BYTES,
    timeout_error=GatewayTimeoutError,
    unreachable_error=GatewayUnavailableError,
    protocol_error=GatewayProtocolError,
)


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
    persistent 100/101/500 comes back with decision ``RETRY``), and raises
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
        outcome: InsuranceLookup | GatewayUnavailableError | None = None
        for attempt in range(self._retry.attempts):
            if attempt:
                delay = self._retry.delay(attempt - 1, self._rng)
                if delay >= deadline.remaining():
                    break
                self._sleep(delay)
            self.breaker.before_call()
            try:
                outcome = self._lookup_once(query, deadline)
            except GatewayUnavailableError as exc:
                log.info("gateway attempt %d failed: %s", attempt + 1, exc)
                self.breaker.record_failure()
                outcome = exc
                continue
            except GatewayProtocolError:
                self.breaker.record_failure()  # a garbled answer (maintenance page): still down
                raise
            except GatewayAuthError:
                self.breaker.record_success()  # it answered: the link is up, the account is not
                raise
            if outcome.decision is Decision.RETRY:
                log.info("gateway attempt %d answered %s", attempt + 1, outcome.raw_code)
                self.breaker.record_failure()
                continue
            self.breaker.record_success()
            if outcome.decision not in _NOT_CACHED:
                self.cache.put(key, outcome)
            return outcome
        if isinstance(outcome, InsuranceLookup):
            return outcome
        raise outcome or GatewayTimeoutError("deadline passed before the first attempt")

    def _lookup_once(self, query: LookupQuery, deadline: Deadline) -> InsuranceLookup:
        for renewed in (False, True):
            token = self._current_token(deadline, force=renewed)
            response = self._post(
                LOOKUP_PATH,
                deadline,
                params=lookup_params(token, self._account.username, self._account.password),
                json=lookup_body(query, self._account.staff_name, self._account.staff_id),
            )
            if response.status_code != httpx.codes.UNAUTHORIZED:
                _raise_for_server_status(response)
                result = parse_lookup_response(response.content)
                if result.code is not ResultCode.UNAUTHORIZED:
                    return result
            log.info("gateway token refused, taking a new one")
            self._drop_token(token)
        raise GatewayAuthError("gateway refused a freshly taken token", code="401")

    def _current_token(self, deadline: Deadline, *, force: bool) -> GatewayToken:
        with self._token_lock:
            token = self._token
            if (
                not force
                and token is not None
                and self._wall_clock() < token.expires_at - TOKEN_EARLY_RENEWAL
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
    ) -> HttpAnswer:
        return post_within(
            self._http,
            GATEWAY,
            path,
            deadline,
            self._settings.timeout_s,
            params=params,
            data=data,
            json=json,
        )


def _raise_for_server_status(response: HttpAnswer) -> None:
    status = response.status_code
    if status == httpx.codes.TOO_MANY_REQUESTS:
        raise GatewayUnavailableError("gateway rate limit reached", code="429")
    if status >= 500:
        raise GatewayUnavailableError(f"gateway HTTP {status}", code=str(status))
    if status != httpx.codes.OK:
        raise GatewayProtocolError(f"gateway answered HTTP {status}", code=str(status))
