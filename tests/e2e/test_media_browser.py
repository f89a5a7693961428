"""Images in Debian's Chromium: compose's button uploads a picture, its Markdown lands in the
body, the live preview shows it from our own /media; the mail at 320 px and in dark mode.
Screenshots go to test-artifacts/."""

from __future__ import annotations

import pytest
from helpers.admin import make_admin
from helpers.browser import Watch
from helpers.images import image_bytes
from helpers.send import make_list
from helpers.site import log_in
from sqlalchemy import select

from newsletter.extensions import db
from newsletter.issues import preview
from newsletter.models import Issue

expect = pytest.importorskip("playwright.sync_api").expect


@pytest.mark.browser
def test_compose_uploads_an_image_and_the_mail_shows_it_on_a_phone_in_dark_mode(
    app, served, browser, artifacts_dir, tmp_path
):
    app.config["BASE_URL"] = served  # image URLs in mails name the host the browser reaches
    make_admin(app)
    with app.app_context():
        make_list()
    picture = tmp_path / "harbour at dawn.jpg"
    picture.write_bytes(image_bytes("JPEG", (1600, 900)))
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    watch = Watch(page, served)
    images = []
    page.on("response", lambda r: images.append(r) if "/media/" in r.url else None)
    log_in(page, served)

    page.goto(served + "/admin/issues/new")
    page.get_by_label("Subject", exact=True).fill("Pictures from the harbour")
    page.get_by_label("Body (Markdown)").fill("Look at this:\n")
    page.get_by_label("Weekly News").check()
    page.get_by_label("Add an image").set_input_files(str(picture))
    page.get_by_text("Image added.").wait_for(timeout=15_000)

    body = page.get_by_label("Body (Markdown)").input_value()
    assert body.startswith(f"Look at this:\n\n![harbour at dawn]({served}/media/")
    page.frame_locator("[data-preview-frame]").locator("img").wait_for(timeout=15_000)
    for _ in range(100):  # the frame's request for the image, once the frame has loaded
        served_images = [r for r in images if r.request.resource_type == "image"]
        if served_images:
            break
        page.wait_for_timeout(100)
    assert served_images and all(r.status == 200 for r in served_images)
    assert all(r.url.startswith(served + "/media/") for r in served_images)
    page.screenshot(path=artifacts_dir / "media-compose.png", full_page=True)

    # A picture dropped onto the body is uploaded too, its Markdown added after the first.
    dropped = page.evaluate_handle(
        """bytes => {
            const files = new DataTransfer();
            files.items.add(new File([new Uint8Array(bytes)], "boats.png", {type: "image/png"}));
            return files;
        }""",
        list(image_bytes("PNG", (300, 200))),
    )
    page.dispatch_event("textarea[name=body_md]", "drop", {"dataTransfer": dropped})
    page.wait_for_function(
        "() => document.querySelector('textarea[name=body_md]').value.includes('![boats]')",
        timeout=15_000,
    )
    body = page.get_by_label("Body (Markdown)").input_value()
    assert body.count(f"]({served}/media/") == 2 and "![boats]" in body, body
    assert watch.foreign == [], watch.foreign
    assert watch.problems == [], watch.problems

    with app.app_context():
        issue = db.session.scalar(select(Issue))
        html = preview.render(issue, None).html
    for scheme in ("light", "dark"):
        phone = browser.new_page(viewport={"width": 320, "height": 700}, color_scheme=scheme)
        phone_watch = Watch(phone, served)
        phone.set_content(html, wait_until="load")
        shown = phone.locator("img").evaluate(
            "i => [i.naturalWidth, i.getBoundingClientRect().width]"
        )
        assert shown[0] == 1200 and shown[1] <= 320, shown  # loaded, and fits the screen
        assert phone.evaluate("document.documentElement.scrollWidth") <= 320
        background = phone.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == ("rgb(17, 20, 24)" if scheme == "dark" else "rgb(244, 244, 245)")
        phone.screenshot(path=artifacts_dir / f"media-mail-320-{scheme}.png", full_page=True)
        assert phone_watch.foreign == [] and phone_watch.problems == []
        phone.close()


@pytest.mark.browser
def test_without_javascript_the_upload_opens_the_markdown_to_copy(app, served, browser, tmp_path):
    make_admin(app)
    picture = tmp_path / "chart.png"
    picture.write_bytes(image_bytes("PNG", (300, 200)))
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    log_in(page, served)
    page.goto(served + "/admin/issues/new")
    page.get_by_label("Body (Markdown)").fill("Kept while the image uploads")
    page.get_by_label("Add an image").set_input_files(str(picture))

    with context.expect_page() as opened:
        page.get_by_role("button", name="Upload image").click()
    result = opened.value
    result.wait_for_load_state()

    markdown = result.get_by_label("Markdown to copy").input_value()
    assert markdown.startswith("![](http://localhost/media/") and markdown.endswith("-300x200.png)")
    assert page.get_by_label("Body (Markdown)").input_value() == "Kept while the image uploads"
    context.close()


@pytest.mark.browser
def test_the_layout_preview_follows_what_the_owner_types(app, served, browser, artifacts_dir):
    make_admin(app)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    watch = Watch(page, served)
    log_in(page, served)
    page.goto(served + "/admin/settings/layout")

    page.get_by_label("Site name").fill("Harbour News")
    page.get_by_label("Footer text").fill("Written on the quay.")
    page.locator("#accent").fill("#ffcc00")

    frame = page.frame_locator("[data-layout-frame]")
    frame.get_by_text("Written on the quay.").wait_for(timeout=10_000)
    expect(frame.get_by_text("subscribed to Harbour News")).to_be_visible()
    assert "1.5:1 (at least 4.5:1 is needed" in page.locator("#layout-status").inner_text()
    page.screenshot(path=artifacts_dir / "media-layout.png", full_page=True)
    assert watch.foreign == [] and watch.problems == []
