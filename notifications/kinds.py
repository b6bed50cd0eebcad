"""The kinds of notification, registered by the apps that send them.

notifications/ knows how to reach a person, not what the message is about: the app that
owns a kind (recovery/, for every clinical one) registers it once, at start-up, with the
generic push text, whether it is urgent, whether a person may mute it and how long it
lives. The push text may show on a locked screen, so it names nothing clinical.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext, gettext_noop

if TYPE_CHECKING:
    from notifications.models import Notification

DEFAULT_PUSH_TEXT = (gettext_noop("New message"), gettext_noop("Open the app to read it."))


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    body: str


class EmailHooks(Protocol):
    """How a kind sent by email is written and what its sender records. Both run at the
    moment of sending, so a rule that may change meanwhile (a consent revoked) is checked
    then, not when the message was queued."""

    def compose(self, notification: Notification, *, now: datetime) -> Email | str:
        """The email, or why it must not be sent (the row is then cancelled)."""
        ...

    def settle(self, notification: Notification, *, state: str, reason: str) -> None:
        """Record the final outcome: sent, cancelled (with the reason) or failed."""
        ...


@dataclass(frozen=True)
class Kind:
    name: str
    label: str
    push_title: str
    push_body: str
    urgent: bool = False
    mutable: bool = True  # False: a safety message nobody can opt out of
    ttl: timedelta | None = None  # a message not sent within this after its due time is dropped
    email: EmailHooks | None = None  # a kind sent by email, to addresses it names itself
    # The OpenAPI schema of this kind's payload: clients generated from the API schema get
    # a type per kind (notifications/openapi.py builds the union on `kind`).
    payload_schema: Mapping[str, object] | None = field(default=None, hash=False)

    def __post_init__(self) -> None:
        # A plain str: an enum member (TextChoices) hashes by its member name, not its value.
        object.__setattr__(self, "name", str(self.name))


# Staff groups: a name -> a function from scope ids (a program, a patient's enrollment, as
# the registering app defines them) to the ids of the users in each scope's group.
StaffResolver = Callable[[Collection[int]], dict[int, set[int]]]

_KINDS: dict[str, Kind] = {}
_STAFF_GROUPS: dict[str, StaffResolver] = {}


def register_kind(kind: Kind) -> Kind:
    """Register (or re-register, identically) a kind; one name, one meaning."""
    known = _KINDS.get(kind.name)
    if known is not None and known != kind:
        raise ValueError(f"notification kind {kind.name!r} is already registered differently")
    _KINDS[kind.name] = kind
    return kind


def kind_named(name: str) -> Kind:
    try:
        return _KINDS[name]
    except KeyError:
        raise LookupError(f"unregistered notification kind {name!r}") from None


def registered_kinds() -> list[Kind]:
    return sorted(_KINDS.values(), key=lambda kind: kind.name)


def kind_choices() -> list[tuple[str, str]]:
    return [(kind.name, kind.label) for kind in registered_kinds()]


def unmutable_kinds() -> frozenset[str]:
    return frozenset(kind.name for kind in _KINDS.values() if not kind.mutable)


def push_text(name: str, language: str | None = None) -> tuple[str, str]:
    """The generic title and body of a push of this kind (an unknown kind: neutral text),
    in `language` (None or "": the server's default, not whoever's request is running)."""
    kind = _KINDS.get(name)
    title, body = (kind.push_title, kind.push_body) if kind else DEFAULT_PUSH_TEXT
    with translation.override(language or settings.LANGUAGE_CODE):
        return gettext(title), gettext(body)


def register_staff_group(name: str, resolve: StaffResolver) -> None:
    _STAFF_GROUPS[name] = resolve


def staff_of(group: str, scopes: Collection[int]) -> dict[int, set[int]]:
    """The members of `group` in each scope, by scope id (a scope without members: empty)."""
    if not scopes:
        return {}
    try:
        resolve = _STAFF_GROUPS[group]
    except KeyError:
        raise LookupError(f"unregistered staff group {group!r}") from None
    found = resolve(scopes)
    return {scope: set(found.get(scope, ())) for scope in scopes}
