"""F3548 request bodies in, results out: the ``uas-standards`` models at the edge.

A body's JSON types are first checked along the standard's request model (``ImplicitDict``
would coerce: ``"abc"`` into ``["a", "b", "c"]`` for a list, ``"1"`` into ``1.0``), then it
is parsed into that model (``ImplicitDict.parse``: required fields, enums), then converted
into the use-cases' frozen requests (:mod:`deconfliction.service.f3548.model`). Every
rule broken is an :class:`~deconfliction.errors.InvalidInput` naming the field. Results are rendered
back as the standard's response models. Pure conversion: no store, no clock.
"""

from __future__ import annotations

import re
import types
import typing
import uuid
from typing import Any, Final

from uas_standards.astm.f3548.v21 import api

from deconfliction.errors import InvalidInput, InvalidTimeWindow
from deconfliction.interop.f3548.volumes import format_time, parse_volume4d
from deconfliction.service.f3548.model import (
    AVAILABILITIES,
    NO_OVN,
    OPERATIONAL_INTENT,
    AirspaceConflict,
    Availability,
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

#: ``ImplicitDict``'s messages: "At a.b[0]: rest" and 'Required field "x" not specified'.
_AT: Final = re.compile(r"^At ([^:]+): (.*)$", re.DOTALL)
_REQUIRED: Final = re.compile(r'^Required field "([^"]+)" not specified')
#: Longest URL accepted.
MAX_URL: Final = 2048


def _field(message: str, path: str = "") -> tuple[str, str]:
    at = _AT.match(message)
    if at:
        return _field(at.group(2), at.group(1) if not path else f"{path}.{at.group(1)}")
    required = _REQUIRED.match(message)
    if required:
        name = required.group(1)
        return (f"{path}.{name}" if path else name), "is required"
    return path or "body", message


def parse(raw: Any, model: Any) -> Any:
    """``raw`` JSON as the standard's ``model``, strictly; InvalidInput names the field."""
    if not isinstance(raw, dict):
        raise InvalidInput("body", f"expected a JSON object, got {type(raw).__name__}")
    _check_types(raw, model, "")
    try:
        # Every uas-standards model is an ImplicitDict, whose ``parse`` builds one from JSON.
        parsed = model.parse(raw, model)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        field, rule = _field(str(exc))
        raise InvalidInput(field, rule) from None
    return parsed


def _check_types(raw: Any, hint: Any, path: str) -> None:
    """Refuse JSON of the wrong type before ``ImplicitDict`` coerces it: walk ``raw`` along
    the model's type hints (objects, lists, booleans, numbers, strings)."""
    where = path or "body"
    if raw is None:
        return
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            _check_types(raw, args[0], path)
        return
    if typing.get_origin(hint) is list:
        if not isinstance(raw, list):
            raise InvalidInput(where, f"expected a list, got {type(raw).__name__}")
        (item,) = typing.get_args(hint)
        for i, value in enumerate(raw):
            _check_types(value, item, f"{path}[{i}]")
    elif isinstance(hint, type) and issubclass(hint, dict):
        if not isinstance(raw, dict):
            raise InvalidInput(where, f"expected an object, got {type(raw).__name__}")
        for name, sub in typing.get_type_hints(hint).items():
            if name in raw:
                _check_types(raw[name], sub, f"{path}.{name}" if path else name)
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


def _extents(data: list[Any], path: str) -> tuple[Extent, ...]:
    if not data:
        raise InvalidInput(path, "must be a non-empty list of Volume4D")
    extents = tuple(parse_volume4d(v, f"{path}[{i}]") for i, v in enumerate(data))
    for i, e in enumerate(extents):
        if e.start is None:
            raise InvalidTimeWindow(f"{path}[{i}].time_start", "is required")
        if e.end is None:
            raise InvalidTimeWindow(f"{path}[{i}].time_end", "is required")
    return extents


def intent_request(raw: Any) -> IntentRequest:
    p = parse(raw, api.PutOperationalIntentReferenceParameters)
    sub_id = p.get("subscription_id")
    new = p.get("new_subscription")
    if sub_id is not None and new is not None:
        raise InvalidInput("subscription_id", "give subscription_id or new_subscription, not both")
    return IntentRequest(
        extents=_extents(p.extents, "extents"),
        state=str(p.state.value),
        uss_base_url=https_url(p.uss_base_url, "uss_base_url"),
        key=frozenset(p.get("key") or ()),
        subscription_id=None if sub_id is None else check_id(sub_id, "subscription_id"),
        new_subscription=None
        if new is None
        else NewSubscription(
            https_url(new.uss_base_url, "new_subscription.uss_base_url"),
            bool(new.get("notify_for_constraints") or False),
        ),
    )


def constraint_request(raw: Any) -> ConstraintRequest:
    p = parse(raw, api.PutConstraintReferenceParameters)
    return ConstraintRequest(_extents(p.extents, "extents"), https_url(p.uss_base_url, "uss_base_url"))


def subscription_request(raw: Any) -> SubscriptionRequest:
    p = parse(raw, api.PutSubscriptionParameters)
    return SubscriptionRequest(
        extent=parse_volume4d(p.extents, "extents"),
        uss_base_url=https_url(p.uss_base_url, "uss_base_url"),
        notify_for_operational_intents=bool(p.get("notify_for_operational_intents") or False),
        notify_for_constraints=bool(p.get("notify_for_constraints") or False),
    )


def area_of_interest(raw: Any) -> Extent:
    """The ``area_of_interest`` of an intent, constraint or subscription query (all three
    request models are the same shape)."""
    p = parse(raw, api.QueryOperationalIntentReferenceParameters)
    if p.get("area_of_interest") is None:
        raise InvalidInput("area_of_interest", "is required")
    return parse_volume4d(p.area_of_interest, "area_of_interest")


def availability_request(raw: Any) -> tuple[str, str]:
    """(availability, old_version); the availability in any case, as clients send it."""
    if isinstance(raw, dict) and isinstance(raw.get("availability"), str):
        given = raw["availability"]
        found = next((a for a in AVAILABILITIES if a.lower() == given.lower()), given)
        raw = {**raw, "availability": found}
    p = parse(raw, api.SetUssAvailabilityStatusParameters)
    return str(p.availability.value), p.old_version


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
        out["subscription_id"] = e.subscription_id or ""
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
