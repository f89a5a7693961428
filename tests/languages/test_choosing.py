"""How a page's language is chosen and remembered, the default language setting, and the reader's
language through the API and the admin."""

from __future__ import annotations

import pytest
from helpers.admin import post
from helpers.api import bearer
from helpers.outbox import outbox_messages, wait_idle
from helpers.subscribe import make_list, subscriber

from newsletter import create_app
from newsletter.config.rules import ConfigError
from newsletter.models import Role


def test_lang_in_the_address_switches_and_a_cookie_remembers_it(client):
    french = client.get("/archive?lang=fr", headers={"Accept-Language": "de"})
    assert french.headers["Content-Language"] == "fr"
    assert '<html lang="fr">' in french.get_data(as_text=True)
    cookie = french.headers["Set-Cookie"]
    assert cookie.startswith("lang=fr;") and "SameSite=Lax" in cookie and "HttpOnly" in cookie

    # The next page, without ?lang and with a German browser, stays French.
    later = client.get("/", headers={"Accept-Language": "de"})
    assert later.headers["Content-Language"] == "fr" and "Set-Cookie" not in later.headers
    assert "S’abonner" in later.get_data(as_text=True)


def test_the_switcher_links_each_language_in_its_own_name(client):
    page = client.get("/archive?page=2", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert '<nav aria-label="Idioma" class="languages">' in page
    assert '<a href="/archive?page=2&amp;lang=de" lang="de" hreflang="de">Deutsch</a>' in page
    assert '<span lang="es" aria-current="true"><strong>Español</strong></span>' in page
    assert '<a href="/archive?page=2&amp;lang=fr" lang="fr" hreflang="fr">Français</a>' in page


def test_an_unknown_language_falls_back_to_the_default(make_app):
    app = make_app(DEFAULT_LANGUAGE="de")
    client = app.test_client()
    for headers, path in (({"Accept-Language": "ja"}, "/archive"), ({}, "/archive?lang=xx")):
        page = client.get(path, headers=headers)
        assert page.headers["Content-Language"] == "de"
        assert "Noch nichts veröffentlicht." in page.get_data(as_text=True)
    # A browser that asks for English still gets English.
    english = client.get("/archive", headers={"Accept-Language": "en-GB"})
    assert english.headers["Content-Language"] == "en"


def test_the_default_language_must_have_a_catalogue(tmp_path):
    with pytest.raises(ConfigError, match="NEWSLETTER_DEFAULT_LANGUAGE must be one of en, de"):
        create_app({"INSTANCE_DIR": str(tmp_path), "DEFAULT_LANGUAGE": "xx"})


def test_error_pages_and_json_answers_are_translated(client):
    missing = client.get("/no-such-page", headers={"Accept-Language": "es"})
    assert missing.status_code == 404 and missing.headers["Content-Language"] == "es"
    assert "Página no encontrada" in missing.get_data(as_text=True)

    answer = client.post(
        "/subscribe", json={"email": "not an address"}, headers={"Accept-Language": "fr"}
    )
    assert answer.status_code == 400
    assert answer.json["error"] == "Cette adresse e-mail n’est pas valide."


def test_the_admin_stays_english(admin_client):
    page = admin_client.get("/admin/", headers={"Accept-Language": "de"})
    assert '<html lang="en">' in page.get_data(as_text=True)
    assert "Content-Language" not in page.headers and 'class="languages"' not in page.text


def test_the_json_signup_stores_the_language_it_names(app, client):
    make_list(app, "news")
    answer = client.post("/subscribe", json={"email": "eva@example.es", "language": "es-MX"})
    assert answer.json["message"].startswith("¡Gracias! Revise su bandeja de entrada")
    assert subscriber(app, "eva@example.es").language == "es"
    wait_idle(app)
    [mail] = outbox_messages(app)
    assert mail["Subject"] == "Confirme su suscripción a Newsletter"
    assert mail["Content-Language"] == "es"


def test_the_api_stores_and_returns_the_language(app, client):
    make_list(app, "weekly")
    owner = bearer(app, Role.OWNER)
    body = {"email": "jean@example.fr", "lists": ["weekly"], "status": "pending"}
    answer = client.post("/api/v1/subscribers", json={**body, "language": "fr"}, headers=owner)
    assert answer.status_code == 201 and answer.json["language"] == "fr"
    wait_idle(app)
    assert outbox_messages(app)[0]["Subject"] == "Veuillez confirmer votre abonnement à Newsletter"

    path = f"/api/v1/subscribers/{answer.json['id']}"
    assert client.patch(path, json={"language": ""}, headers=owner).json["language"] is None
    refused = client.patch(path, json={"language": "tlh"}, headers=owner)
    assert refused.status_code == 422 and "One of en, de, es, fr" in refused.json["detail"]


def test_the_admin_shows_and_changes_the_language(app, admin_client):
    make_list(app, "news")
    admin_client.post("/subscribe", data={"email": "kai@example.de", "language": "de"})
    found = subscriber(app, "kai@example.de")
    page = admin_client.get(f"/admin/subscribers/{found.id}").get_data(as_text=True)
    assert "<dt>Language</dt><dd>Deutsch (de)</dd>" in page
    assert '<option value="de" selected>Deutsch (de)</option>' in page

    post(admin_client, f"/admin/subscribers/{found.id}/language", {"language": "fr"})
    assert subscriber(app, "kai@example.de").language == "fr"
    post(admin_client, f"/admin/subscribers/{found.id}/language", {"language": ""})
    assert subscriber(app, "kai@example.de").language is None
