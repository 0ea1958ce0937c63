"""Subscription pages: subscribe, confirm, unsubscribe (one-click too), preferences.

Only the signed token in a link proves who someone is: `/confirm`, `/unsubscribe`
and `/preferences` act on the address inside the token, never on a form field.
Browser form posts must come from our own origin (Origin or Referer checked when
sent); the RFC 8058 one-click POST from a mail provider carries no Origin and is
authorised by its token alone. `/subscribe` answers the same whether or not the
address is known, so it cannot be used to find out who subscribed.

A confirmation link only shows a button: mail scanners follow links, so a GET that
activated would confirm addresses nobody asked for. Each client may post
`/subscribe` at most `SUBSCRIBE_POSTS` times a `SUBSCRIBE_WINDOW`, and one address
gets at most one confirmation email an hour (`digest.confirm.CONFIRM_INTERVAL`), even
when several posts for it arrive at once. One mailbox, however its address is varied
(`target+1@…`, `t.arget@…`), and one mail domain get at most
`email.confirmations_per_mailbox` and `email.confirmations_per_domain` an hour; more is
429, with nothing stored or sent.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from wcofeed.config import Settings
from wcofeed.digest.confirm import DeliveryError, confirmation_due, request_confirmation
from wcofeed.digest.messages import EMAIL_TEXT
from wcofeed.digest.send import SmtpDownError
from wcofeed.digest.subscription import SubscriptionError, build_subscriber, mailbox_key
from wcofeed.digest.tokens import MissingSecretError, Purpose, Signer, TokenClaims, TokenError
from wcofeed.i18n import language_name
from wcofeed.models import FREQUENCIES, Subscriber, SubscriberStatus
from wcofeed.web.clients import client_address
from wcofeed.web.errors import text_error
from wcofeed.web.ratelimit import RateLimiter, retry_after
from wcofeed.web.state import SETTINGS, STORE, TEMPLATES

log = logging.getLogger("wcofeed.web.subscribe")

SUBSCRIBE_POSTS = 5
SUBSCRIBE_WINDOW = 60.0

SUBSCRIBE_LIMITER = web.AppKey("subscribe_limiter", RateLimiter)
#: Confirmation emails an hour per mailbox and per mail domain (`mailbox_key`).
MAILBOX_LIMITER = web.AppKey("mailbox_limiter", RateLimiter)
DOMAIN_LIMITER = web.AppKey("domain_limiter", RateLimiter)
CONFIRM_WINDOW = 3600.0
#: One lock per address being subscribed (lower-cased, as the store compares them),
#: dropped when no post for it is running.
ADDRESS_LOCKS = web.AppKey("address_locks", weakref.WeakValueDictionary[str, asyncio.Lock])


def setup(app: web.Application) -> None:
    email = app[SETTINGS].email
    app[SUBSCRIBE_LIMITER] = RateLimiter(SUBSCRIBE_POSTS, SUBSCRIBE_WINDOW)
    app[MAILBOX_LIMITER] = RateLimiter(email.confirmations_per_mailbox, CONFIRM_WINDOW)
    app[DOMAIN_LIMITER] = RateLimiter(email.confirmations_per_domain, CONFIRM_WINDOW)
    app[ADDRESS_LOCKS] = weakref.WeakValueDictionary()
    app.router.add_get("/subscribe", subscribe_form)
    app.router.add_post("/subscribe", subscribe)
    app.router.add_get("/confirm", confirm_form)
    app.router.add_post("/confirm", confirm)
    app.router.add_get("/unsubscribe", unsubscribe_form)
    app.router.add_post("/unsubscribe", unsubscribe)
    app.router.add_get("/preferences", preferences_form)
    app.router.add_post("/preferences", preferences)


def _language(request: web.Request, fallback: str = "") -> str:
    settings = request.app[SETTINGS]
    lang = request.query.get("lang", "") or fallback
    return lang if lang in settings.site.languages else settings.site.default_language


def _page(
    request: web.Request, template: str, lang: str, status: int = 200, **context: Any
) -> web.Response:
    settings = request.app[SETTINGS]
    html = (
        request.app[TEMPLATES]
        .get_template(f"pages/{template}")
        .render(
            lang=lang,
            site_title=settings.site.title,
            t=lambda key, **v: EMAIL_TEXT.get(lang, key, **v),
            **context,
        )
    )
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


def _message(request: web.Request, lang: str, text: str, status: int = 200) -> web.Response:
    return _page(request, "message.html", lang, status, text=text)


def _same_origin(request: web.Request) -> bool:
    """False when a browser tells us the form was posted from another site."""
    sent = request.headers.get("Origin") or request.headers.get("Referer")
    if not sent:
        return True
    origin = urlsplit(sent)
    allowed = {urlsplit(request.app[SETTINGS].site.base_url).netloc, request.host}
    return origin.scheme in ("http", "https") and origin.netloc in allowed


def _signer(settings: Settings) -> Signer:
    try:
        return Signer(settings.security.secret_key)
    except MissingSecretError as exc:
        log.error("%s", exc)
        raise text_error(503, "email links are not configured") from None


def _claims(request: web.Request, token: str, purpose: Purpose) -> TokenClaims:
    signer = _signer(request.app[SETTINGS])
    try:
        return signer.check(token, purpose, datetime.now(UTC))
    except TokenError as exc:
        lang = _language(request)
        text = EMAIL_TEXT.get(lang, "invalid_link", reason=exc)
        raise _message_error(request, lang, text) from None


def _message_error(request: web.Request, lang: str, text: str) -> web.HTTPBadRequest:
    response = _message(request, lang, text, status=400)
    return web.HTTPBadRequest(
        text=response.text, content_type="text/html", headers={"Cache-Control": "no-store"}
    )


def _form_context(settings: Settings, lang: str, subscriber: Subscriber | None) -> dict[str, Any]:
    return {
        "languages": [(code, language_name(code)) for code in settings.site.languages],
        "topics": [(slug, settings.topic_label(slug, lang)) for slug in sorted(settings.topics)],
        "frequencies": FREQUENCIES,
        "values": {
            "email": subscriber.email if subscriber else "",
            "language": subscriber.language if subscriber else lang,
            "topics": subscriber.topics if subscriber else (),
            "lead_days": ",".join(
                map(str, subscriber.lead_days if subscriber else settings.email.lead_days)
            ),
            "digest": subscriber.digest if subscriber else "off",
            "timezone": subscriber.timezone if subscriber else settings.site.timezone,
        },
        "errors": {},
    }


async def subscribe_form(request: web.Request) -> web.Response:
    lang = _language(request)
    context = _form_context(request.app[SETTINGS], lang, None)
    return _page(request, "subscribe.html", lang, **context)


def _from_form(
    settings: Settings, form: Any, email: str, status: SubscriberStatus, name: str = ""
) -> Subscriber:
    return build_subscriber(
        settings,
        email=email,
        language=str(form.get("language", "")),
        topics=[str(t) for t in form.getall("topic", [])],
        lead_days=str(form.get("lead_days", "")),
        digest=str(form.get("digest", "off")),
        timezone=str(form.get("timezone", "")),
        status=status,
        name=name,
    )


async def subscribe(request: web.Request) -> web.Response:
    settings, store = request.app[SETTINGS], request.app[STORE]
    if not _same_origin(request):
        raise text_error(403, "form posted from another site")
    wait = request.app[SUBSCRIBE_LIMITER].hit(client_address(request))
    if wait:
        raise text_error(
            429,
            "too many subscription requests; please try again later",
            headers={"Retry-After": retry_after(wait)},
        )
    form = await request.post()
    lang = _language(request, str(form.get("language", "")))
    try:
        wanted = _from_form(settings, form, str(form.get("email", "")), "pending")
    except SubscriptionError as exc:
        context = _form_context(settings, lang, None)
        context["values"].update({k: v for k, v in form.items() if k != "topic"})
        context["errors"] = exc.errors
        return _page(request, "subscribe.html", lang, status=400, **context)
    _signer(settings)
    locks = request.app[ADDRESS_LOCKS]
    lock = locks.setdefault(wanted.email.lower(), asyncio.Lock())
    async with lock:
        existing = await store.get_subscriber(wanted.email)
        if existing is None or existing.status != "active":
            if confirmation_due(existing, datetime.now(UTC)):
                _count_confirmation(request, wanted.email)
            saved = await store.save_subscriber(wanted, datetime.now(UTC))
            try:
                await request_confirmation(store, settings, saved)
            except (SmtpDownError, DeliveryError) as exc:
                log.error("confirmation not sent: %s", exc)
                raise text_error(
                    503, "the confirmation email could not be sent; please try again later"
                ) from None
    return _message(
        request, wanted.language, EMAIL_TEXT.get(wanted.language, "check_inbox", email=wanted.email)
    )


def _count_confirmation(request: web.Request, email: str) -> None:
    """Count a confirmation email against its mailbox and its domain, or 429 if either
    has had its share this hour (then nothing is counted)."""
    mailbox, domain = mailbox_key(email)
    by_mailbox, by_domain = request.app[MAILBOX_LIMITER], request.app[DOMAIN_LIMITER]
    wait = max(by_mailbox.wait(mailbox), by_domain.wait(domain))
    if wait:
        log.warning("confirmation refused: too many to this mailbox or domain this hour")
        raise text_error(
            429,
            "too many confirmation emails to this address or its domain; please try later",
            headers={"Retry-After": retry_after(wait)},
        )
    by_mailbox.hit(mailbox)
    by_domain.hit(domain)


async def _awaiting_confirmation(request: web.Request, token: str) -> Subscriber:
    """The subscriber the token confirms: known, and not unsubscribed since."""
    claims = _claims(request, token, "confirm")
    subscriber = await request.app[STORE].get_subscriber(claims.email)
    if subscriber is None or subscriber.status == "unsubscribed":
        lang = _language(request)
        reason = "no subscription is waiting for confirmation"
        raise _message_error(request, lang, EMAIL_TEXT.get(lang, "invalid_link", reason=reason))
    return subscriber


async def confirm_form(request: web.Request) -> web.Response:
    token = request.query.get("token", "")
    subscriber = await _awaiting_confirmation(request, token)
    lang = subscriber.language
    title = EMAIL_TEXT.get(lang, "subject_confirm", site=request.app[SETTINGS].site.title)
    return _page(request, "confirm.html", lang, token=token, title=title, email=subscriber.email)


async def confirm(request: web.Request) -> web.Response:
    if not _same_origin(request):
        raise text_error(403, "form posted from another site")
    form = await request.post()
    subscriber = await _awaiting_confirmation(request, str(form.get("token", "")))
    if subscriber.status != "active":
        await request.app[STORE].set_subscriber_status(
            subscriber.email, "active", datetime.now(UTC)
        )
    return _message(request, subscriber.language, EMAIL_TEXT.get(subscriber.language, "confirmed"))


async def unsubscribe_form(request: web.Request) -> web.Response:
    token = request.query.get("token", "")
    claims = _claims(request, token, "unsubscribe")
    subscriber = await request.app[STORE].get_subscriber(claims.email)
    lang = subscriber.language if subscriber else _language(request)
    return _page(request, "unsubscribe.html", lang, token=token, email=claims.email)


async def unsubscribe(request: web.Request) -> web.Response:
    form = await request.post()
    token = request.query.get("token", "") or str(form.get("token", ""))
    if "token" not in request.query and not _same_origin(request):
        raise text_error(403, "form posted from another site")
    claims = _claims(request, token, "unsubscribe")
    store = request.app[STORE]
    subscriber = await store.get_subscriber(claims.email)
    if subscriber is not None:
        await store.set_subscriber_status(claims.email, "unsubscribed", datetime.now(UTC))
    lang = subscriber.language if subscriber else _language(request)
    return _message(request, lang, EMAIL_TEXT.get(lang, "unsubscribed", email=claims.email))


async def _subscriber_for(request: web.Request, token: str) -> Subscriber:
    claims = _claims(request, token, "preferences")
    subscriber = await request.app[STORE].get_subscriber(claims.email)
    if subscriber is None:
        lang = _language(request)
        raise _message_error(
            request, lang, EMAIL_TEXT.get(lang, "invalid_link", reason="unknown address")
        )
    return subscriber


async def preferences_form(request: web.Request) -> web.Response:
    token = request.query.get("token", "")
    subscriber = await _subscriber_for(request, token)
    context = _form_context(request.app[SETTINGS], subscriber.language, subscriber)
    return _page(request, "preferences.html", subscriber.language, token=token, **context)


async def preferences(request: web.Request) -> web.Response:
    if not _same_origin(request):
        raise text_error(403, "form posted from another site")
    settings, store = request.app[SETTINGS], request.app[STORE]
    form = await request.post()
    token = str(form.get("token", ""))
    subscriber = await _subscriber_for(request, token)
    try:
        wanted = _from_form(settings, form, subscriber.email, subscriber.status, subscriber.name)
    except SubscriptionError as exc:
        context = _form_context(settings, subscriber.language, subscriber)
        context["errors"] = exc.errors
        return _page(request, "preferences.html", subscriber.language, 400, token=token, **context)
    saved = await store.save_subscriber(wanted, datetime.now(UTC))
    return _message(request, saved.language, EMAIL_TEXT.get(saved.language, "saved"))
