"""Done means: a German visitor signs up on a German page, gets a German confirmation and
welcome mail over real SMTP, and their preferences page is German."""

from __future__ import annotations

import re

from helpers.subscribe import csrf_from, link_path, make_list, subscriber

GERMAN = {"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"}


def test_a_german_visitor_lives_in_german(make_app, smtp_server):
    app = make_app(SMTP_URL=smtp_server.url)
    make_list(app, "news", "Wochenpost")
    browser = app.test_client()

    page = browser.get("/", headers=GERMAN)
    assert page.headers["Content-Language"] == "de"
    assert {"Accept-Language", "Cookie"} <= set(page.vary)
    html = page.get_data(as_text=True)
    assert '<html lang="de">' in html
    assert "Newsletter abonnieren" in html and "E-Mail-Adresse" in html
    assert "Ihre Daten werden nicht weitergegeben. Wir hassen SPAM." in html
    assert "Set-Cookie" not in page.headers  # no ?lang: nothing to remember

    answer = browser.post(
        "/subscribe", data={"email": "anna@example.de", "lists": ["news"]}, headers=GERMAN
    )
    assert answer.status_code == 200 and answer.headers["Content-Language"] == "de"
    assert "Bitte sehen Sie in Ihr Postfach" in answer.get_data(as_text=True)
    assert subscriber(app, "anna@example.de").language == "de"

    confirmation = smtp_server.wait_for(1)[0]
    message = confirmation.message
    assert message["Subject"] == "Bitte bestätigen Sie Ihre Anmeldung bei Newsletter"
    assert message["Content-Language"] == "de"
    plain, html = confirmation.part("plain"), confirmation.part("html")
    assert '<html lang="de">' in html and "Anmeldung bestätigen" in html
    assert "Der Link gilt 7 Tage." in plain and "Wochenpost" in plain

    # Confirming from an English browser: the page follows the browser, the mail the reader.
    confirm = link_path(plain, "confirm")
    form = browser.get(confirm, headers={"Accept-Language": "en"})
    browser.post(confirm, data={"csrf_token": csrf_from(form.data)})
    welcome = smtp_server.wait_for(2)[1]
    assert welcome.message["Subject"] == "Willkommen bei Newsletter"
    assert welcome.message["Content-Language"] == "de"
    welcome_html = welcome.part("html")
    assert '<html lang="de">' in welcome_html and "Abbestellen" in welcome_html
    assert "Ihre Anmeldung bei Newsletter ist bestätigt: Wochenpost." in welcome.part("plain")

    preferences = browser.get(link_path(welcome.part("plain"), "preferences"), headers=GERMAN)
    text = preferences.get_data(as_text=True)
    assert preferences.headers["Content-Language"] == "de" and '<html lang="de">' in text
    assert "Ihre Einstellungen" in text and "Einstellungen speichern" in text
    assert re.search(r"Sie haben sich am \d{1,2}\. [A-ZÄÖÜ][a-zäöü]+ \d{4} angemeldet\.", text)
    export = browser.get(link_path(welcome.part("plain"), "preferences") + "/export")
    assert export.json["language"] == "de"  # what is stored about them says so too
    # They consented to the promise as they read it: in German.
    assert export.json["consent"][0]["text"].startswith("Tragen Sie sich in unsere Mailingliste")
