"""Mails carry no tracking: nothing remote to load, no rewritten links; the only links to
other hosts are the ones the admin wrote into the issue."""

from html.parser import HTMLParser
from urllib.parse import urlsplit

from helpers.outbox import outbox_messages, wait_idle
from helpers.send import add_subscribers, make_issue, make_list
from helpers.subscribe import csrf_from, link_path
from helpers.subscribe import make_list as make_public_list

from newsletter.delivery import service


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.sources: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name == "href" and value:
                self.hrefs.append(value)
            elif name in {"src", "background", "srcset"} and value:
                self.sources.append(value)


def _html_links(message):
    parser = _Links()
    parser.feed(message.get_body(("html",)).get_content())
    return parser


def test_an_issue_mail_loads_nothing_and_links_only_home_and_where_the_admin_pointed(app):
    body = "Hello,\n\nRead [the full story](https://example.org/story?id=7) on our partner site."
    with app.app_context():
        weekly = make_list()
        add_subscribers(weekly, 1)
        service.start_sending(make_issue([weekly], body=body))
    wait_idle(app)

    [mail] = outbox_messages(app)
    links = _html_links(mail)
    assert links.sources == []  # no image, pixel or remote stylesheet
    foreign = [h for h in links.hrefs if urlsplit(h).hostname not in {None, "localhost"}]
    assert foreign == ["https://example.org/story?id=7"]  # as written: no redirect, no tag
    assert "https://example.org/story?id=7" in mail.get_body(("plain",)).get_content()


def test_confirmation_and_welcome_mails_link_only_to_our_own_site(app, client):
    make_public_list(app)
    client.post("/subscribe", data={"email": "reader@example.org", "lists": "news"})
    wait_idle(app)
    [confirm] = outbox_messages(app)
    path = link_path(confirm.get_body(("plain",)).get_content(), "confirm")
    client.post(path, data={"csrf_token": csrf_from(client.get(path).data)})
    wait_idle(app)

    for mail in outbox_messages(app):
        links = _html_links(mail)
        assert links.sources == []
        assert {urlsplit(h).hostname for h in links.hrefs} <= {"localhost", None}, links.hrefs


def test_a_confirmation_mail_carries_no_text_the_address_owner_did_not_write(make_app, smtp_server):
    # Anyone can type a stranger's address and any "name" into the form: that name must not
    # reach the stranger's inbox under our From, neither in the To header nor in the body.
    app = make_app(SMTP_URL=smtp_server.url)
    make_public_list(app)
    client = app.test_client()
    client.post(
        "/subscribe",
        data={
            "email": "victim@example.net",
            "name": "You won $5000! Claim at https://evil.example",
            "lists": "news",
        },
    )
    [mail] = smtp_server.wait_for(1)

    assert mail.message["To"].addresses[0].display_name == ""
    assert mail.message["To"].addresses[0].addr_spec == "victim@example.net"
    for subtype in ("plain", "html"):
        body = mail.part(subtype)
        assert "Hello," in body  # greeted, neutrally
        assert "evil.example" not in body and "5000" not in body
    assert b"evil" not in mail.data and b"5000" not in mail.data

    # The owner confirms; the welcome that follows carries the stranger's text no more than
    # the confirmation did (the name stays editable on the preferences page it links to).
    path = link_path(mail.part("plain"), "confirm")
    client.post(path, data={"csrf_token": csrf_from(client.get(path).data)})
    wait_idle(app)
    [_, welcome] = smtp_server.wait_for(2)
    assert welcome.message["To"].addresses[0].display_name == ""
    assert "Hello," in welcome.part("plain")
    assert b"evil" not in welcome.data and b"5000" not in welcome.data
