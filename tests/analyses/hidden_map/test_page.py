"""The hidden map in headless Chromium, from file:// with the outside network blocked: moving the layer slider
(arrow keys, as a reader does) plots that layer's coordinates, sets that layer's axes and readout; no console
error, no failed request. Screenshots at 1300 px and on a phone's 390 px go to the test's folder."""

from __future__ import annotations

import json
import os

import pytest

from lmreport.build import build
from tests import browser
from tests.conftest import opts, write_lesson

pytestmark = [
    pytest.mark.browser,
    pytest.mark.embedded,
    pytest.mark.skipif(
        not browser.available() and not os.environ.get("LMREPORT_REQUIRE_BROWSER"),
        reason="needs Debian's chromium and chromium-driver (CI sets LMREPORT_REQUIRE_BROWSER=1: no skipping there)",
    ),
]

LESSON = """# Map

```lmreport
analysis: hidden_map
examples:
  keys: ["The keys to the cabinet", "The key is here", "Alice gave a book"]
  numbers: ["1, 1, 2, 3", "5, 8, 13 and", "2, 3, 5"]
layer: 2
```
"""

# The plotted columns and the axes' ranges of the figure's Bokeh models, found by the names the view gives them.
PLOTTED = """
const find = (name) => Bokeh.documents.map((d) => d.get_model_by_name(name)).find((m) => m);
const source = find('fig-1-points');
if (!source) { return null; }
const x = find('fig-1-x'), y = find('fig-1-y');
return {x: Array.from(source.data.x), y: Array.from(source.data.y), ranges: [x.start, x.end, y.start, y.end],
        readout: document.querySelector('.hidden-map-readout').textContent};
"""


# How far the widest word written beside a point reaches past the plot's frame, in pixels (<= 0: all fit), measured
# with the frame BokehJS laid out and the words' own font; with the x axis ending at arguments[0] if given, else
# where it ends.
OVERFLOW = """
const find = (name) => Bokeh.documents.map((d) => d.get_model_by_name(name)).find((m) => m);
const frame = Bokeh.index.find_one(find('fig-1-plot')).frame.bbox;
const x = find('fig-1-x'), source = find('fig-1-points');
const end = arguments[0] == null ? x.end : arguments[0];
const measure = document.createElement('canvas').getContext('2d');
measure.font = '11px helvetica';
return Math.max(...Array.from(source.data.x, (v, i) =>
  (v - x.start) / (end - x.start) * frame.width + 6 + measure.measureText(source.data.written[i]).width - frame.width));
"""


def wait_for(driver, script: str):
    return browser.wait_for(driver, script, timeout=30.0)


@pytest.fixture(scope="module")
def site(tmp_path_factory, tiny_models):
    root = tmp_path_factory.mktemp("hidden-map")
    write_lesson(root / "lessons", "01-a.md", LESSON)
    build(opts(root, model=str(tiny_models["gpt2"])))
    return root / "site"


def test_the_slider_moves_the_points_through_the_layers(site, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    figure = json.loads((site / "data" / "01-a-1-hidden_map.json").read_text())["data"]
    with browser.chromium(width=1300, height=1000) as driver:
        browser.requests_and_failures(driver)
        driver.get((site / "01-a.html").as_uri())
        first = wait_for(driver, PLOTTED)
        sent = json.loads(driver.find_element(By.ID, "fig-1-map").get_attribute("textContent"))
        assert [first["x"], first["y"]] == _columns(figure["coords"][2])
        assert _fitted(first["ranges"], sent["ranges"][2]) and first["readout"] == sent["captions"][2]
        slider = driver.find_element(By.ID, "fig-1-layer")
        slider.click()
        slider.send_keys(Keys.HOME)  # to the embeddings, then up one layer at a time
        for layer in range(len(figure["coords"])):
            if layer:
                slider.send_keys(Keys.ARROW_RIGHT)
            now = wait_for(driver, f"const p = (() => {{{PLOTTED}}})(); "
                                   f"return p && p.readout === {json.dumps(sent['captions'][layer])} && p;")
            assert [now["x"], now["y"]] == _columns(figure["coords"][layer]), layer
            assert _fitted(now["ranges"], sent["ranges"][layer]), layer
            assert driver.execute_script(OVERFLOW, None) <= 0.5, layer
        driver.save_screenshot(str(tmp_path / "hidden-map-1300.png"))
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True})
        driver.refresh()
        phone = wait_for(driver, PLOTTED)
        width = driver.execute_script("return document.documentElement.scrollWidth")
        assert width <= 390  # nothing pushes the phone's page sideways
        # The words fit on the phone too, the axis running further right than the layer's range where they need it
        # (the chart is half as wide: the layer's own range would clip them by `clipped` pixels).
        clipped = driver.execute_script(OVERFLOW, sent["ranges"][2][1])
        wait_for(driver, f"return (() => {{{OVERFLOW}}})() <= 0.5")
        phone = driver.execute_script(PLOTTED)
        assert _fitted(phone["ranges"], sent["ranges"][2])
        assert (phone["ranges"][1] > sent["ranges"][2][1]) == (clipped > 0.5), clipped
        # Narrower still (the chart let go below its least width and its box made 160 px wide): the layer's range
        # clips the words, and the page, told of the new width, runs the axis further until they fit.
        driver.execute_script("Bokeh.documents.map((d) => d.get_model_by_name('fig-1-plot')).find((m) => m)"
                              ".min_width = 100; document.querySelector('.hidden-map').style.width = '160px'")
        wait_for(driver, "const f = Bokeh.documents.map((d) => d.get_model_by_name('fig-1-plot')).find((m) => m); "
                         "return Bokeh.index.find_one(f).frame.bbox.width < 110")
        assert driver.execute_script(OVERFLOW, sent["ranges"][2][1]) > 0.5
        wait_for(driver, f"return (() => {{{OVERFLOW}}})() <= 0.5")
        narrow = driver.execute_script(PLOTTED)
        assert _fitted(narrow["ranges"], sent["ranges"][2]) and narrow["ranges"][1] > phone["ranges"][1]
        driver.save_screenshot(str(tmp_path / "hidden-map-390.png"))
        _, failed = browser.requests_and_failures(driver)
        assert failed == [] and browser.console_errors(driver) == []


def _fitted(drawn: list[float], sent: list[float]) -> bool:
    """The layer's ranges, the x axis ending where the page fitted the words: at the layer's own end or further."""
    return drawn[0] == sent[0] and drawn[1] >= sent[1] and drawn[2:] == sent[2:]


def _columns(coords: list[list[float]]) -> list[list[float]]:
    return [[xy[0] for xy in coords], [xy[1] for xy in coords]]
