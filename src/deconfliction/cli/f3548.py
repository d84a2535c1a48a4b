"""``deconfliction serve`` options for the ASTM F3548-21 DSS's tokens (``docs/f3548.md``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from deconfliction.interop.f3548.auth import F3548AuthConfig

F = TypeVar("F", bound=Callable[..., Any])


def f3548_options(fn: F) -> F:
    """Add the F3548 token options to a click command."""
    options = [
        click.option(
            "--f3548-public-key",
            "f3548_public_keys",
            multiple=True,
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="PEM public key of the USS auth server whose RS256 tokens the DSS accepts (repeatable).",
        ),
        click.option(
            "--f3548-audience",
            "f3548_audiences",
            multiple=True,
            help="Audience (aud) F3548 tokens must name: this DSS's host name (repeatable).",
        ),
        click.option(
            "--f3548-issuer",
            "f3548_issuers",
            multiple=True,
            help="Issuer (iss) F3548 tokens must carry (repeatable; default: any issuer of a trusted key).",
        ),
        click.option(
            "--f3548-test-keys",
            is_flag=True,
            default=False,
            help="TESTS ONLY: also accept the InterUSS prober's published NoAuth test key"
            " (audience localhost).",
        ),
        click.option(
            "--f3548-time-based-notification-index",
            is_flag=True,
            default=False,
            help="Subscription notification indices from the clock (seconds since 2020) instead of counters.",
        ),
        click.option(
            "--f3548-base-url",
            default=None,
            help="https:// URL at which USSs reach this service's /uss/v1 (it manages the constraints"
            " of native operations); default https://localhost.",
        ),
        click.option(
            "--f3548-notify-ca",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            default=None,
            help="PEM bundle of the CAs to trust when sending constraint notifications to USSs"
            " (default: the system's).",
        ),
        click.option(
            "--f3548-notify-token-file",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="File holding the bearer token sent with constraint notifications (read at every"
            " send, so a token refresher may rewrite it).",
        ),
        click.option(
            "--f3548-notify-private",
            is_flag=True,
            default=False,
            help="Also send constraint notifications to USS base URLs on private, loopback or"
            " link-local addresses (tests and closed networks; off by default).",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def f3548_settings(
    f3548_time_based_notification_index: bool = False,
    f3548_base_url: str | None = None,
    f3548_notify_ca: Path | None = None,
    f3548_notify_token_file: Path | None = None,
    f3548_notify_private: bool = False,
    **auth: Any,
) -> dict[str, object]:
    """The ``ApiSettings.extra`` entries the options describe."""
    if f3548_base_url is not None and not f3548_base_url.startswith("https://"):
        raise click.BadParameter(
            "must be an https:// URL (F3548 requires TLS)", param_hint="--f3548-base-url"
        )
    return {
        "f3548_auth": f3548_config(**auth),
        "f3548_time_based_index": f3548_time_based_notification_index,
        "f3548_base_url": (f3548_base_url or "").rstrip("/") or None,
        "f3548_notify_ca": str(f3548_notify_ca) if f3548_notify_ca is not None else None,
        "f3548_notify_token_file": str(f3548_notify_token_file)
        if f3548_notify_token_file is not None
        else None,
        "f3548_notify_private": f3548_notify_private,
    }


def f3548_config(
    f3548_public_keys: tuple[Path, ...] = (),
    f3548_audiences: tuple[str, ...] = (),
    f3548_issuers: tuple[str, ...] = (),
    f3548_test_keys: bool = False,
) -> F3548AuthConfig:
    """The token configuration the options describe."""
    config = F3548AuthConfig(
        tuple(p.read_text(encoding="ascii") for p in f3548_public_keys),
        tuple(f3548_audiences),
        tuple(f3548_issuers),
    )
    if f3548_test_keys:
        return F3548AuthConfig.for_tests(tuple(f3548_audiences) or ("localhost",), extra=config)
    return config
