"""The hidden map in headless Chromium, from file:// with the outside network blocked: moving the layer slider
(arrow keys, as a reader does) plots that layer's coordinates, sets that layer's axes and readout; no console
error, no failed request. Screenshots at 1300 px and on a phone's 390 px go to the test's folder."""

from __future__ import annotations

import json
import os
import time

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


def wait_for(driver, script: str, timeout: float = 30.0):
    end = time.time() + timeout
    while time.time() < end:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for: {script}")


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
        assert first["ranges"] == sent["ranges"][2] and first["readout"] == sent["captions"][2]
        slider = driver.find_element(By.ID, "fig-1-layer")
        slider.click()
        slider.send_keys(Keys.HOME)  # to the embeddings, then up one layer at a time
        for layer in range(len(figure["coords"])):
            if layer:
                slider.send_keys(Keys.ARROW_RIGHT)
            now = wait_for(driver, f"const p = (() => {{{PLOTTED}}})(); "
                                   f"return p && p.readout === {json.dumps(sent['captions'][layer])} && p;")
            assert [now["x"], now["y"]] == _columns(figure["coords"][layer]), layer
            assert now["ranges"] == sent["ranges"][layer], layer
        driver.save_screenshot(str(tmp_path / "hidden-map-1300.png"))
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True})
        driver.refresh()
        wait_for(driver, PLOTTED)
        width = driver.execute_script("return document.documentElement.scrollWidth")
        assert width <= 390  # nothing pushes the phone's page sideways
        driver.save_screenshot(str(tmp_path / "hidden-map-390.png"))
        _, failed = browser.requests_and_failures(driver)
        assert failed == [] and browser.console_errors(driver) == []


def _columns(coords: list[list[float]]) -> list[list[float]]:
    return [[xy[0] for xy in coords], [xy[1] for xy in coords]]
