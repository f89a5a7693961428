"""What "done" means for images hosted here: an issue with an uploaded image, sent through a
real SMTP server, makes the reader's mail program load nothing from another host; and the
mail layout owners set (logo, accent colour, footer, site name) is in the mail they get."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

from helpers.admin import PASSWORD, csrf_token, login
from helpers.images import image_bytes, upload
from helpers.outbox import outbox_messages, wait_idle
from helpers.send import add_subscribers, make_issue, make_list
from helpers.subscribe import make_list as make_public_list

from newsletter.accounts import service as accounts
from newsletter.delivery import service as delivery
from newsletter.extensions import db
from newsletter.issues import preview
from newsletter.models import Issue

AUTHOR_LINK = "https://example.org/story?id=7"
_CSS_URL = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])([^'")]+)""")


class _Urls(HTMLParser):
    """Every URL in a mail's HTML: what it loads (img src, CSS url()) and where it links."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[str] = []
        self.links: list[str] = []
        self.images: list[dict[str, str | None]] = []
        self._style = False

    def handle_starttag(self, tag, attrs):
        self._style = tag == "style"
        for name, value in attrs:
            if name == "href" and value:
                (self.loads if tag == "link" else self.links).append(value)
            elif name in {"src", "background", "srcset", "poster"} and value:
                self.loads.append(value)
            elif name == "style" and value:
                self.loads += _CSS_URL.findall(value)
        if tag == "img":
            self.images.append(dict(attrs))

    def handle_data(self, data):
        if self._style:
            self.loads += _CSS_URL.findall(data)


def _owner(app):
    with app.app_context():
        accounts.set_admin("owner@example.org", PASSWORD)
    client = app.test_client()
    assert login(client, "owner@example.org").status_code == 302
    return client


def _save_layout(client, **values):
    token = csrf_token(client.get("/admin/settings/layout").get_data(as_text=True))
    return client.post("/admin/settings/layout", data={"csrf_token": token, "go": "save", **values})


def test_an_issue_with_an_uploaded_image_loads_nothing_from_another_host(make_app, smtp_server):
    app = make_app(SMTP_URL=smtp_server.url, BASE_URL="https://news.example.org")
    client = _owner(app)
    photo = upload(client, image_bytes("JPEG", (1600, 800)), "harbour.jpg").get_json()
    logo = upload(client, image_bytes("PNG", (400, 100)), "logo.png").get_json()
    assert photo["url"].startswith("https://news.example.org/media/")
    saved = _save_layout(
        client,
        site_name="Harbour News",
        accent="#7b2d8e",
        footer="Written on the quay.\nPrinted nowhere.",
        logo=logo["name"],
    )
    assert saved.status_code == 302
    body = (
        "Hello {{ subscriber.name }},\n\n"
        f"![The harbour at dawn]({photo['url']})\n\n"
        f"Read [the whole story]({AUTHOR_LINK})."
    )
    with app.app_context():
        weekly = make_list()
        add_subscribers(weekly, 2)
        issue_id = make_issue([weekly], body=body)
        assert preview.remote_hosts(db.session.get(Issue, issue_id)) == []  # no warning
        delivery.start_sending(issue_id)
    wait_idle(app)
    mails = smtp_server.wait_for(2)

    for mail in mails:
        html = mail.part("html")
        urls = _Urls()
        urls.feed(html)
        assert sorted(urls.loads) == sorted([photo["url"], logo["url"]])
        foreign = [u for u in urls.links if urlsplit(u).hostname != "news.example.org"]
        assert foreign == [AUTHOR_LINK]  # only the link the author wrote
        shown = {img["src"]: img for img in urls.images}
        assert shown[photo["url"]]["alt"] == "The harbour at dawn"
        assert (shown[photo["url"]]["width"], shown[photo["url"]]["height"]) == ("552", "276")
        assert shown[logo["url"]]["alt"] == "Harbour News"
        assert (shown[logo["url"]]["width"], shown[logo["url"]]["height"]) == ("200", "50")
        # The layout owners saved: accent, footer text, site name.
        assert "#7b2d8e" in html
        assert "Written on the quay." in html and "Printed nowhere." in html
        assert "subscribed to Harbour News" in html
        # Readable everywhere: 600 px wide at most, in Outlook too (which ignores max-width).
        assert "max-width: 600px" in html and '<table role="presentation" width="600"' in html
    # The image the mails show is there to load, from our own host.
    served = app.test_client().get(urlsplit(photo["url"]).path)
    assert served.status_code == 200 and served.headers["Content-Type"] == "image/jpeg"


def test_an_accent_colour_hard_to_read_is_refused_and_a_saved_layout_frames_system_mails(app):
    client = _owner(app)

    refused = _save_layout(client, site_name="Pale", accent="#ffcc00", footer="", logo="")

    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert "#ffcc00 on white has a contrast of 1.5:1" in page
    assert "at least 4.5:1" in page
    kept = client.get("/admin/settings/layout").get_data(as_text=True)
    assert 'value="#0a58ca"' in kept  # nothing saved: still the default
    saved = _save_layout(client, site_name="Dark enough", accent="#1a5c2e", footer="By the sea")
    assert saved.status_code == 302

    # System mails are in the layout too: the confirmation a new reader gets.
    make_public_list(app)
    client.post("/subscribe", data={"email": "reader@example.org", "lists": "news"})
    wait_idle(app)
    [confirmation] = outbox_messages(app)
    html = confirmation.get_body(("html",)).get_content()
    assert "#1a5c2e" in html and "By the sea" in html and "Dark enough" in html


def test_the_layout_preview_shows_the_values_being_edited_without_saving_them(app):
    client = _owner(app)

    frame = client.get(
        "/admin/settings/layout/preview.html?site_name=Tried+Out&accent=%23004d40&footer=Greetings+from+the+quay"
    )

    html = frame.get_data(as_text=True)
    assert (
        "#004d40" in html
        and "subscribed to Tried Out" in html
        and "Greetings from the quay" in html
    )
    policy = frame.headers["Content-Security-Policy"]
    assert "sandbox" in policy and "img-src 'self' http://localhost data:;" in policy
    assert "Tried Out" not in client.get("/admin/settings/layout").get_data(as_text=True)
    # A value still being typed that would be refused: that one shows as saved, the rest as typed.
    half = client.get("/admin/settings/layout/preview.html?accent=%23ffcc00&footer=Typed").text
    assert "#ffcc00" not in half and "#0a58ca" in half and "Typed" in half
