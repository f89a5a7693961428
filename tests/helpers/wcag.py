"""The WCAG 2.1 checks axe-core cannot make, run in the browser on the page as shown: what
sticks out sideways (1.4.10 reflow), text cut off by its box or sticking out once text is
doubled (1.4.4 resize) or spaced out (1.4.12 text spacing), a keyboard walk that finds
focused elements with no ring of 3:1 (2.4.7, 1.4.11), errors not tied to their fields (3.3.1),
names that leave out the visible label (2.5.3) and motion a reader asked to stop. Each
returns one line per problem, like ``helpers.axe``, so a failing test names the element."""

from __future__ import annotations

from urllib.parse import urlsplit

# The WCAG text-spacing bookmarklet's rules (Understanding 1.4.12): what a reader's own
# style sheet may set.
TEXT_SPACING_CSS = (
    "* { line-height: 1.5 !important; letter-spacing: .12em !important;"
    " word-spacing: .16em !important; } p { margin-bottom: 2em !important; }"
)

# A short description of an element for a failing test: tag, id or class, and its text.
_DESCRIBE = """
function describe(el) {
  let name = el.tagName.toLowerCase();
  if (el.id) name += "#" + el.id;
  else if (el.classList.length) name += "." + [...el.classList].join(".");
  const text = (el.innerText || el.value || el.getAttribute("aria-label") || "").trim();
  return name + (text ? ' "' + text.slice(0, 40).replace(/\\s+/g, " ") + '"' : "");
}
"""

# Elements wider than the window, outside any box that scrolls on its own (a wide table may,
# by the data-table exception of 1.4.10); only the outermost of each such nest is named.
_STICKING_OUT = (
    "() => {"
    + _DESCRIBE
    + """
  const width = document.documentElement.clientWidth;
  const out = new Set();
  const found = [];
  for (const el of document.body.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.right <= width + 1) continue;
    let contained = false;
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (out.has(p)) { contained = true; break; }
      const overflow = getComputedStyle(p).overflowX;
      if (overflow !== "visible" && p.getBoundingClientRect().right <= width + 1) {
        contained = true; break;
      }
    }
    out.add(el);
    if (!contained) found.push(describe(el) + " ends at " + Math.round(box.right) + " px");
  }
  return found;
}"""
)

# Visible elements whose text is cut off by their own box (overflow hidden or clip). Form
# fields scroll their own text and visually-hidden text is clipped on purpose.
_CLIPPED = (
    "() => {"
    + _DESCRIBE
    + """
  const found = [];
  for (const el of document.body.querySelectorAll("*")) {
    if (el.matches("input, textarea, select, iframe, .visually-hidden, .visually-hidden *,"
                   + " .hp-field, .hp-field *")) continue;
    if (!el.innerText || !el.innerText.trim() || el.offsetWidth < 2) continue;
    const style = getComputedStyle(el);
    const clipsX = style.overflowX === "hidden" || style.overflowX === "clip";
    const clipsY = style.overflowY === "hidden" || style.overflowY === "clip";
    if ((clipsX && el.scrollWidth > el.clientWidth + 1) ||
        (clipsY && el.scrollHeight > el.clientHeight + 1)) {
      found.push(describe(el) + " is cut off");
    }
  }
  return found;
}"""
)

# The focused element's ring: an outline or box shadow (Pico draws its rings as shadows) in a
# colour with at least 3:1 contrast against the page once blended onto it (WCAG 1.4.11 asks
# that of what shows a state; a half-transparent pale ring is hardly seen).
_FOCUS_RING = (
    "() => {"
    + _DESCRIBE
    + """
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  // A mail preview's frame: the focus is in its sandboxed document, which this page may not
  // look into (the mail's own links show the browser's ring there).
  if (el.tagName === "IFRAME") return {name: "iframe", contrast: 21, shown: true, key: -1};
  const rgba = c => (c.match(/[\\d.]+/g) || []).map(Number);
  const page = [document.body, document.documentElement]
    .map(e => rgba(getComputedStyle(e).backgroundColor))
    .find(c => c.length === 3 || c[3] > 0) || [255, 255, 255];
  const lum = c => {
    const [r, g, b] = c.slice(0, 3).map(v => v / 255)
      .map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const contrast = c => {
    const a = c.length > 3 ? c[3] : 1;
    const blended = [0, 1, 2].map(i => a * c[i] + (1 - a) * page[i]);
    const [hi, lo] = [lum(blended), lum(page)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  };
  const style = getComputedStyle(el);
  const rings = [];
  if (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0) {
    rings.push(style.outlineColor);
  }
  for (const shadow of style.boxShadow === "none" ? [] : style.boxShadow.split(/,(?![^(]*\\))/)) {
    const sizes = (shadow.replace(/rgba?\\([^)]*\\)/, "").match(/[\\d.]+px/g) || [])
      .map(parseFloat);
    if (sizes.some(v => v > 0)) rings.push(shadow.match(/rgba?\\([^)]*\\)/)[0]);
  }
  const best = Math.max(0, ...rings.map(c => contrast(rgba(c))));
  const box = el.getBoundingClientRect();
  return {name: describe(el), contrast: Math.round(best * 10) / 10,
          shown: box.width > 1 && box.height > 1,
          key: [...document.querySelectorAll("*")].indexOf(el)};
}"""
)


def sticking_out(page) -> list[str]:
    """What makes the page scroll sideways (WCAG 1.4.10), by element."""
    path = urlsplit(page.url).path
    return [f"{path}: {line}" for line in page.evaluate(_STICKING_OUT)]


def cut_off(page) -> list[str]:
    """Text cut off by the box that holds it."""
    path = urlsplit(page.url).path
    return [f"{path}: {line}" for line in page.evaluate(_CLIPPED)]


def restyled_problems(page, css: str) -> list[str]:
    """What sticks out or is cut off once a reader's style sheet ``css`` applies (the text
    spacing one); the sheet stays until the page is left."""
    # A constructed style sheet, as a reader's own style sheet is not subject to the
    # page's Content-Security-Policy (a <style> tag would be).
    page.evaluate(
        "css => { const sheet = new CSSStyleSheet(); sheet.replaceSync(css);"
        " document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet]; }",
        css,
    )
    found = sticking_out(page) + cut_off(page)
    return [f"{line} (with {css[:30]}…)" for line in found]


def double_text_problems(page) -> list[str]:
    """What sticks out or is cut off with text alone at twice its size (WCAG 1.4.4), as a
    reader's browser setting makes it: the default font size doubled, which rem sizes and em
    media queries follow (a style sheet on ``html`` would not move the media queries)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Page.setFontSizes", {"fontSizes": {"standard": 32, "fixed": 26}})
    try:
        found = sticking_out(page) + cut_off(page)
    finally:
        cdp.send("Page.setFontSizes", {"fontSizes": {"standard": 16, "fixed": 13}})
        cdp.detach()
    return [f"{line} (text at 200 %)" for line in found]


def focus_without_ring(page, limit: int = 150) -> tuple[list[str], list[str]]:
    """Tab through the page from its top (WCAG 2.4.7): returns the names of the elements
    focused, in order, and a problem line for each with no focus ring of 3:1 against the
    page or focused while not shown."""
    path = urlsplit(page.url).path
    page.evaluate("document.activeElement && document.activeElement.blur()")
    order, problems, first = [], [], None
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(_FOCUS_RING)
        if focused is None or focused["key"] == first:
            break  # back at the top: every element has had its turn
        first = focused["key"] if first is None else first
        order.append(focused["name"])
        if not focused["shown"]:
            problems.append(f"{path}: {focused['name']} takes the focus but is not shown")
        elif focused["contrast"] < 3:
            problems.append(
                f"{path}: {focused['name']} shows no focus ring of 3:1 ({focused['contrast']}:1)"
            )
    return order, problems


# WCAG 3.3.1 and 3.3.3: a field marked invalid names its message in aria-describedby, and
# every message shown is read with its field (or announced at once, as an alert).
_UNLINKED_ERRORS = (
    "() => {"
    + _DESCRIBE
    + """
  const found = [];
  const described = new Set();
  for (const el of document.querySelectorAll("[aria-describedby]")) {
    for (const id of el.getAttribute("aria-describedby").split(/\\s+/)) {
      const target = document.getElementById(id);
      if (!target) found.push(describe(el) + " is described by #" + id + ", which is missing");
      else described.add(target);
    }
  }
  for (const el of document.querySelectorAll("[aria-invalid=true]")) {
    const ids = (el.getAttribute("aria-describedby") || "").split(/\\s+/);
    const messages = ids.map(id => document.getElementById(id))
      .filter(t => t && t.matches(".field-error") && t.innerText.trim());
    if (!messages.length) found.push(describe(el) + " is invalid with no message tied to it");
  }
  for (const el of document.querySelectorAll(".field-error")) {
    if (el.hidden || !el.innerText.trim()) continue;
    if (!described.has(el) && !el.closest("[role=alert]")) {
      found.push(describe(el) + " belongs to no field");
    }
  }
  return found;
}"""
)

# WCAG 2.5.3: a control whose name is set apart from its text (aria-label) keeps that text
# in its name, so a speech user can say what they see.
_LABEL_NOT_IN_NAME = (
    "() => {"
    + _DESCRIBE
    + """
  const found = [];
  const named = "a[aria-label], button[aria-label], input[aria-label], select[aria-label]";
  for (const el of document.querySelectorAll(named)) {
    const label = el.labels && el.labels[0] ? el.labels[0].innerText : "";
    const shown = (el.innerText || label || "").trim().toLowerCase();
    const name = el.getAttribute("aria-label").toLowerCase();
    if (shown && !name.includes(shown)) found.push(describe(el));
  }
  return found;
}"""
)


def unlinked_errors(page) -> list[str]:
    """Error messages not tied to their field, and invalid fields with no message."""
    path = urlsplit(page.url).path
    return [f"{path}: {line}" for line in page.evaluate(_UNLINKED_ERRORS)]


def label_not_in_name(page) -> list[str]:
    """Controls whose accessible name leaves out the text they show."""
    path = urlsplit(page.url).path
    found = page.evaluate(_LABEL_NOT_IN_NAME)
    return [f"{path}: {line}'s name leaves out its text" for line in found]


def moving(page) -> list[str]:
    """Animations still running for a reader who asked for reduced motion (the context's
    ``reduced_motion="reduce"``): anything longer than Pico's 1 ms stand-in."""
    path = urlsplit(page.url).path
    running = page.evaluate(
        "() => document.getAnimations().filter(a => a.playState === 'running'"
        " && a.effect.getComputedTiming().duration > 1).map(a => a.animationName"
        " || a.transitionProperty || 'animation')"
    )
    return [f"{path}: {name} moves despite prefers-reduced-motion" for name in running]


def beyond_axe(page, screen: str) -> list[str]:
    """What axe cannot test, on the page as it is, then with the reader's own settings: on
    the phone (``screen`` "phone") reflow and text spacing, on the desktop focus rings and text
    at 200 %; on both, nothing cut off, errors tied to their fields, label in name, no motion
    (the context must ask for reduced motion)."""
    found = sticking_out(page) + cut_off(page)
    found += unlinked_errors(page) + label_not_in_name(page) + moving(page)
    if screen == "phone":
        return found + restyled_problems(page, TEXT_SPACING_CSS)
    return found + focus_without_ring(page)[1] + double_text_problems(page)
