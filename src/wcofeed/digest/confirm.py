"""The double opt-in email: sent at once, one address at a time, outside any round,
and at most once an hour per pending address."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from wcofeed.config import Settings
from wcofeed.digest.render import Renderer
from wcofeed.digest.send import Outcome, Outgoing, Transport, transport_for
from wcofeed.digest.tokens import Signer
from wcofeed.models import Subscriber
from wcofeed.store import Store


class DeliveryError(RuntimeError):
    """A single email (a confirmation) could not be delivered."""


#: A pending address gets at most one confirmation email in this time, so the
#: public form cannot be used to flood someone's inbox.
CONFIRM_INTERVAL = timedelta(hours=1)


def confirmation_due(subscriber: Subscriber | None, now: datetime) -> bool:
    """Whether a confirmation may go to this (pending, or unknown) subscriber now."""
    last = subscriber.confirm_sent_at if subscriber else None
    return last is None or now - last >= CONFIRM_INTERVAL


async def request_confirmation(
    store: Store,
    settings: Settings,
    subscriber: Subscriber,
    now: datetime | None = None,
    transport: Transport | None = None,
) -> bool:
    """Send the double opt-in email unless one went out within CONFIRM_INTERVAL."""
    now = now or datetime.now(UTC)
    if not confirmation_due(subscriber, now):
        return False
    await send_confirmation(settings, subscriber, now, transport)
    await store.note_confirmation_sent(subscriber.email, now)
    return True


async def send_confirmation(
    settings: Settings,
    subscriber: Subscriber,
    now: datetime | None = None,
    transport: Transport | None = None,
) -> None:
    """Send the double opt-in email now; DeliveryError or SmtpDownError if it failed."""
    now = now or datetime.now(UTC)
    renderer = Renderer(settings, Signer(settings.security.secret_key))
    seed = f"{subscriber.email.lower()}|{now.isoformat()}".encode()
    mid = f"<confirm-{hashlib.sha256(seed).hexdigest()[:24]}@{settings.email.list_id}>"
    outgoing = Outgoing.of(renderer.confirmation(subscriber, mid, now))
    connection = (transport or transport_for(settings)).connect()
    try:
        result = await connection.send(outgoing)
    finally:
        await connection.close()
    if result.outcome is not Outcome.SENT:
        raise DeliveryError(f"confirmation to {subscriber.email} not delivered: {result.error}")
