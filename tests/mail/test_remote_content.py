"""A body that loads anything from another host (a remote image, say) reaches every subscriber's
mail program, which then tells that host who read when. The admin's preview blocks it, so
compose, the preview and the send page say so, and the preview shows it on request."""

from __future__ import annotations

import re

import pytest
from helpers.admin import csrf_token, post

from newsletter.lists import service as list_service
from newsletter.mail.remote import remote_hosts

REMOTE_BODY = "Our chart:\n\n![chart](https://images.example.net/chart.png)\n"


@pytest.mark.parametrize(
    "html",
    [
        '<img src="https://images.example.net/a.png">',
        '<img src="x.png" srcset="a.png 1x, https://images.example.net/b.png 2x">',
        '<td style="background: url(&quot;//images.example.net/bg.png&quot;)">',
        "<style>@import 'https://images.example.net/s.css';</style>",
        "<style>p { background-image: url(https://images.example.net/p.png) }</style>",
        '<link rel="stylesheet" href="https://images.example.net/s.css">',
        '<img src="&#104;ttps://images.example.net/a.png">',
        '<table background="https://images.example.net/t.png">',
    ],
)
def test_every_way_of_loading_from_another_host_is_found(html):
    assert remote_hosts(html, own_host="news.example.org") == ["images.example.net"]


def test_links_inline_data_and_our_own_host_load_nothing_remote():
    html = (
        '<a href="https://elsewhere.example/">read on</a><img src="data:image/png;base64,AA==">'
        '<img src="https://NEWS.example.org/media/a.png"><img src="cid:logo"><img src="/rel.png">'
    )
    assert remote_hosts(html, own_host="news.example.org") == []


def saved_issue(app, admin_client, body: str) -> int:
    with app.app_context():
        list_id = list_service.create("news", "News", is_public=True).id
    data = {"subject": "Chart", "body_md": body, "lists": list_id, "go": "save"}
    location = post(admin_client, "/admin/issues/new", data).headers["Location"]
    return int(re.search(r"/issues/(\d+)/", location).group(1))


def warning(page: str) -> str | None:
    """The remote-content warning's text, or None if the page does not show it."""
    found = re.search(r'<p id="remote-warning"([^>]*)>(.*?)</p>', page, re.S)
    if found is None or "hidden" in found.group(1):
        return None
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(2)).split())


def test_compose_preview_and_send_page_warn_without_javascript(app, admin_client):
    issue_id = saved_issue(app, admin_client, REMOTE_BODY)
    for url in (f"/admin/issues/{issue_id}/edit", f"/admin/issues/{issue_id}/preview",
                f"/admin/issues/{issue_id}"):  # fmt: skip
        text = warning(admin_client.get(url).get_data(as_text=True))
        assert text and "loads content from another host: images.example.net" in text, url


def test_the_preview_hides_remote_content_until_asked_then_shows_it_as_subscribers_see_it(
    app, admin_client
):
    issue_id = saved_issue(app, admin_client, REMOTE_BODY)
    page = admin_client.get(f"/admin/issues/{issue_id}/preview").get_data(as_text=True)
    assert f'href="/admin/issues/{issue_id}/preview?remote=1"' in page
    hidden = admin_client.get(f"/admin/issues/{issue_id}/preview.html")
    assert 'src="https://images.example.net/chart.png"' in hidden.get_data(as_text=True)
    assert "https:" not in hidden.headers["Content-Security-Policy"]  # blocked by default
    assert hidden.headers["Referrer-Policy"] == "no-referrer"

    shown_page = admin_client.get(f"/admin/issues/{issue_id}/preview?remote=1")
    assert f'src="/admin/issues/{issue_id}/preview.html?remote=1"' in shown_page.get_data(
        as_text=True
    )
    shown = admin_client.get(f"/admin/issues/{issue_id}/preview.html?remote=1")
    policy = shown.headers["Content-Security-Policy"]
    assert "img-src 'self' data: http: https:" in policy
    assert "sandbox" in policy and "script-src" not in policy


def test_the_live_preview_names_the_hosts(app, admin_client):
    with app.app_context():
        list_id = list_service.create("news", "News", is_public=True).id
    token = csrf_token(admin_client.get("/admin/issues/new").get_data(as_text=True))
    data = {"subject": "Chart", "body_md": REMOTE_BODY, "lists": list_id}
    answer = admin_client.post(
        "/admin/issues/autosave", data=data, headers={"X-CSRFToken": token}
    ).get_json()
    assert answer["remote_hosts"] == ["images.example.net"]
    assert answer["remote_preview_url"].endswith("/preview?remote=1")
    data["body_md"] = "No pictures today."
    again = admin_client.post(answer["autosave_url"], data=data, headers={"X-CSRFToken": token})
    assert again.get_json()["remote_hosts"] == []


def test_no_warning_for_a_body_that_loads_only_from_our_own_host(app, admin_client):
    issue_id = saved_issue(app, admin_client, "![logo](http://localhost/media/logo.png)")
    for url in (f"/admin/issues/{issue_id}/edit", f"/admin/issues/{issue_id}"):
        assert warning(admin_client.get(url).get_data(as_text=True)) is None, url
