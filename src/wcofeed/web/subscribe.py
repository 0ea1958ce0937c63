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

The pages speak the reader's language (`?hl=`, kept by the forms' actions), and for a
known subscriber their own; form errors are shown in it too. "Also items published
only in English" (the site's fallback languages, named in the page's language) is
ticked by default: it keeps the subscriber on the default content languages, their
language then its fallbacks; unticked, they get items in their language only. The time zone is typed
or picked among the IANA names (a `<datalist>`, so it works without JavaScript);
`static/timezone.js` presets it from the browser on the subscribe form.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from aiohttp import web
from markupsafe import Markup, escape

from wcofeed.config import Settings
from wcofeed.digest.confirm import DeliveryError, confirmation_due, request_confirmation
from wcofeed.digest.send import SmtpDownError
from wcofeed.digest.subscription import (
    SubscriptionError,
    build_subscriber,
    mailbox_key,
    time_zones,
)
from wcofeed.digest.tokens import MissingSecretError, Purpose, Signer, TokenClaims, TokenError
from wcofeed.i18n import N_, Message, language_name, texts
from wcofeed.models import KINDS, Subscriber, SubscriberStatus
from wcofeed.web.clients import client_address
from wcofeed.web.errors import text_error
from wcofeed.web.guards import add_routes
from wcofeed.web.html import interface_language, isolate, render
from wcofeed.web.ratelimit import RateLimiter, retry_after
from wcofeed.web.state import SETTINGS, STORE

log = logging.getLogger("wcofeed.web.subscribe")

SUBSCRIBE_POSTS = 5
SUBSCRIBE_WINDOW = 60.0
#: Reminder lead times offered as ticks (the configured defaults are added); any other
#: can be typed.
LEAD_CHOICES = (30, 14, 7, 3, 2, 1)

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
    routes = [
        web.get("/subscribe", subscribe_form),
        web.post("/subscribe", subscribe),
        web.get("/confirm", confirm_form),
        web.post("/confirm", confirm),
        web.get("/unsubscribe", unsubscribe_form),
        web.post("/unsubscribe", unsubscribe),
        web.get("/preferences", preferences_form),
        web.post("/preferences", preferences),
    ]
    add_routes(app.router, routes)


def _language(request: web.Request, preferred: str = "") -> str:
    return interface_language(request, request.app[SETTINGS], preferred)


def _say(lang: str, text: str, **values: object) -> Markup:
    """A translated sentence (`%(name)s` fields unfilled) for a `lang` page, its values
    filled in and bidi-isolated."""
    return escape(text) % {name: isolate(value, lang) for name, value in values.items()}


def _message(
    request: web.Request,
    lang: str,
    text: Markup,
    status: int = 200,
    keep: Mapping[str, str] | None = None,
    next_link: tuple[str, str] | None = None,
) -> web.Response:
    return render(
        request, "pages/message.html", lang, status, keep=keep, text=text, next_link=next_link
    )


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
        raise _invalid_link(request, lang, exc.message) from None


def _invalid_link(request: web.Request, lang: str, reason: Message) -> web.HTTPBadRequest:
    words = texts(lang)
    text = _say(
        lang, words.gettext("This link is not valid: %(reason)s."), reason=reason.in_language(lang)
    )
    response = _message(request, lang, text, status=400)
    return web.HTTPBadRequest(
        text=response.text, content_type="text/html", headers={"Cache-Control": "no-store"}
    )


def _fallbacks(settings: Settings) -> list[str]:
    """Every language some edition falls back to, in the order the site lists them."""
    found = {
        code for language in settings.site.languages for code in settings.edition(language)[1:]
    }
    return [code for code in settings.site.languages if code in found]


def _form_context(settings: Settings, lang: str, subscriber: Subscriber | None) -> dict[str, Any]:
    """The choices the form offers and the values it starts with; on the subscribe form
    the email language is the page's and the time zone may come from the browser."""
    words = texts(lang)
    leads = subscriber.lead_days if subscriber else tuple(settings.email.lead_days)
    choices = sorted({*LEAD_CHOICES, *settings.email.lead_days}, reverse=True)
    accepted = subscriber.content_languages if subscriber else ()
    fallbacks = words.pgettext("list", ", ").join(
        language_name(code, lang) for code in _fallbacks(settings)
    )
    return {
        "fallbacks": fallbacks,
        "email_languages": [(code, language_name(code)) for code in settings.site.languages],
        "topics": [(slug, settings.topic_label(slug, lang)) for slug in sorted(settings.topics)],
        "kinds": KINDS,
        "frequencies": [
            ("off", words.pgettext("digest", "None")),
            ("daily", words.pgettext("digest", "Daily")),
            ("weekly", words.pgettext("digest", "Weekly")),
        ],
        "lead_choices": choices,
        "default_leads": words.pgettext("list", ", ").join(map(str, settings.email.lead_days)),
        "zones": time_zones(),
        "preset_zone": subscriber is None,
        "values": {
            "email": subscriber.email if subscriber else "",
            "language": subscriber.language if subscriber else lang,
            "fallback": not accepted or len(accepted) > 1,
            "topics": subscriber.topics if subscriber else (),
            "kinds": subscriber.kinds if subscriber else (),
            "leads": leads,
            "lead_other": ",".join(str(d) for d in leads if d not in choices),
            "digest": subscriber.digest if subscriber else "off",
            "timezone": subscriber.timezone if subscriber else settings.site.timezone,
        },
        "errors": {},
    }


def _with_form_values(context: dict[str, Any], form: Any) -> dict[str, Any]:
    """The form as it was posted, to show it again with its errors."""
    context["values"].update(
        email=str(form.get("email", "")),
        language=str(form.get("language", "")),
        fallback="fallback" in form,
        topics=[str(t) for t in form.getall("topic", [])],
        kinds=[str(k) for k in form.getall("kind", [])],
        leads=[int(d) for d in form.getall("lead", []) if str(d).isdigit()],
        lead_other=str(form.get("lead_days", "")),
        digest=str(form.get("digest", "off")),
        timezone=str(form.get("timezone", "")),
    )
    return context


async def subscribe_form(request: web.Request) -> web.Response:
    lang = _language(request)
    context = _form_context(request.app[SETTINGS], lang, None)
    return render(request, "pages/subscribe.html", lang, **context)


def _lead_days(form: Any) -> str:
    """The ticked lead times and the typed ones, as one list."""
    ticked = [str(d) for d in form.getall("lead", [])]
    typed = str(form.get("lead_days", "")).strip()
    return ",".join([*ticked, typed] if typed else ticked)


def _from_form(
    settings: Settings, form: Any, email: str, status: SubscriberStatus, name: str = ""
) -> Subscriber:
    language = str(form.get("language", ""))
    # Ticked (or not offered): the default, the language then its fallbacks.
    only_theirs = bool(_fallbacks(settings)) and "fallback" not in form
    return build_subscriber(
        settings,
        email=email,
        language=language,
        content_languages=(language,) if only_theirs else (),
        topics=[str(t) for t in form.getall("topic", [])],
        kinds=[str(k) for k in form.getall("kind", [])],
        lead_days=_lead_days(form),
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
        context = _with_form_values(_form_context(settings, lang, None), form)
        context["errors"] = exc.in_language(lang)
        return render(request, "pages/subscribe.html", lang, status=400, **context)
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
    words = texts(lang)
    text = _say(
        lang,
        words.gettext("Check your inbox: we sent a confirmation link to %(email)s."),
        email=wanted.email,
    )
    return _message(request, lang, text)


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
        reason = Message(N_("no subscription is waiting for confirmation"))
        raise _invalid_link(request, lang, reason)
    return subscriber


async def confirm_form(request: web.Request) -> web.Response:
    token = request.query.get("token", "")
    subscriber = await _awaiting_confirmation(request, token)
    lang = _language(request, subscriber.language)
    return render(request, "pages/confirm.html", lang, token=token, email=subscriber.email)


async def confirm(request: web.Request) -> web.Response:
    if not _same_origin(request):
        raise text_error(403, "form posted from another site")
    form = await request.post()
    subscriber = await _awaiting_confirmation(request, str(form.get("token", "")))
    now = datetime.now(UTC)
    if subscriber.status != "active":
        await request.app[STORE].set_subscriber_status(subscriber.email, "active", now)
    lang = _language(request, subscriber.language)
    token = _signer(request.app[SETTINGS]).make("preferences", subscriber.email, now)
    preferences = "preferences?" + urlencode({"token": token, "hl": lang})
    words = texts(lang)
    return _message(
        request,
        lang,
        _say(lang, words.gettext("Your subscription is active. Thank you.")),
        keep={"token": token},
        next_link=(preferences, words.gettext("Choose your topics, kinds and reminders")),
    )


async def unsubscribe_form(request: web.Request) -> web.Response:
    token = request.query.get("token", "")
    claims = _claims(request, token, "unsubscribe")
    subscriber = await request.app[STORE].get_subscriber(claims.email)
    lang = _language(request, subscriber.language if subscriber else "")
    return render(request, "pages/unsubscribe.html", lang, token=token, email=claims.email)


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
    lang = _language(request, subscriber.language if subscriber else "")
    words = texts(lang)
    text = _say(lang, words.gettext("%(email)s will receive no more emails."), email=claims.email)
    return _message(request, lang, text)


async def _subscriber_for(request: web.Request, token: str) -> Subscriber:
    claims = _claims(request, token, "preferences")
    subscriber = await request.app[STORE].get_subscriber(claims.email)
    if subscriber is None:
        lang = _language(request)
        raise _invalid_link(request, lang, Message(N_("unknown address")))
    return subscriber


async def preferences_form(request: web.Request) -> web.Response:
    token = request.query.get("token", "")
    subscriber = await _subscriber_for(request, token)
    lang = _language(request, subscriber.language)
    context = _form_context(request.app[SETTINGS], lang, subscriber)
    return render(request, "pages/preferences.html", lang, token=token, **context)


async def preferences(request: web.Request) -> web.Response:
    if not _same_origin(request):
        raise text_error(403, "form posted from another site")
    settings, store = request.app[SETTINGS], request.app[STORE]
    form = await request.post()
    token = str(form.get("token", ""))
    subscriber = await _subscriber_for(request, token)
    keep = {"token": token}
    try:
        wanted = _from_form(settings, form, subscriber.email, subscriber.status, subscriber.name)
    except SubscriptionError as exc:
        lang = _language(request, subscriber.language)
        context = _with_form_values(_form_context(settings, lang, subscriber), form)
        context["errors"] = exc.in_language(lang)
        return render(
            request, "pages/preferences.html", lang, 400, keep=keep, token=token, **context
        )
    await store.save_subscriber(wanted, datetime.now(UTC))
    lang = _language(request, wanted.language)
    text = _say(lang, texts(lang).gettext("Your preferences are saved."))
    return _message(request, lang, text, keep=keep)
