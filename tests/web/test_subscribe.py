"""Subscription pages over a real aiohttp server: subscribe -> email -> confirm,
unsubscribe (page and RFC 8058 one-click), preferences, and what they refuse."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import lxml.html
import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import english_leftovers
from wcofeed.config import Settings
from wcofeed.digest.tokens import Purpose, Signer
from wcofeed.models import Subscriber
from wcofeed.store import Store

SECRET = "web-test-secret-0123456789"


@pytest.fixture
def web_config() -> str:
    return f"""
        [site]
        base_url = "http://feeds.example.org"

        [security]
        secret_key = "{SECRET}"

        [topics.origin]
        labels = {{ en = "Rules of origin", fr = "Règles d'origine" }}

        [topics.valuation]
        labels = {{ en = "Valuation" }}
        """


def outbox_link(settings: Settings, path: str) -> str:
    """The `path?token=…` link of the one email in the outbox folder."""
    (eml,) = settings.email.outbox_dir.glob("*.eml")
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    body: str = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    (line,) = [w for w in body.split() if w.startswith(f"http://feeds.example.org{path}?")]
    return line.removeprefix("http://feeds.example.org")


def token_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["token"][0]


async def test_subscribe_then_confirm_activates(
    client: TestClient[Any, Any], store: Store, web_settings: Settings
) -> None:
    form_page = await client.get("/subscribe?hl=fr")
    html = await form_page.text()
    assert form_page.status == 200 and "Règles d&#39;origine" in html
    assert '<option value="fr" selected>français</option>' in html
    response = await client.post(
        "/subscribe",
        data={
            "email": "ana@example.org",
            "language": "fr",
            "topic": ["origin"],
            "lead_days": "7,1",
            "digest": "weekly",
            "timezone": "Europe/Paris",
        },
    )
    assert response.status == 200
    assert "un lien de confirmation a été envoyé à ana@example.org" in await response.text()
    pending = await store.get_subscriber("ana@example.org")
    assert pending is not None and pending.status == "pending"
    assert (pending.topics, pending.lead_days, pending.digest) == (("origin",), (7, 1), "weekly")

    link = outbox_link(web_settings, "/confirm")
    page = await client.get(link)
    assert page.status == 200 and "Confirmer mon abonnement" in await page.text()
    still = await store.get_subscriber("ana@example.org")
    assert still is not None and still.status == "pending"  # following the link is not enough
    confirmed = await client.post("/confirm", data={"token": token_of(link)})
    assert confirmed.status == 200 and "Votre abonnement est actif" in await confirmed.text()
    active = await store.get_subscriber("ana@example.org")
    assert active is not None and active.status == "active" and active.confirmed_at is not None


async def test_subscribe_form_errors_are_shown_and_nothing_is_stored(
    client: TestClient[Any, Any], store: Store
) -> None:
    response = await client.post(
        "/subscribe",
        data={
            "email": "not an address",
            "language": "en",
            "topic": "smuggling",
            "lead_days": "0",
        },
    )
    html = await response.text()
    assert response.status == 400
    assert "not an email address" in html and "unknown topics: smuggling" in html
    assert "lead time must be 1 to 365 days" in html
    assert await store.list_subscribers() == []


async def test_cross_site_form_post_is_refused(client: TestClient[Any, Any], store: Store) -> None:
    response = await client.post(
        "/subscribe",
        data={"email": "ana@example.org", "language": "en"},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status == 403
    assert await store.get_subscriber("ana@example.org") is None


async def test_resubscribing_an_active_address_changes_nothing(
    client: TestClient[Any, Any], store: Store, web_settings: Settings
) -> None:
    await store.save_subscriber(
        Subscriber("ana@example.org", status="active", topics=("origin",)), datetime.now(UTC)
    )
    response = await client.post("/subscribe", data={"email": "ana@example.org", "language": "en"})
    assert response.status == 200
    kept = await store.get_subscriber("ana@example.org")
    assert kept is not None and kept.topics == ("origin",) and kept.status == "active"
    assert not list(web_settings.email.outbox_dir.glob("*.eml"))


async def test_unsubscribe_page_and_one_click_post(
    client: TestClient[Any, Any], store: Store
) -> None:
    now = datetime.now(UTC)
    for address in ("ana@example.org", "bo@example.org"):
        await store.save_subscriber(Subscriber(address, status="active"), now)
    signer = Signer(SECRET)
    token = signer.make("unsubscribe", "ana@example.org", now)
    page = await client.get("/unsubscribe", params={"token": token})
    assert page.status == 200
    assert 'name="token" value="' + token + '"' in await page.text()
    ana = await store.get_subscriber("ana@example.org")
    assert ana is not None and ana.status == "active"  # a GET never unsubscribes

    button = await client.post("/unsubscribe", data={"token": token})
    assert button.status == 200
    ana = await store.get_subscriber("ana@example.org")
    assert ana is not None and ana.status == "unsubscribed"

    one_click = await client.post(
        "/unsubscribe?token=" + signer.make("unsubscribe", "bo@example.org", now),
        data={"List-Unsubscribe": "One-Click"},
    )
    assert one_click.status == 200
    bo = await store.get_subscriber("bo@example.org")
    assert bo is not None and bo.status == "unsubscribed"


@pytest.mark.parametrize("path", ["/confirm", "/unsubscribe", "/preferences"])
async def test_forged_or_misused_tokens_are_refused(
    client: TestClient[Any, Any], store: Store, path: str
) -> None:
    now = datetime.now(UTC)
    await store.save_subscriber(Subscriber("ana@example.org", status="pending"), now)
    wrong_purpose = Signer(SECRET).make(
        "preferences" if path != "/preferences" else "confirm", "ana@example.org", now
    )
    forged = Signer("another-secret-entirely-xx").make(
        cast(Purpose, path.strip("/")), "ana@example.org", now
    )
    for token in (wrong_purpose, forged, "garbage"):
        response = await client.get(path, params={"token": token})
        assert response.status == 400
        assert "This link is not valid" in await response.text()
    ana = await store.get_subscriber("ana@example.org")
    assert ana is not None and ana.status == "pending"


async def test_preferences_page_updates_the_token_holder_only(
    client: TestClient[Any, Any], store: Store
) -> None:
    now = datetime.now(UTC)
    await store.save_subscriber(Subscriber("ana@example.org", status="active"), now)
    token = Signer(SECRET).make("preferences", "ana@example.org", now)
    page = await client.get("/preferences", params={"token": token})
    form = lxml.html.fromstring(await page.text())
    assert page.status == 200
    assert form.xpath('//input[@name="lead"][@checked]/@value') == ["14", "3", "1"]
    response = await client.post(
        "/preferences",
        data={
            "token": token,
            "email": "someone-else@example.org",
            "language": "fr",
            "topic": ["valuation"],
            "lead_days": "5",
            "digest": "daily",
            "timezone": "UTC",
        },
    )
    assert response.status == 200 and "Vos préférences sont enregistrées" in await response.text()
    ana = await store.get_subscriber("ana@example.org")
    assert ana is not None
    assert (ana.language, ana.topics, ana.lead_days) == ("fr", ("valuation",), (5,))
    assert ana.status == "active"
    assert await store.get_subscriber("someone-else@example.org") is None


async def test_repeated_subscribe_posts_send_one_confirmation(
    client: TestClient[Any, Any], web_settings: Settings
) -> None:
    for _ in range(3):
        response = await client.post(
            "/subscribe", data={"email": "ana@example.org", "language": "en"}
        )
        assert response.status == 200
    assert len(list(web_settings.email.outbox_dir.glob("*.eml"))) == 1


async def test_subscribe_form_speaks_the_page_language_and_offers_choices(
    client: TestClient[Any, Any],
) -> None:
    response = await client.get("/subscribe?hl=ar")
    page = lxml.html.fromstring(await response.text())
    assert (page.get("lang"), page.get("dir")) == ("ar", "rtl")
    assert page.cssselect("#language option[selected]")[0].get("value") == "ar"
    assert page.cssselect("form")[0].get("action") == "subscribe?hl=ar"
    kinds = page.xpath('//input[@name="kind"]/@value')
    assert kinds == ["news", "call", "publication", "event"]
    leads = page.xpath('//input[@name="lead"]/@value')
    assert {"30", "14", "7", "3", "1"} <= set(leads)
    assert page.xpath('//input[@name="lead"][@checked]/@value') == ["14", "3", "1"]
    zone = page.cssselect("#timezone")[0]
    assert zone.get("value") == "Europe/Brussels" and zone.get("data-preset") == "browser"
    zones = page.xpath(f'//datalist[@id="{zone.get("list")}"]/option/@value')
    assert len(zones) > 300 and {"Asia/Tokyo", "America/Sao_Paulo", "UTC"} <= set(zones)
    assert page.xpath('//script[@src="/static/timezone.js"]') and not page.xpath(
        "//script[not(@src)]"
    )
    switch = {a.get("lang"): a.get("href") for a in page.cssselect("nav.languages a")}
    assert switch == {code: f"?hl={code}" for code in ("en", "fr", "es", "ru", "zh", "ar")}
    shown = [t for t in page.cssselect("body")[0].itertext()]
    assert english_leftovers(shown, "ar") == []

    browser = await client.get("/subscribe", headers={"Accept-Language": "es-MX,es;q=0.9"})
    assert lxml.html.fromstring(await browser.text()).get("lang") == "es"
    script = await client.get("/static/timezone.js")
    assert script.status == 200 and "resolvedOptions().timeZone" in await script.text()


async def test_kinds_ticked_and_typed_lead_times_and_an_iana_zone_are_kept(
    client: TestClient[Any, Any], store: Store
) -> None:
    response = await client.post(
        "/subscribe?hl=es",
        data={
            "email": "ana@example.org",
            "language": "es",
            "kind": ["call", "event"],
            "lead": ["14", "7"],
            "lead_days": "10, 2",
            "digest": "off",
            "timezone": "America/Bogota",
        },
    )
    assert response.status == 200
    assert "hemos enviado un enlace de confirmación" in await response.text()
    saved = await store.get_subscriber("ana@example.org")
    assert saved is not None
    assert (saved.kinds, saved.lead_days, saved.timezone) == (
        ("call", "event"),
        (14, 10, 7, 2),
        "America/Bogota",
    )


async def test_form_errors_are_in_the_page_language(
    client: TestClient[Any, Any], store: Store
) -> None:
    response = await client.post(
        "/subscribe?hl=fr",
        data={
            "email": "pas une adresse",
            "language": "en",
            "topic": "smuggling",
            "lead_days": "x",
            "timezone": "Mars/Olympus_Mons",
        },
    )
    assert response.status == 400
    page = lxml.html.fromstring(await response.text())
    assert page.get("lang") == "fr"
    errors = [li.text_content() for li in page.cssselect(".errors li")]
    assert errors == [
        "'pas une adresse'\u00a0: adresse électronique non valable",
        "thèmes inconnus\u00a0: smuggling",
        "'x'\u00a0: indiquez des nombres entiers de jours séparés par des virgules, "
        "par exemple 14,3,1",
        "fuseau horaire inconnu\u00a0: 'Mars/Olympus_Mons'",
    ]
    # what was typed is shown again
    assert page.cssselect("#timezone")[0].get("value") == "Mars/Olympus_Mons"
    assert page.cssselect("#lead_days")[0].get("value") == "x"
    assert await store.list_subscribers() == []


async def test_confirming_leads_on_to_the_preferences(
    client: TestClient[Any, Any], store: Store, web_settings: Settings
) -> None:
    await client.post("/subscribe", data={"email": "ana@example.org", "language": "ru"})
    token = token_of(outbox_link(web_settings, "/confirm"))
    confirmed = await client.post("/confirm", data={"token": token})
    page = lxml.html.fromstring(await confirmed.text())
    assert page.get("lang") == "ru"
    (onward,) = page.cssselect("main a")
    assert onward.text == "Выбрать темы, типы материалов и напоминания"
    href = onward.get("href")
    assert href.startswith("preferences?token=") and href.endswith("&hl=ru")
    preferences = await client.get("/" + href)
    assert preferences.status == 200
    form = lxml.html.fromstring(await preferences.text())
    assert form.cssselect("h1")[0].text == "Ваши настройки"
    # the switcher keeps the token, so another language shows the same page
    switch = {a.get("lang"): a.get("href") for a in form.cssselect("nav.languages a")}
    assert parse_qs(urlsplit(switch["zh"]).query) == {"token": [token_of(href)], "hl": ["zh"]}
    in_chinese = await client.get("/preferences" + switch["zh"])
    assert lxml.html.fromstring(await in_chinese.text()).cssselect("h1")[0].text == "您的偏好设置"


async def test_items_only_in_english_are_ticked_by_default_and_can_be_refused(
    client: TestClient[Any, Any], store: Store
) -> None:
    page = lxml.html.fromstring(await (await client.get("/subscribe?hl=fr")).text())
    (box,) = page.xpath('//input[@name="fallback"]')
    assert box.get("checked") is not None
    label = " ".join(box.getparent().text_content().split())
    assert label == "Aussi les éléments publiés uniquement en anglais"
    arabic = lxml.html.fromstring(await (await client.get("/subscribe?hl=ar")).text())
    label = " ".join(
        arabic.xpath('//input[@name="fallback"]')[0].getparent().text_content().split()
    )
    assert label == "وكذلك العناصر المنشورة باللغة الإنجليزية فقط"

    base = {"language": "fr", "timezone": "Europe/Paris"}
    await client.post("/subscribe", data={**base, "email": "ana@example.org", "fallback": "1"})
    await client.post("/subscribe", data={**base, "email": "bo@example.org"})
    ana = await store.get_subscriber("ana@example.org")
    bo = await store.get_subscriber("bo@example.org")
    assert ana is not None and ana.content_languages == ()  # French, then English
    assert bo is not None and bo.content_languages == ("fr",)

    now = datetime.now(UTC)
    await store.set_subscriber_status("bo@example.org", "active", now)
    token = Signer(SECRET).make("preferences", "bo@example.org", now)
    form = lxml.html.fromstring(
        await (await client.get("/preferences", params={"token": token})).text()
    )
    assert form.xpath('//input[@name="fallback"]')[0].get("checked") is None
    fields = {**base, "token": token, "fallback": "1"}
    assert (await client.post("/preferences", data=fields)).status == 200
    bo = await store.get_subscriber("bo@example.org")
    assert bo is not None and bo.content_languages == ()
    form = lxml.html.fromstring(
        await (await client.get("/preferences", params={"token": token})).text()
    )
    assert form.xpath('//input[@name="fallback"]')[0].get("checked") is not None
