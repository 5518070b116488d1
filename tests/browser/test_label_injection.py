"""A run whose class labels and name carry plotly markup that fetches a URL: every page opened
in Chromium with all non-loopback requests routed and recorded, and none attempted; the class
labels are visible on the Documents page as their literal text (escaped, not rendered)."""
from __future__ import annotations

import pytest

from tests.test_dashboard_label_injection import FETCH, LINK, PAGES, hostile_run

from .conftest import screenshot, serve, stop, wait_idle
from .test_reliability import Guarded

pytestmark = pytest.mark.browser
# every plotly chart on the page has laid out its figure and drawn its svg (legend included)
PLOTTED = """() => Array.from(document.querySelectorAll('.js-plotly-plot'))
  .every(gd => gd._fullLayout && gd.querySelector('.main-svg .legend, .main-svg .xy'))"""


def test_hostile_labels_make_no_request_off_the_machine(browser, tmp_path):
    root = tmp_path / "runs"
    run_id = hostile_run(root)
    proc, url = serve(root, tmp_path / "streamlit.log", warm_up=False)
    guarded = Guarded(browser)
    shown: dict[str, str] = {}
    try:
        page = guarded.page()
        for name in ("data", *PAGES):
            page.goto(f"{url}/{name}?run={run_id}")
            wait_idle(page)
            page.wait_for_function(PLOTTED)  # plotly draws after the page's script ends
            if name in ("evolution", "documents"):
                page.locator(".js-plotly-plot").first.wait_for()
                screenshot(page, f"label-injection-{name}")
            shown[name] = page.locator("body").inner_text() + "\n".join(
                page.locator(".js-plotly-plot text").all_text_contents())
    finally:
        outside = list(guarded.outside)
        guarded.close()
        stop(proc)
    assert outside == [], f"pages tried to reach outside hosts: {outside}"
    # the labels did render, as the text they are: no request is no proof if nothing is drawn
    for label in (FETCH, LINK):
        assert label in shown["documents"], f"class label not shown as text: {label}"
