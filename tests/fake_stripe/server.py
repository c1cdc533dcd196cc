"""A small in-memory Stripe API for the test suite, served on loopback.

The real ``stripe`` SDK talks to it over HTTP, so the code under test runs exactly the
requests it would send to Stripe: form-encoded bodies with nested keys, a bearer key, an
``Idempotency-Key`` on every POST. Only what Partage uses is implemented: Connect Express
accounts and account links, Checkout Sessions (destination charges with a platform fee),
PaymentIntents (manual capture, partial capture, cancel), Refunds and the Events list.

Test hooks stand in for what a person would do on Stripe's pages (``onboard_account``,
``complete_checkout``) and for Stripe misbehaving (``fail_next``, ``decline_next_card``).
The same two pages are also served over HTTP (``/connect/onboard/<acct>`` and
``/checkout/<cs>``) so browser tests can click through them.

Rules worth knowing (they mirror Stripe's behaviour):
- amounts are integers in the smallest currency unit and must be at least 50;
- a destination charge needs an onboarded destination account (``onboard_account``);
- after a manual-capture Checkout, the session's ``payment_status`` stays ``"unpaid"`` and
  its PaymentIntent is ``requires_capture``: decide on the PaymentIntent's status;
- the test payment methods ``pm_card_chargeDeclined`` and
  ``pm_card_visa_chargeDeclinedInsufficientFunds`` are declined, like in Stripe test mode.
"""

from __future__ import annotations

import copy
import html
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

try:  # the API version the installed SDK pins, so events look like the ones it expects
    from stripe._api_version import _ApiVersion

    API_VERSION = _ApiVersion.CURRENT
except ImportError:  # pragma: no cover - the fake does not need the SDK to run
    API_VERSION = "2025-01-27.acacia"

WEBHOOK_SECRET = "whsec_test"
MINIMUM_AMOUNT = 50
CANCELABLE_STATUSES = (
    "requires_payment_method",
    "requires_capture",
    "requires_confirmation",
    "requires_action",
    "processing",
)
CANCELLATION_REASONS = ("duplicate", "fraudulent", "requested_by_customer", "abandoned")
REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")
DECLINING_PAYMENT_METHODS = {
    "pm_card_chargeDeclined": "generic_decline",
    "pm_card_visa_chargeDeclined": "generic_decline",
    "pm_card_visa_chargeDeclinedInsufficientFunds": "insufficient_funds",
    "pm_card_chargeDeclinedInsufficientFunds": "insufficient_funds",
}

Json = dict[str, Any]


class StripeError(Exception):
    """An error answered in Stripe's shape: ``{"error": {"type", "code", "message", ...}}``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",  # noqa: A002 - Stripe's own field name
        code: str | None = None,
        param: str | None = None,
        decline_code: str | None = None,
        extra: Json | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body: Json = {"type": type, "message": message}
        if code:
            self.body["code"] = code
        if param:
            self.body["param"] = param
        if decline_code:
            self.body["decline_code"] = decline_code
        if extra:
            self.body.update(extra)

    def payload(self) -> Json:
        return {"error": self.body}


@dataclass
class Failure:
    """A failure queued by ``fail_next``; it answers the next matching API request."""

    status: int
    error: Json
    method: str | None
    path: str | None
    times: int
    retryable: bool

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method != method:
            return False
        return not self.path or path.startswith(self.path)


@dataclass
class RecordedRequest:
    """One API request as the fake understood it, for assertions on what the app sent."""

    method: str
    path: str
    params: Json
    headers: dict[str, str]
    status: int


def parse_form(pairs: list[tuple[str, str]]) -> Json:
    """Turns Stripe's form encoding (``a[b][0][c]=v``, ``a[]=v``) into nested dicts and lists.

    Values stay strings, as on the wire; the handlers convert what they read.
    """
    root: Json = {}
    for key, value in pairs:
        match = re.match(r"^([^\[]+)((?:\[[^\]]*\])*)$", key)
        if not match:
            root[key] = value
            continue
        parts = [match.group(1), *re.findall(r"\[([^\]]*)\]", match.group(2))]
        node = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if part == "":  # "a[]" appends: give it the next free index
                part = str(len(node))
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
                if not isinstance(node, dict):  # "a=1&a[b]=2": the later nested key wins
                    node = {}
    return _lists_from_indexed_dicts(root, inside_metadata=False)


def _lists_from_indexed_dicts(value: Any, *, inside_metadata: bool) -> Any:
    if not isinstance(value, dict):
        return value
    converted = {
        k: _lists_from_indexed_dicts(v, inside_metadata=inside_metadata or k == "metadata")
        for k, v in value.items()
    }
    # metadata keys are free text ("0" is a valid key), never a list
    if not inside_metadata and converted and all(k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return list(value.values())
    return [value]


def _as_bool(value: Any, param: str) -> bool:
    if value in (None, ""):
        return False
    if value in ("true", True):
        return True
    if value in ("false", False):
        return False
    raise StripeError(
        400, f"Invalid boolean: {value}", param=param, code="parameter_invalid_boolean"
    )


def _as_int(value: Any, param: str, *, required: bool = False) -> int | None:
    if value in (None, ""):
        if required:
            raise StripeError(
                400, f"Missing required param: {param}.", param=param, code="parameter_missing"
            )
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise StripeError(
            400, f"Invalid integer: {value}", param=param, code="parameter_invalid_integer"
        ) from None


def _required(params: Json, name: str) -> Any:
    value = params.get(name)
    if value in (None, "", {}, []):
        raise StripeError(
            400, f"Missing required param: {name}.", param=name, code="parameter_missing"
        )
    return value


def _metadata(value: Any) -> dict[str, str]:
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise StripeError(400, "Invalid hash", param="metadata", code="parameter_invalid_hash")
    return {str(k): str(v) for k, v in value.items() if v != ""}  # "" unsets a key


def _merge_metadata(current: dict[str, str], update: Any) -> dict[str, str]:
    if update == "":  # metadata="" clears everything
        return {}
    merged = dict(current)
    for key, value in (update or {}).items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = str(value)
    return merged


def _no_such(kind: str, object_id: str, param: str = "id") -> StripeError:
    return StripeError(404, f"No such {kind}: '{object_id}'", code="resource_missing", param=param)


Route = tuple[str, re.Pattern[str], Callable[..., tuple[int, Json]]]


class FakeStripe:
    """The in-memory Stripe account plus the HTTP server that exposes it.

    ``start()`` binds a free loopback port; ``url`` is then the value for
    ``stripe.api_base`` / ``StripeClient(base_addresses={"api": url})``. All state sits
    behind one lock, so the server threads and the test thread never see half an update.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""
        self._routes: list[Route] = [
            ("POST", re.compile(r"^/v1/accounts$"), self._account_create),
            ("GET", re.compile(r"^/v1/accounts/(?P<id>[^/]+)$"), self._account_retrieve),
            ("POST", re.compile(r"^/v1/accounts/(?P<id>[^/]+)$"), self._account_update),
            ("DELETE", re.compile(r"^/v1/accounts/(?P<id>[^/]+)$"), self._account_delete),
            ("POST", re.compile(r"^/v1/account_links$"), self._account_link_create),
            ("POST", re.compile(r"^/v1/checkout/sessions$"), self._session_create),
            ("GET", re.compile(r"^/v1/checkout/sessions/(?P<id>[^/]+)$"), self._session_retrieve),
            (
                "POST",
                re.compile(r"^/v1/checkout/sessions/(?P<id>[^/]+)/expire$"),
                self._session_expire_route,
            ),
            ("POST", re.compile(r"^/v1/payment_intents$"), self._intent_create),
            ("GET", re.compile(r"^/v1/payment_intents/(?P<id>[^/]+)$"), self._intent_retrieve),
            ("POST", re.compile(r"^/v1/payment_intents/(?P<id>[^/]+)$"), self._intent_update),
            (
                "POST",
                re.compile(r"^/v1/payment_intents/(?P<id>[^/]+)/confirm$"),
                self._intent_confirm,
            ),
            (
                "POST",
                re.compile(r"^/v1/payment_intents/(?P<id>[^/]+)/capture$"),
                self._intent_capture,
            ),
            (
                "POST",
                re.compile(r"^/v1/payment_intents/(?P<id>[^/]+)/cancel$"),
                self._intent_cancel,
            ),
            ("GET", re.compile(r"^/v1/charges/(?P<id>[^/]+)$"), self._charge_retrieve),
            ("POST", re.compile(r"^/v1/refunds$"), self._refund_create),
            ("GET", re.compile(r"^/v1/refunds$"), self._refund_list),
            ("GET", re.compile(r"^/v1/refunds/(?P<id>[^/]+)$"), self._refund_retrieve),
            ("GET", re.compile(r"^/v1/events$"), self._event_list),
            ("GET", re.compile(r"^/v1/events/(?P<id>[^/]+)$"), self._event_retrieve),
        ]
        self.reset()

    # ------------------------------------------------------------------ lifecycle

    def start(self, host: str = "127.0.0.1", port: int = 0) -> FakeStripe:
        fake = self

        class Handler(_Handler):
            stripe = fake

        self._httpd = ThreadingHTTPServer((host, port), Handler)
        self._httpd.daemon_threads = True
        bound_host, bound_port = self._httpd.server_address[:2]
        self.url = f"http://{bound_host}:{bound_port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> FakeStripe:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Forgets every object, event, idempotent result, queued failure and request."""
        with self._lock:
            self.accounts: dict[str, Json] = {}
            self.checkout_sessions: dict[str, Json] = {}
            self.payment_intents: dict[str, Json] = {}
            self.charges: dict[str, Json] = {}
            self.refunds: dict[str, Json] = {}
            self._events: list[Json] = []
            self._delivered: set[str] = set()
            self._session_private: dict[str, Json] = {}
            self._idempotent: dict[tuple[str, str], tuple[str, str, str, int, Json]] = {}
            self._failures: list[Failure] = []
            self._declines: list[str] = []
            self.requests: list[RecordedRequest] = []

    # ------------------------------------------------------------------ test hooks

    def onboard_account(self, account_id: str) -> Json:
        """What the seller finishing Express onboarding does: charges and payouts enabled."""
        with self._lock:
            account = self._get(self.accounts, account_id, "account")
            account.update(charges_enabled=True, payouts_enabled=True, details_submitted=True)
            account["capabilities"] = dict.fromkeys(account["capabilities"], "active")
            account["requirements"] = _requirements(done=True)
            self._record("account.updated", account, account=account_id)
            return copy.deepcopy(account)

    def complete_checkout(self, session_id: str, *, payment_method: str = "pm_card_visa") -> Json:
        """What the buyer paying on the hosted Checkout page does.

        Creates the PaymentIntent (``succeeded``, or ``requires_capture`` for a manual
        capture) and its charge, completes the session and records the events Stripe
        sends: ``payment_intent.created``, ``payment_intent.succeeded`` (or
        ``payment_intent.amount_capturable_updated``), ``charge.succeeded`` and
        ``checkout.session.completed``. Returns the session.
        """
        with self._lock:
            session = self._get(self.checkout_sessions, session_id, "checkout.session")
            if session["status"] != "open":
                raise StripeError(
                    400,
                    f"This Checkout Session is {session['status']} and can no longer be paid.",
                    code="checkout_session_unexpected_state",
                )
            private = self._session_private[session_id]
            pi_data = private["payment_intent_data"]
            manual = pi_data.get("capture_method") == "manual"
            intent = self._new_intent(
                amount=session["amount_total"],
                currency=session["currency"],
                capture_method="manual" if manual else "automatic",
                metadata=pi_data["metadata"],
                application_fee_amount=pi_data.get("application_fee_amount"),
                transfer_data=pi_data.get("transfer_data"),
                description=pi_data.get("description"),
                payment_method_types=session["payment_method_types"],
                customer=session.get("customer"),
            )
            self._record("payment_intent.created", intent)
            self._authorise(intent, payment_method)
            session.update(
                status="complete",
                payment_status="unpaid" if manual else "paid",
                payment_intent=intent["id"],
                customer_details={"email": session.get("customer_email"), "name": None},
                url=None,
            )
            self._record("checkout.session.completed", session)
            return copy.deepcopy(session)

    def expire_checkout(self, session_id: str) -> Json:
        """The buyer never paid: the session expires (``checkout.session.expired``)."""
        with self._lock:
            return copy.deepcopy(self._expire_session(session_id))

    def fail_next(
        self,
        status: int = 500,
        *,
        method: str | None = "POST",
        path: str | None = None,
        type: str | None = None,  # noqa: A002 - Stripe's own field name
        code: str | None = None,
        message: str | None = None,
        decline_code: str | None = None,
        times: int = 1,
        retryable: bool = False,
    ) -> None:
        """Makes the next ``times`` matching API requests fail without touching any state.

        ``method``/``path`` (a prefix such as ``"/v1/payment_intents"``) narrow which
        requests fail; ``method=None`` matches any. The error type follows the status
        (402 ``card_error``, 429 ``rate_limit_error``... 5xx ``api_error``) unless given. A
        failed request stores no idempotent result, so a retry with the same key can
        succeed. ``Stripe-Should-Retry: false`` is sent unless ``retryable``, so the SDK's
        own retries never hide the failure from the test.
        """
        default_types = {401: "invalid_request_error", 402: "card_error", 429: "rate_limit_error"}
        error_type = type or (
            "api_error" if status >= 500 else default_types.get(status, "invalid_request_error")
        )
        error: Json = {
            "type": error_type,
            "message": message or f"Simulated failure ({status}) from the fake Stripe.",
        }
        if code or status == 402:
            error["code"] = code or "card_declined"
        if decline_code or status == 402:
            error["decline_code"] = decline_code or "generic_decline"
        with self._lock:
            self._failures.append(Failure(status, error, method, path, times, retryable))

    def decline_next_card(self, decline_code: str = "generic_decline") -> None:
        """The next PaymentIntent confirmation is declined the way Stripe declines it: the
        intent is kept in ``requires_payment_method`` with a ``last_payment_error`` and the
        request fails with a 402 ``card_error`` (``stripe.CardError`` in the SDK)."""
        with self._lock:
            self._declines.append(decline_code)

    def events(self, type: str | None = None) -> list[Json]:  # noqa: A002
        """Recorded events, oldest first (the API lists them newest first)."""
        with self._lock:
            found = [e for e in self._events if type is None or e["type"] == type]
            return copy.deepcopy(found)

    def event_types(self) -> list[str]:
        with self._lock:
            return [e["type"] for e in self._events]

    def objects(self, prefix: str | None = None) -> dict[str, Json]:
        """Every stored object by id, optionally only ids starting with ``prefix``."""
        with self._lock:
            every = {
                **self.accounts,
                **self.checkout_sessions,
                **self.payment_intents,
                **self.charges,
                **self.refunds,
            }
            return copy.deepcopy(
                {k: v for k, v in every.items() if prefix is None or k.startswith(prefix)}
            )

    def get(self, object_id: str) -> Json:
        """One stored object by id (any kind); KeyError if unknown."""
        return self.objects()[object_id]

    def deliver(
        self,
        client: Any,
        url: str,
        *,
        type: str | None = None,
        secret: str = WEBHOOK_SECRET,  # noqa: A002
    ) -> list[Any]:
        """Delivers the events not delivered yet (oldest first, only ``type`` if given) to
        ``url`` with Django's test ``client``, signed like Stripe signs them. Returns the
        responses. Each event goes once, as Stripe sends each event once when answered 2xx.
        """
        from tests.fake_stripe.webhooks import post_event

        with self._lock:
            pending = [
                copy.deepcopy(e)
                for e in self._events
                if e["id"] not in self._delivered and (type is None or e["type"] == type)
            ]
            self._delivered.update(e["id"] for e in pending)
        return [post_event(client, url, event, secret) for event in pending]

    def requests_to(self, path: str, method: str | None = None) -> list[RecordedRequest]:
        with self._lock:
            return [
                r
                for r in self.requests
                if r.path == path and (method is None or r.method == method)
            ]

    # ------------------------------------------------------------------ HTTP entry point

    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: str
    ) -> tuple[int, Json, dict[str, str]]:
        """Answers one API request: (status, JSON body, extra headers)."""
        split = urlsplit(raw_path)
        path = split.path.rstrip("/") or "/"
        pairs = parse_qsl(split.query, keep_blank_values=True)
        if method == "POST":
            pairs += parse_qsl(body, keep_blank_values=True)
        params = parse_form(pairs)
        lower = {k.lower(): v for k, v in headers.items()}
        extra_headers: dict[str, str] = {}

        with self._lock:
            retryable = False
            try:
                api_key = self._authenticate(lower.get("authorization", ""))
                failure = self._pop_failure(method, path)
                key = lower.get("idempotency-key") if method == "POST" else None
                replay = self._idempotent.get((api_key, key)) if key else None
                if failure is not None:
                    retryable = failure.retryable
                    status, payload = failure.status, {"error": dict(failure.error)}
                elif replay is not None:
                    status, payload = self._replay(replay, method, path, body)
                    extra_headers["Idempotent-Replayed"] = "true"
                else:
                    try:
                        status, payload = self._dispatch(method, path, params)
                    except StripeError as error:
                        status, payload = error.status, error.payload()
                    # Stripe saves the result of a request that ran (a decline changed the
                    # PaymentIntent, so it is saved too), not of one refused by validation.
                    if key and (status < 400 or status == 402):
                        self._idempotent[(api_key, key)] = (
                            method,
                            path,
                            body,
                            status,
                            copy.deepcopy(payload),
                        )
            except StripeError as error:
                status, payload = error.status, error.payload()
            if status >= 400 and not retryable:
                extra_headers["Stripe-Should-Retry"] = "false"
            self.requests.append(RecordedRequest(method, path, params, dict(headers), status))
        return status, payload, extra_headers

    def _authenticate(self, authorization: str) -> str:
        scheme, _, key = authorization.partition(" ")
        if scheme.lower() != "bearer" or not key:
            raise StripeError(
                401,
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
            )
        if not key.startswith("sk_test_"):
            shown = key[:8] + "*" * max(len(key) - 12, 0) + key[-4:]
            raise StripeError(401, f"Invalid API Key provided: {shown}")
        return key

    def _pop_failure(self, method: str, path: str) -> Failure | None:
        for failure in self._failures:
            if failure.matches(method, path):
                failure.times -= 1
                if failure.times <= 0:
                    self._failures.remove(failure)
                return failure
        return None

    def _replay(
        self, stored: tuple[str, str, str, int, Json], method: str, path: str, body: str
    ) -> tuple[int, Json]:
        first_method, first_path, first_body, status, payload = stored
        if (first_method, first_path) != (method, path) or first_body != body:
            raise StripeError(
                400,
                "Keys for idempotent requests can only be used with the same parameters "
                "they were first used with. Try using a key other than the one used in "
                "the original request.",
                type="idempotency_error",
            )
        return status, copy.deepcopy(payload)

    def _dispatch(self, method: str, path: str, params: Json) -> tuple[int, Json]:
        for route_method, pattern, handler in self._routes:
            match = pattern.match(path)
            if match and route_method == method:
                status, obj = handler(params, **match.groupdict())
                return status, self._expand(copy.deepcopy(obj), params.get("expand"))
        raise StripeError(
            404,
            f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
            "or we can help at https://support.stripe.com/.",
        )

    def _expand(self, obj: Json, expand: Any) -> Json:
        """``expand[]=payment_intent`` replaces an id field by its object, one level deep
        or along a dotted path (``payment_intent.latest_charge``)."""
        for dotted in _as_list(expand):
            node = obj
            *parents, leaf = str(dotted).split(".")
            for part in parents:
                node = node.get(part) if isinstance(node, dict) else None
            if isinstance(node, dict) and isinstance(node.get(leaf), str):
                found = self._find(node[leaf])
                if found is not None:
                    node[leaf] = copy.deepcopy(found)
        return obj

    def _find(self, object_id: str) -> Json | None:
        for store in (
            self.accounts,
            self.checkout_sessions,
            self.payment_intents,
            self.charges,
            self.refunds,
        ):
            if object_id in store:
                return store[object_id]
        return None

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _id(prefix: str) -> str:
        return f"{prefix}_{secrets.token_hex(12)}"

    @staticmethod
    def _get(store: dict[str, Json], object_id: str, kind: str) -> Json:
        try:
            return store[object_id]
        except KeyError:
            raise _no_such(kind, object_id) from None

    def _record(self, type: str, obj: Json, *, account: str | None = None) -> Json:  # noqa: A002
        event: Json = {
            "id": self._id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": int(time.time()),
            "data": {"object": copy.deepcopy(obj)},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": type,
        }
        if account:
            event["account"] = account
        self._events.append(event)
        return event

    def _check_destination(self, destination: Any, param: str) -> None:
        account = self.accounts.get(str(destination))
        if account is None:
            raise StripeError(
                400, f"No such destination: '{destination}'", param=param, code="resource_missing"
            )
        if account["capabilities"].get("transfers") != "active":
            raise StripeError(
                400,
                "Your destination account needs to have at least one of the following "
                "capabilities enabled: transfers, crypto_transfers, legacy_payments",
                param=param,
                code="insufficient_capabilities_for_transfer",
            )

    def _transfer_data(self, value: Any, param: str, amount: int) -> Json | None:
        if value in (None, ""):
            return None
        destination = _required(value, "destination") if isinstance(value, dict) else None
        if destination is None:
            raise StripeError(400, "Invalid hash", param=param, code="parameter_invalid_hash")
        self._check_destination(destination, f"{param}[destination]")
        data: Json = {"destination": destination}
        transfer_amount = _as_int(value.get("amount"), f"{param}[amount]")
        if transfer_amount is not None:
            if transfer_amount > amount:
                raise StripeError(
                    400,
                    "The transfer amount cannot exceed the charge amount.",
                    param=f"{param}[amount]",
                )
            data["amount"] = transfer_amount
        return data

    @staticmethod
    def _check_fee(fee: int | None, amount: int, param: str) -> None:
        if fee is not None and not 0 <= fee <= amount:
            raise StripeError(
                400,
                "The application fee amount must be between 0 and the charge amount.",
                param=param,
                code="parameter_invalid_integer",
            )

    @staticmethod
    def _check_amount(amount: int, currency: str, param: str) -> None:
        if amount < MINIMUM_AMOUNT:
            raise StripeError(
                400,
                f"Amount must be at least {MINIMUM_AMOUNT} cents ({currency}).",
                param=param,
                code="amount_too_small",
            )

    # ------------------------------------------------------------------ accounts

    def _account_create(self, params: Json) -> tuple[int, Json]:
        account_type = params.get("type") or (params.get("controller") and "express")
        if account_type not in ("express", "standard", "custom"):
            raise StripeError(
                400, "Invalid type: must be one of express, standard, custom.", param="type"
            )
        requested = params.get("capabilities") or {}
        if not isinstance(requested, dict):
            raise StripeError(400, "Invalid hash", param="capabilities")
        capabilities = {
            name: "inactive"
            for name, wanted in requested.items()
            if isinstance(wanted, dict)
            and _as_bool(wanted.get("requested"), f"capabilities[{name}]")
        }
        account: Json = {
            "id": self._id("acct"),
            "object": "account",
            "type": account_type,
            "business_type": params.get("business_type"),
            "capabilities": capabilities,
            "charges_enabled": False,
            "payouts_enabled": False,
            "details_submitted": False,
            "country": params.get("country") or "FR",
            "default_currency": params.get("default_currency") or "eur",
            "email": params.get("email"),
            "metadata": _metadata(params.get("metadata")),
            "requirements": _requirements(done=False),
            "created": int(time.time()),
            "livemode": False,
        }
        self.accounts[account["id"]] = account
        return 200, account

    def _account_retrieve(self, params: Json, id: str) -> tuple[int, Json]:  # noqa: A002
        return 200, self._get(self.accounts, id, "account")

    def _account_update(self, params: Json, id: str) -> tuple[int, Json]:  # noqa: A002
        account = self._get(self.accounts, id, "account")
        if "metadata" in params:
            account["metadata"] = _merge_metadata(account["metadata"], params["metadata"])
        if params.get("email"):
            account["email"] = params["email"]
        self._record("account.updated", account, account=id)
        return 200, account

    def _account_delete(self, params: Json, id: str) -> tuple[int, Json]:  # noqa: A002
        self._get(self.accounts, id, "account")
        del self.accounts[id]
        return 200, {"id": id, "object": "account", "deleted": True}

    def _account_link_create(self, params: Json) -> tuple[int, Json]:
        account_id = _required(params, "account")
        if account_id not in self.accounts:
            raise _no_such("account", account_id, param="account")
        link_type = _required(params, "type")
        if link_type not in ("account_onboarding", "account_update"):
            raise StripeError(400, f"Invalid type: {link_type}", param="type")
        return_url = _required(params, "return_url")
        refresh_url = _required(params, "refresh_url")
        query = urlencode({"return": return_url, "refresh": refresh_url})
        now = int(time.time())
        return 200, {
            "object": "account_link",
            "created": now,
            "expires_at": now + 300,
            "url": f"{self.url}/connect/onboard/{account_id}?{query}",
        }

    # ------------------------------------------------------------------ checkout

    def _session_create(self, params: Json) -> tuple[int, Json]:
        mode = _required(params, "mode")
        if mode != "payment":
            raise StripeError(
                400, f"The fake Stripe only supports mode=payment, not {mode}.", param="mode"
            )
        success_url = _required(params, "success_url")
        items = _as_list(_required(params, "line_items"))
        amount_total, currency = 0, None
        line_items: list[Json] = []
        for i, item in enumerate(items):
            prefix = f"line_items[{i}]"
            price_data = item.get("price_data") if isinstance(item, dict) else None
            if not isinstance(price_data, dict):
                raise StripeError(
                    400,
                    "The fake Stripe needs price_data on every line item.",
                    param=f"{prefix}[price_data]",
                    code="parameter_missing",
                )
            item_currency = str(_required(price_data, "currency")).lower()
            unit_amount = _as_int(
                price_data.get("unit_amount"), f"{prefix}[price_data][unit_amount]", required=True
            )
            quantity = _as_int(item.get("quantity"), f"{prefix}[quantity]", required=True)
            product = price_data.get("product_data") or {}
            name = product.get("name") if isinstance(product, dict) else None
            if not name:
                raise StripeError(
                    400,
                    "Missing required param: name.",
                    param=f"{prefix}[price_data][product_data][name]",
                    code="parameter_missing",
                )
            if currency is not None and item_currency != currency:
                raise StripeError(
                    400,
                    "All line items must use the same currency.",
                    param=f"{prefix}[price_data][currency]",
                )
            if unit_amount < 0 or quantity < 1:
                raise StripeError(400, "Invalid amount or quantity.", param=prefix)
            currency = item_currency
            amount_total += unit_amount * quantity
            line_items.append(
                {
                    "object": "item",
                    "description": name,
                    "quantity": quantity,
                    "amount_total": unit_amount * quantity,
                    "currency": item_currency,
                    "price": {
                        "object": "price",
                        "unit_amount": unit_amount,
                        "currency": item_currency,
                    },
                }
            )
        assert currency is not None
        self._check_amount(amount_total, currency, "line_items")

        pi_params = params.get("payment_intent_data") or {}
        capture_method = pi_params.get("capture_method") or "automatic"
        if capture_method not in ("automatic", "automatic_async", "manual"):
            raise StripeError(
                400,
                f"Invalid capture_method: {capture_method}",
                param="payment_intent_data[capture_method]",
            )
        fee = _as_int(
            pi_params.get("application_fee_amount"), "payment_intent_data[application_fee_amount]"
        )
        self._check_fee(fee, amount_total, "payment_intent_data[application_fee_amount]")
        transfer_data = self._transfer_data(
            pi_params.get("transfer_data"), "payment_intent_data[transfer_data]", amount_total
        )
        if fee is not None and transfer_data is None and not params.get("stripe_account"):
            raise StripeError(
                400,
                "Can only apply an application_fee_amount when the PaymentIntent is attempting "
                "a direct payment (using an OAuth key or Stripe-Account header) or destination "
                "payment (using `transfer_data[destination]`).",
                param="payment_intent_data[application_fee_amount]",
            )

        session_id = self._id("cs_test")
        now = int(time.time())
        session: Json = {
            "id": session_id,
            "object": "checkout.session",
            "mode": mode,
            "status": "open",
            "payment_status": "unpaid",
            "amount_subtotal": amount_total,
            "amount_total": amount_total,
            "currency": currency,
            "url": f"{self.url}/checkout/{session_id}",
            "success_url": success_url,
            "cancel_url": params.get("cancel_url"),
            "client_reference_id": params.get("client_reference_id"),
            "customer": params.get("customer"),
            "customer_email": params.get("customer_email"),
            "customer_details": None,
            "locale": params.get("locale"),
            "metadata": _metadata(params.get("metadata")),
            "payment_intent": None,
            "payment_method_types": [str(t) for t in _as_list(params.get("payment_method_types"))]
            or ["card"],
            "created": now,
            "expires_at": _as_int(params.get("expires_at"), "expires_at") or now + 24 * 3600,
            "livemode": False,
        }
        self.checkout_sessions[session_id] = session
        self._session_private[session_id] = {
            "line_items": line_items,
            "payment_intent_data": {
                "capture_method": capture_method,
                "application_fee_amount": fee,
                "transfer_data": transfer_data,
                "metadata": _metadata(pi_params.get("metadata")),
                "description": pi_params.get("description"),
            },
        }
        return 200, session

    def _session_retrieve(self, params: Json, id: str) -> tuple[int, Json]:  # noqa: A002
        session = self._get(self.checkout_sessions, id, "checkout.session")
        if "line_items" in _as_list(params.get("expand")):
            items = self._session_private[id]["line_items"]
            session = {
                **session,
                "line_items": {
                    "object": "list",
                    "data": items,
                    "has_more": False,
                    "url": f"/v1/checkout/sessions/{id}/line_items",
                },
            }
        return 200, session

    def _expire_session(self, session_id: str) -> Json:
        session = self._get(self.checkout_sessions, session_id, "checkout.session")
        if session["status"] != "open":
            raise StripeError(
                400,
                f"Only Checkout Sessions with a status of open can be expired; this one is "
                f"{session['status']}.",
                code="checkout_session_unexpected_state",
            )
        session.update(status="expired", url=None)
        self._record("checkout.session.expired", session)
        return session

    def _session_expire_route(self, params: Json, id: str) -> tuple[int, Json]:  # noqa: A002
        return 200, self._expire_session(id)

    # ------------------------------------------------------------------ payment intents

    def _new_intent(
        self,
        *,
        amount: int,
        currency: str,
        capture_method: str,
        metadata: dict[str, str],
        application_fee_amount: int | None = None,
        transfer_data: Json | None = None,
        description: str | None = None,
        payment_method_types: list[str] | None = None,
        customer: str | None = None,
    ) -> Json:
        intent_id = self._id("pi")
        intent: Json = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_capturable": 0,
            "amount_received": 0,
            "application_fee_amount": application_fee_amount,
            "canceled_at": None,
            "cancellation_reason": None,
            "capture_method": capture_method,
            "client_secret": f"{intent_id}_secret_{secrets.token_hex(8)}",
            "confirmation_method": "automatic",
            "currency": currency,
            "customer": customer,
            "description": description,
            "last_payment_error": None,
            "latest_charge": None,
            "metadata": dict(metadata),
            "payment_method": None,
            "payment_method_types": payment_method_types or ["card"],
            "status": "requires_payment_method",
            "transfer_data": transfer_data,
            "created": int(time.time()),
            "livemode": False,
        }
        self.payment_intents[intent_id] = intent
        return intent

    def _authorise(self, intent: Json, payment_method: str) -> None:
        """Confirms ``intent`` with ``payment_method``: declined (402, state kept as
        Stripe keeps it), authorised (manual capture) or paid."""
        intent["payment_method"] = payment_method
        decline_code = DECLINING_PAYMENT_METHODS.get(payment_method)
        if decline_code is None and self._declines:
            decline_code = self._declines.pop(0)
        if decline_code is not None:
            message = (
                "Your card has insufficient funds."
                if decline_code == "insufficient_funds"
                else "Your card was declined."
            )
            error = {
                "type": "card_error",
                "code": "card_declined",
                "decline_code": decline_code,
                "message": message,
            }
            intent.update(
                status="requires_payment_method", last_payment_error=error, payment_method=None
            )
            self._record("payment_intent.payment_failed", intent)
            raise StripeError(
                402,
                message,
                type="card_error",
                code="card_declined",
                decline_code=decline_code,
                extra={"payment_intent": copy.deepcopy(intent)},
            )
        manual = intent["capture_method"] == "manual"
        charge_id = self._id("ch")
        self.charges[charge_id] = {
            "id": charge_id,
            "object": "charge",
            "amount": intent["amount"],
            "amount_captured": 0 if manual else intent["amount"],
            "amount_refunded": 0,
            "application_fee_amount": intent["application_fee_amount"],
            "captured": not manual,
            "currency": intent["currency"],
            "metadata": dict(intent["metadata"]),
            "paid": True,
            "payment_intent": intent["id"],
            "payment_method": payment_method,
            "refunded": False,
            "status": "succeeded",
            "transfer_data": intent["transfer_data"],
            "created": int(time.time()),
            "livemode": False,
        }
        intent.update(latest_charge=charge_id, last_payment_error=None)
        if manual:
            intent.update(status="requires_capture", amount_capturable=intent["amount"])
            self._record("charge.succeeded", self.charges[charge_id])
            self._record("payment_intent.amount_capturable_updated", intent)
        else:
            intent.update(status="succeeded", amount_received=intent["amount"])
            self._record("charge.succeeded", self.charges[charge_id])
            self._record("payment_intent.succeeded", intent)

    def _intent_create(self, params: Json) -> tuple[int, Json]:
        amount = _as_int(params.get("amount"), "amount", required=True)
        currency = str(_required(params, "currency")).lower()
        assert amount is not None
        self._check_amount(amount, currency, "amount")
        capture_method = params.get("capture_method") or "automatic"
        if capture_method not in ("automatic", "automatic_async", "manual"):
            raise StripeError(
                400, f"Invalid capture_method: {capture_method}", param="capture_method"
            )
        fee = _as_int(params.get("application_fee_amount"), "application_fee_amount")
        self._check_fee(fee, amount, "application_fee_amount")
        payment_method = params.get("payment_method")
        confirm = _as_bool(params.get("confirm"), "confirm")
        if confirm and not payment_method:
            raise StripeError(
                400,
                "You cannot confirm this PaymentIntent because it's missing a payment method.",
                code="payment_intent_unexpected_state",
                param="payment_method",
            )
        transfer_data = self._transfer_data(params.get("transfer_data"), "transfer_data", amount)
        intent = self._new_intent(
            amount=amount,
            currency=currency,
            capture_method=capture_method,
            metadata=_metadata(params.get("metadata")),
            application_fee_amount=fee,
            transfer_data=transfer_data,
            description=params.get("description"),
            payment_method_types=[str(t) for t in _as_list(params.get("payment_method_types"))],
            customer=params.get("customer"),
        )
        self._record("payment_intent.created", intent)
        if confirm:
            self._authorise(intent, str(payment_method))
        elif payment_method:
            intent.update(payment_method=payment_method, status="requires_confirmation")
        return 200, intent

    def _intent_retrieve(self, params: Json, id: str) -> tuple[int, Json]:  # noqa: A002
        return 200, self._get(self.payment_intents, id, "payment_intent")

    def _intent_update(self, params: Json, id: str) -> tuple[int, Json]:  # noqa: A002
        intent = self._get(self.payment_intents, id, "payment_intent")
        if "metadata" in params:
            intent["metadata"] = _merge_metadata(intent["metadata"], params["metadata"])
        if "description" in params:
            intent["description"] = params["description"] or None
        return 200, intent

    def _unexpected_state(self, intent: Json, action: str, allowed: tuple[str, ...]) -> StripeError:
        return StripeError(
            400,
            f"This PaymentIntent could not be {action} because it has a status of "
            f"{intent['status']}. Only a PaymentIntent with one of the following statuses "
            f"may be {action}: {', '.join(allowed)}.",
            code="payment_intent_unexpected_state",
            extra={"payment_intent": copy.deepcopy(intent)},
        )

    def _intent_confirm(self, params: Json, id: str) -> tuple[int, Json]:  # noqa: A002
        intent = self._get(self.payment_intents, id, "payment_intent")
        allowed = ("requires_payment_method", "requires_confirmation", "requires_action")
        if intent["status"] not in allowed:
            raise self._unexpected_state(intent, "confirmed", allowed)
        payment_method = params.get("payment_method") or intent["payment_method"]
        if not payment_method:
            raise StripeError(
                400,
                "You cannot confirm this PaymentIntent because it's missing a payment method.",
                code="payment_intent_unexpected_state",
            )
        self._authorise(intent, str(payment_method))
        return 200, intent

    def _intent_capture(self, params: Json, id: str) -> tuple[int, Json]:  # noqa: A002
        intent = self._get(self.payment_intents, id, "payment_intent")
        if intent["status"] != "requires_capture":
            raise self._unexpected_state(intent, "captured", ("requires_capture",))
        capturable = intent["amount_capturable"]
        amount = _as_int(params.get("amount_to_capture"), "amount_to_capture")
        amount = capturable if amount is None else amount
        if not 0 < amount <= capturable:
            raise StripeError(
                400,
                f"The amount_to_capture ({amount}) must be positive and at most the "
                f"amount_capturable ({capturable}).",
                param="amount_to_capture",
                code="amount_too_large" if amount > capturable else "parameter_invalid_integer",
            )
        fee = _as_int(params.get("application_fee_amount"), "application_fee_amount")
        if fee is not None:
            self._check_fee(fee, amount, "application_fee_amount")
            intent["application_fee_amount"] = fee
        if "metadata" in params:
            intent["metadata"] = _merge_metadata(intent["metadata"], params["metadata"])
        intent.update(status="succeeded", amount_capturable=0, amount_received=amount)
        charge = self.charges[intent["latest_charge"]]
        charge.update(
            captured=True,
            amount_captured=amount,
            application_fee_amount=intent["application_fee_amount"],
        )
        if amount < charge["amount"]:  # the uncaptured rest goes back to the buyer
            charge["amount_refunded"] = charge["amount"] - amount
        self._record("charge.captured", charge)
        self._record("payment_intent.succeeded", intent)
        return 200, intent

    def _intent_cancel(self, params: Json, id: str) -> tuple[int, Json]:  # noqa: A002
        intent = self._get(self.payment_intents, id, "payment_intent")
        if intent["status"] not in CANCELABLE_STATUSES:
            raise self._unexpected_state(intent, "canceled", CANCELABLE_STATUSES)
        reason = params.get("cancellation_reason")
        if reason and reason not in CANCELLATION_REASONS:
            raise StripeError(
                400, f"Invalid cancellation_reason: {reason}", param="cancellation_reason"
            )
        was_authorised = intent["status"] == "requires_capture"
        intent.update(
            status="canceled",
            amount_capturable=0,
            canceled_at=int(time.time()),
            cancellation_reason=reason or None,
        )
        if was_authorised:  # the hold is released: Stripe marks the charge refunded
            charge = self.charges[intent["latest_charge"]]
            charge.update(amount_refunded=charge["amount"], refunded=True)
        self._record("payment_intent.canceled", intent)
        return 200, intent

    def _charge_retrieve(self, params: Json, id: str) -> tuple[int, Json]:  # noqa: A002
        return 200, self._get(self.charges, id, "charge")

    # ------------------------------------------------------------------ refunds

    def _refund_create(self, params: Json) -> tuple[int, Json]:
        if params.get("payment_intent"):
            intent = self._get(self.payment_intents, params["payment_intent"], "payment_intent")
        elif params.get("charge"):
            charge = self._get(self.charges, params["charge"], "charge")
            intent = self.payment_intents[charge["payment_intent"]]
        else:
            raise StripeError(
                400,
                "One of the following params should be provided for this "
                "request: payment_intent or charge.",
                code="parameter_missing",
            )
        if intent["status"] != "succeeded":
            raise StripeError(
                400,
                f"This PaymentIntent ({intent['id']}) does not have a successful charge to "
                f"refund (status {intent['status']}).",
                code="charge_not_refundable"
                if intent["status"] == "canceled"
                else "payment_intent_unexpected_state",
                param="payment_intent",
            )
        charge = self.charges[intent["latest_charge"]]
        remaining = charge["amount_captured"] - self._refunded(intent["id"])
        if remaining <= 0:
            raise StripeError(
                400,
                f"Charge {charge['id']} has already been refunded.",
                code="charge_already_refunded",
            )
        amount = _as_int(params.get("amount"), "amount")
        amount = remaining if amount is None else amount
        if amount <= 0:
            raise StripeError(
                400,
                "Refund amount must be positive.",
                param="amount",
                code="parameter_invalid_integer",
            )
        if amount > remaining:
            raise StripeError(
                400,
                f"Refund amount ({amount}) is greater than unrefunded amount on charge "
                f"({remaining})",
                param="amount",
                code="amount_too_large",
            )
        reason = params.get("reason")
        if reason and reason not in REFUND_REASONS:
            raise StripeError(400, f"Invalid reason: {reason}", param="reason")
        refund: Json = {
            "id": self._id("re"),
            "object": "refund",
            "amount": amount,
            "charge": charge["id"],
            "currency": intent["currency"],
            "metadata": _metadata(params.get("metadata")),
            "payment_intent": intent["id"],
            "reason": reason or None,
            "reverse_transfer": _as_bool(params.get("reverse_transfer"), "reverse_transfer"),
            "refund_application_fee": _as_bool(
                params.get("refund_application_fee"), "refund_application_fee"
            ),
            "status": "succeeded",
            "created": int(time.time()),
            "livemode": False,
        }
        self.refunds[refund["id"]] = refund
        # a partial capture already released the rest; refunds count on top of the capture
        released = charge["amount"] - charge["amount_captured"]
        charge["amount_refunded"] = released + self._refunded(intent["id"])
        charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
        self._record("refund.created", refund)
        self._record("charge.refunded", charge)
        return 200, refund

    def _refunded(self, intent_id: str) -> int:
        return sum(r["amount"] for r in self.refunds.values() if r["payment_intent"] == intent_id)

    def _refund_retrieve(self, params: Json, id: str) -> tuple[int, Json]:  # noqa: A002
        return 200, self._get(self.refunds, id, "refund")

    def _refund_list(self, params: Json) -> tuple[int, Json]:
        refunds = [
            r
            for r in reversed(self.refunds.values())
            if not params.get("payment_intent") or r["payment_intent"] == params["payment_intent"]
        ]
        return 200, self._page(refunds, params, "/v1/refunds")

    # ------------------------------------------------------------------ events

    def _event_list(self, params: Json) -> tuple[int, Json]:
        types = set(map(str, _as_list(params.get("types"))))
        if params.get("type"):
            types.add(str(params["type"]))
        created = params.get("created")
        bounds = created if isinstance(created, dict) else ({"eq": created} if created else {})
        checks = {
            "gt": lambda c, v: c > v,
            "gte": lambda c, v: c >= v,
            "lt": lambda c, v: c < v,
            "lte": lambda c, v: c <= v,
            "eq": lambda c, v: c == v,
        }
        for op in bounds:
            if op not in checks:
                raise StripeError(400, f"Invalid created filter: {op}", param="created")
        events = [
            e
            for e in reversed(self._events)
            if (not types or e["type"] in types)
            and all(
                checks[op](e["created"], _as_int(v, f"created[{op}]")) for op, v in bounds.items()
            )
        ]
        return 200, self._page(events, params, "/v1/events")

    def _event_retrieve(self, params: Json, id: str) -> tuple[int, Json]:  # noqa: A002
        for event in self._events:
            if event["id"] == id:
                return 200, event
        raise _no_such("event", id)

    def _page(self, items: list[Json], params: Json, url: str) -> Json:
        """Stripe's list object: newest first, ``limit`` (1-100, default 10),
        ``starting_after`` / ``ending_before`` cursors and ``has_more``."""
        limit = _as_int(params.get("limit"), "limit") or 10
        if not 1 <= limit <= 100:
            raise StripeError(400, "Invalid limit: must be between 1 and 100", param="limit")
        ids = [item["id"] for item in items]
        if params.get("starting_after"):
            cursor = params["starting_after"]
            if cursor not in ids:
                raise _no_such("object", cursor, param="starting_after")
            items = items[ids.index(cursor) + 1 :]
            page = items[:limit]
        elif params.get("ending_before"):
            cursor = params["ending_before"]
            if cursor not in ids:
                raise _no_such("object", cursor, param="ending_before")
            items = items[: ids.index(cursor)]
            page = items[-limit:]
        else:
            page = items[:limit]
        return {"object": "list", "url": url, "has_more": len(items) > len(page), "data": page}

    # ------------------------------------------------------------------ hosted pages

    def page(self, method: str, raw_path: str, body: str) -> tuple[int, str, dict[str, str]]:
        """The two pages a person sees on Stripe, for browser tests: the Express
        onboarding (visiting it onboards the account and goes back to ``return``) and
        the Checkout page (a Pay button and a Cancel link)."""
        split = urlsplit(raw_path)
        query = dict(parse_qsl(split.query))
        onboard = re.match(r"^/connect/onboard/(acct_\w+)$", split.path)
        checkout = re.match(r"^/checkout/(cs_test_\w+)(/pay)?$", split.path)
        try:
            if onboard and method == "GET":
                self.onboard_account(onboard.group(1))
                return 302, "", {"Location": query.get("return", "/")}
            if checkout and method == "GET" and not checkout.group(2):
                with self._lock:
                    session = copy.deepcopy(
                        self._get(self.checkout_sessions, checkout.group(1), "checkout.session")
                    )
                return 200, _checkout_html(session), {}
            if checkout and method == "POST" and checkout.group(2):
                session = self.complete_checkout(checkout.group(1))
                target = session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"])
                return 303, "", {"Location": target}
        except StripeError as error:
            return error.status, f"<p>{html.escape(error.body['message'])}</p>", {}
        return 404, "<p>Not found</p>", {}


def _requirements(*, done: bool) -> Json:
    due = [] if done else ["business_profile.url", "external_account", "tos_acceptance.date"]
    return {
        "currently_due": due,
        "eventually_due": due,
        "past_due": due,
        "pending_verification": [],
        "disabled_reason": None if done else "requirements.past_due",
        "current_deadline": None,
        "errors": [],
    }


def _checkout_html(session: Json) -> str:
    amount = f"{session['amount_total'] / 100:.2f} {session['currency'].upper()}"
    cancel = session.get("cancel_url") or "/"
    if session["status"] != "open":
        body = f"<p>This checkout is {html.escape(session['status'])}.</p>"
    else:
        body = (
            f'<form method="post" action="/checkout/{session["id"]}/pay">'
            f'<button type="submit">Pay {html.escape(amount)}</button></form>'
            f'<a href="{html.escape(cancel)}">Cancel</a>'
        )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>Fake Stripe Checkout</title></head>"
        f"<body><h1>Fake Stripe Checkout</h1><p>{html.escape(amount)}</p>{body}</body></html>"
    )


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive, so the SDK's pooled connection is reused between calls."""

    protocol_version = "HTTP/1.1"
    # headers and body leave in two writes; without TCP_NODELAY the second one waits for a
    # delayed ACK (~40 ms) on every request
    disable_nagle_algorithm = True
    stripe: FakeStripe  # set on the subclass made in FakeStripe.start()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # keep pytest output quiet

    def _body(self) -> str:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length).decode("utf-8") if length else ""

    def _serve(self, method: str) -> None:
        body = self._body()
        if not self.path.startswith("/v1/"):
            status, text, headers = self.stripe.page(method, self.path, body)
            self._send(status, text.encode(), "text/html; charset=utf-8", headers)
            return
        status, payload, headers = self.stripe.handle(method, self.path, dict(self.headers), body)
        headers = {
            "Request-Id": f"req_{secrets.token_hex(7)}",
            "Stripe-Version": API_VERSION,
            **headers,
        }
        self._send(status, json.dumps(payload).encode(), "application/json", headers)

    def _send(self, status: int, data: bytes, content_type: str, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def do_DELETE(self) -> None:  # noqa: N802
        self._serve("DELETE")


__all__ = ["FakeStripe", "RecordedRequest", "StripeError", "parse_form"]
