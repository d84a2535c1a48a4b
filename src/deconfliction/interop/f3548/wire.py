"""F3548 request bodies in, results out: the ``uas-standards`` models at the edge.

A body is checked against the standard's request model from ``uas-standards`` (its
fields' types, which are required, which enum values are allowed), walking the JSON along
the model's type hints, then converted into the use-cases' frozen requests
(:mod:`deconfliction.service.f3548.model`). Every rule broken is an
:class:`~deconfliction.errors.InvalidInput` naming the field. Results are rendered back
in the standard's response shapes. Pure conversion: no store, no clock.

The models are read as a schema rather than built with ``ImplicitDict.parse``, which
coerces (``"abc"`` becomes ``["a", "b", "c"]`` for a list, ``"1"`` a number) and
re-evaluates type hints for every object: 224 ms of CPU for one intent of 10,000 vertices
against 25 ms for this walk (``benchmarks/f3548_wire.py``).
"""

from __future__ import annotations

import enum
import functools
import types
import typing
import uuid
from collections.abc import Sequence
from typing import Any, Final

from uas_standards.astm.f3548.v21 import api

from deconfliction.errors import InvalidInput, InvalidTimeWindow
from deconfliction.interop.f3548.volumes import format_time, parse_volume4d, volume_to_f3548
from deconfliction.service.f3548.model import (
    AVAILABILITIES,
    NO_OVN,
    NULL_SUBSCRIPTION_ID,
    OPERATIONAL_INTENT,
    AirspaceConflict,
    Availability,
    ConstraintDetails,
    ConstraintRequest,
    EntityChange,
    Extent,
    IntentRequest,
    NewSubscription,
    Reference,
    SubscriptionChange,
    SubscriptionRequest,
    SubscriptionView,
)

#: Longest URL accepted.
MAX_URL: Final = 2048


def parse(raw: Any, model: type) -> dict[str, Any]:
    """``raw`` JSON checked against the standard's ``model``; InvalidInput names the field."""
    if not isinstance(raw, dict):
        raise InvalidInput("body", f"expected a JSON object, got {type(raw).__name__}")
    _check(raw, model, "")
    return raw


def _optional(hint: Any) -> Any | None:
    """The type inside ``X | None``, or None if ``hint`` is not optional."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) < len(typing.get_args(hint)):
            return args[0] if len(args) == 1 else typing.Union[tuple(args)]  # noqa: UP007
    return None


@functools.cache
def _fields(model: type) -> tuple[dict[str, Any], tuple[str, ...]]:
    """A model's field types and its required fields (neither optional nor defaulted)."""
    hints = typing.get_type_hints(model)
    defaults = {name for cls in model.__mro__ if cls is not dict for name in vars(cls)}
    required = tuple(n for n, h in hints.items() if _optional(h) is None and n not in defaults)
    return hints, required


def _check(raw: Any, hint: Any, path: str) -> None:
    """Refuse ``raw`` unless it is JSON of ``hint``'s shape: objects with their required
    fields, lists, booleans, numbers, strings and enum values."""
    where = path or "body"
    inner = _optional(hint)
    if inner is not None:
        if raw is not None:
            _check(raw, inner, path)
        return
    if typing.get_origin(hint) is list:
        if not isinstance(raw, list):
            raise InvalidInput(where, f"expected a list, got {type(raw).__name__}")
        (item,) = typing.get_args(hint)
        for i, value in enumerate(raw):
            _check(value, item, f"{path}[{i}]")
    elif isinstance(hint, type) and issubclass(hint, dict):
        if not isinstance(raw, dict):
            raise InvalidInput(where, f"expected an object, got {type(raw).__name__}")
        hints, required = _fields(hint)
        for name in required:
            if raw.get(name) is None:
                raise InvalidInput(f"{path}.{name}" if path else name, "is required")
        for name, sub in hints.items():
            if name in raw:
                _check(raw[name], sub, f"{path}.{name}" if path else name)
    elif isinstance(hint, type) and issubclass(hint, enum.Enum):
        allowed = [str(e.value) for e in hint]
        if raw not in allowed:
            raise InvalidInput(where, f"{raw!r} is not one of {', '.join(allowed)}")
    elif hint is bool:
        if not isinstance(raw, bool):
            raise InvalidInput(where, f"expected true or false, got {raw!r}")
    elif hint in (int, float):
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise InvalidInput(where, f"expected a number, got {raw!r}")
    elif isinstance(hint, type) and issubclass(hint, str) and not isinstance(raw, str):
        raise InvalidInput(where, f"expected a string, got {raw!r}")


def check_id(value: str, what: str) -> str:
    """F3548 entity and subscription ids are UUIDs."""
    try:
        uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        raise InvalidInput(what, f"{value!r} is not a UUID") from None
    return value.lower()


def check_version(value: str, what: str) -> str:
    """An OVN or subscription version in a path: present (F3548 answers 400 when empty)."""
    if not value.strip():
        raise InvalidInput(what, "is required")
    return value


def https_url(data: str, path: str) -> str:
    if not data.startswith("https://") or len(data) > MAX_URL:
        raise InvalidInput(path, "must be an https:// URL (F3548 requires TLS)")
    return data


def _extents(data: list[Any], path: str, altitudes: bool = False) -> tuple[Extent, ...]:
    """The extents of a put: times required, and altitudes too when ``altitudes`` (an
    intent's volumes are bounded, as the InterUSS DSS has it; a constraint's may be open)."""
    if not data:
        raise InvalidInput(path, "must be a non-empty list of Volume4D")
    extents = tuple(parse_volume4d(v, f"{path}[{i}]") for i, v in enumerate(data))
    for i, e in enumerate(extents):
        if e.start is None:
            raise InvalidTimeWindow(f"{path}[{i}].time_start", "is required")
        if e.end is None:
            raise InvalidTimeWindow(f"{path}[{i}].time_end", "is required")
        if altitudes and e.lower_m is None:
            raise InvalidInput(f"{path}[{i}].volume.altitude_lower", "is required")
        if altitudes and e.upper_m is None:
            raise InvalidInput(f"{path}[{i}].volume.altitude_upper", "is required")
    return extents


def intent_request(raw: Any) -> IntentRequest:
    p = parse(raw, api.PutOperationalIntentReferenceParameters)
    sub_id = p.get("subscription_id")
    new = p.get("new_subscription")
    if sub_id is not None and new is not None:
        raise InvalidInput("subscription_id", "give subscription_id or new_subscription, not both")
    return IntentRequest(
        extents=_extents(p["extents"], "extents", altitudes=True),
        state=p["state"],
        uss_base_url=https_url(p["uss_base_url"], "uss_base_url"),
        key=frozenset(p.get("key") or ()),
        subscription_id=None if sub_id is None else check_id(sub_id, "subscription_id"),
        new_subscription=None
        if new is None
        else NewSubscription(
            https_url(new["uss_base_url"], "new_subscription.uss_base_url"),
            bool(new.get("notify_for_constraints") or False),
        ),
    )


def constraint_request(raw: Any) -> ConstraintRequest:
    p = parse(raw, api.PutConstraintReferenceParameters)
    return ConstraintRequest(_extents(p["extents"], "extents"), https_url(p["uss_base_url"], "uss_base_url"))


def subscription_request(raw: Any) -> SubscriptionRequest:
    p = parse(raw, api.PutSubscriptionParameters)
    return SubscriptionRequest(
        extent=parse_volume4d(p["extents"], "extents"),
        uss_base_url=https_url(p["uss_base_url"], "uss_base_url"),
        notify_for_operational_intents=bool(p.get("notify_for_operational_intents") or False),
        notify_for_constraints=bool(p.get("notify_for_constraints") or False),
    )


def area_of_interest(raw: Any) -> Extent:
    """The ``area_of_interest`` of an intent, constraint or subscription query (all three
    request models are the same shape)."""
    p = parse(raw, api.QueryOperationalIntentReferenceParameters)
    if p.get("area_of_interest") is None:
        raise InvalidInput("area_of_interest", "is required")
    return parse_volume4d(p["area_of_interest"], "area_of_interest")


def availability_request(raw: Any) -> tuple[str, str]:
    """(availability, old_version); the availability in any case, as clients send it."""
    if isinstance(raw, dict) and isinstance(raw.get("availability"), str):
        given = raw["availability"]
        found = next((a for a in AVAILABILITIES if a.lower() == given.lower()), given)
        raw = {**raw, "availability": found}
    p = parse(raw, api.SetUssAvailabilityStatusParameters)
    return str(p["availability"]), str(p.get("old_version") or "")


def report_request(raw: Any) -> dict[str, Any]:
    parse(raw, api.ErrorReport)
    return dict(raw)


# -- results ---------------------------------------------------------------------------


def reference(ref: Reference) -> dict[str, Any]:
    e = ref.entity
    out: dict[str, Any] = {
        "id": e.id,
        "manager": e.party,
        "uss_availability": ref.availability,
        "version": e.version,
        "ovn": e.ovn if ref.show_ovn else NO_OVN,
        "time_start": format_time(e.time_start),
        "time_end": format_time(e.time_end),
        "uss_base_url": e.uss_base_url,
    }
    if e.kind == OPERATIONAL_INTENT:
        out["state"] = e.state
        out["subscription_id"] = e.subscription_id or NULL_SUBSCRIPTION_ID
    return out


def entity_change(change: EntityChange) -> dict[str, Any]:
    key = (
        "operational_intent_reference"
        if change.reference.entity.kind == OPERATIONAL_INTENT
        else "constraint_reference"
    )
    return {
        "subscribers": [
            {
                "uss_base_url": s.uss_base_url,
                "subscriptions": [
                    {"subscription_id": sub, "notification_index": index} for sub, index in s.subscriptions
                ],
            }
            for s in change.subscribers
        ],
        key: reference(change.reference),
    }


def subscription(view: SubscriptionView) -> dict[str, Any]:
    s = view.subscription
    return {
        "id": s.id,
        "version": s.version,
        "notification_index": s.notification_index,
        "time_start": format_time(s.volume.window.start),
        "time_end": format_time(s.volume.window.end),
        "uss_base_url": s.uss_base_url,
        "notify_for_operational_intents": s.notify_for_operational_intents,
        "notify_for_constraints": s.notify_for_constraints,
        "implicit_subscription": s.implicit,
        "dependent_operational_intents": list(view.dependents),
    }


def subscription_change(change: SubscriptionChange) -> dict[str, Any]:
    out: dict[str, Any] = {"subscription": subscription(change.subscription)}
    if change.operational_intents is not None:
        out["operational_intent_references"] = [reference(r) for r in change.operational_intents]
    if change.constraints is not None:
        out["constraint_references"] = [reference(r) for r in change.constraints]
    return out


def availability(a: Availability) -> dict[str, Any]:
    return {"status": {"uss": a.uss, "availability": a.availability}, "version": a.version}


def airspace_conflict(exc: AirspaceConflict) -> dict[str, Any]:
    return {
        "message": str(exc),
        "missing_operational_intents": [reference(r) for r in exc.missing],
        "missing_constraints": [reference(r) for r in exc.missing_constraints],
    }


def constraint_details(details: ConstraintDetails) -> dict[str, Any]:
    """F3548 ``Constraint``: the reference (with its OVN) and the details' volumes."""
    return {
        "reference": reference(details.reference),
        "details": {"volumes": [volume_to_f3548(v) for v in details.volumes]},
    }


def constraint_notification(
    constraint_id: str, details: ConstraintDetails | None, subscriptions: Sequence[tuple[str, int]]
) -> dict[str, Any]:
    """F3548 ``PutConstraintDetailsParameters``: what ``POST /uss/v1/constraints`` carries;
    without ``constraint`` when it is gone."""
    out: dict[str, Any] = {
        "constraint_id": constraint_id,
        "subscriptions": [{"subscription_id": s, "notification_index": i} for s, i in subscriptions],
    }
    if details is not None:
        out["constraint"] = constraint_details(details)
    return out
