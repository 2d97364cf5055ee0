"""Every page of the embedded course in headless Chromium, outside network blocked:
no console error, no failed or outside request, every figure drawn, attention views respond to clicks."""

from __future__ import annotations

import functools
import http.server
import json
import os
import threading
import time
from pathlib import Path

import pytest

from lmreport.analyses.attention import values as attention_values
from lmreport.analyses.flow import values as flow_values

from . import browser

pytestmark = [
    pytest.mark.browser,
    pytest.mark.embedded,
    pytest.mark.skipif(
        not browser.available() and not os.environ.get("LMREPORT_REQUIRE_BROWSER"),
        reason="needs Debian's chromium and chromium-driver (CI sets LMREPORT_REQUIRE_BROWSER=1: no skipping there)",
    ),
]


@pytest.fixture(scope="module")
def driver():
    with browser.chromium() as d:
        yield d


@pytest.fixture(scope="module")
def served(embedded_site):
    """The site under a subpath (/course/), as on GitHub Pages, from a localhost server."""
    root = embedded_site.parent / "pages-root"
    root.mkdir(exist_ok=True)
    link = root / "course"
    if not link.exists():
        link.symlink_to(embedded_site, target_is_directory=True)
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/course"
    server.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


wait_for = browser.wait_for


DRAWN = """
const bk = document.querySelectorAll('.bk-figure[data-bk-doc]').length;
const views = [...document.querySelectorAll('.bertviz')];
const bokehDone = bk === 0 || (window.Bokeh && Bokeh.documents.length === bk
    && [...document.querySelectorAll('.bk-figure > div')].every(d => d.shadowRoot || d.children.length));
const bertvizDone = views.every(v => v.querySelector('#vis svg'));
return bokehDone && bertvizDone;
"""


def visit(driver, url: str, origin: str) -> None:
    browser.requests_and_failures(driver)  # drop what came before
    browser.console_errors(driver)
    driver.get(url)
    wait_for(driver, "return document.readyState === 'complete'")
    wait_for(driver, DRAWN)
    time.sleep(0.3)
    urls, failed = browser.requests_and_failures(driver)
    assert failed == [], f"{url}: failed requests {failed}"
    outside = [u for u in urls if not u.startswith((origin, "data:", "blob:", "about:"))]
    assert outside == [], f"{url}: requests outside the site {outside}"
    assert browser.console_errors(driver) == [], url


def tiny_site(tmp_path: Path, model: Path, lessons: dict[str, str]) -> Path:
    """A site built from the given lessons (file name -> text) on a tiny model."""
    from lmreport.build import BuildOptions, build

    from .conftest import write_lesson

    for name, text in lessons.items():
        write_lesson(tmp_path / "lessons", name, text)
    site = tmp_path / "site"
    build(BuildOptions(lessons_dir=tmp_path / "lessons", site_dir=site, model=str(model),
                       cache_dir=tmp_path / "cache", progress=False))
    return site


def pages(site: Path) -> list[str]:
    return sorted(p.name for p in site.glob("*.html"))


def test_every_page_from_file_urls(driver, embedded_site):
    for name in pages(embedded_site):
        visit(driver, (embedded_site / name).as_uri(), embedded_site.as_uri())


def test_every_page_from_a_subpath_server(driver, embedded_site, served):
    for name in pages(embedded_site):
        visit(driver, f"{served}/{name}", served)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_page_breaks_an_accessibility_rule(driver, embedded_site, scheme):
    """axe-core's WCAG 2 A and AA rules (labels, names, contrast...) on every page, in both themes."""
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme",
                                                                        "value": scheme}]})
    try:
        found = {}
        for name in pages(embedded_site):
            visit(driver, (embedded_site / name).as_uri(), embedded_site.as_uri())
            assert driver.execute_script("return document.documentElement.dataset.theme") == scheme
            violations = browser.axe_violations(driver)
            if violations:
                found[name] = violations
        assert found == {}
    finally:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})


FITS = """
const main = document.querySelector('main').getBoundingClientRect();
const problems = [];
if (document.documentElement.scrollWidth > window.innerWidth + 1) {
  problems.push('the page scrolls sideways: ' + document.documentElement.scrollWidth + ' > ' + window.innerWidth);
}
document.querySelectorAll('.lmreport-figure').forEach(f => {
  const box = f.getBoundingClientRect();
  if (box.right > main.right + 1 || box.left < main.left - 1) problems.push(f.id + ' is wider than the column');
});
const texts = '.chart-title, .figure-title, .figure-summary, .view-help, .how-to-read summary';
document.querySelectorAll(texts).forEach(t => {
  if (t.scrollWidth > t.clientWidth + 1) problems.push('cut text: ' + t.textContent.slice(0, 60));
});
return problems;
"""


@pytest.mark.parametrize("width", [390, 1300])
@pytest.mark.parametrize("mode", ["light", "dark", "print"])
def test_every_figure_fits_its_column(driver, embedded_site, width, mode):
    """At a phone's width and a desktop's, in each theme and printed: no page scrolls sideways, no figure is
    wider than the text column, and no caption, title or help line is cut (a wide chart scrolls in its card)."""
    media = {"media": "print" if mode == "print" else "",
             "features": [{"name": "prefers-color-scheme", "value": "dark" if mode == "dark" else "light"}]}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": width, "height": 900,
                                                                  "deviceScaleFactor": 1, "mobile": width < 600})
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", media)
    try:
        found = {}
        for name in pages(embedded_site):
            visit(driver, (embedded_site / name).as_uri(), embedded_site.as_uri())
            problems = driver.execute_script(FITS)
            if problems:
                found[name] = problems
        assert found == {}
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "", "features": []})


TALL = """
const cm = 96 / 2.54, out = {};
document.querySelectorAll('.bertviz svg, .flow-graph').forEach((svg, i) => {
  const box = svg.getBoundingClientRect(), holder = svg.closest('.bertviz, .flow-scroll');
  out[(holder.className.match(/bertviz-\\w+|flow-scroll/) || ['?'])[0] + '-' + i] = {
    height_cm: box.height / cm, viewBox: svg.getAttribute('viewBox'),
    scrolls: holder.scrollWidth > holder.clientWidth + 1};
});
out.unbroken = [...document.querySelectorAll('.bk-figure, .bertviz, .flow-scroll, .attention-heatmap')]
  .every(f => getComputedStyle(f).breakInside === 'avoid');
return out;
"""


def test_tall_views_scale_to_a_phone_and_to_a_printed_page(driver, embedded_site):
    """On a phone the model view (30 layers of thumbnails) is scaled down, in a box no taller than the screen,
    instead of a figure many screens tall with its scroll bar at the bottom; printed, no BertViz view or flow
    graph is taller than 14 cm (the model view 21 cm), so each fits a page with its caption, and no chart is
    split across pages."""
    lessons = ("02-attention.html", "11-flow.html")
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": 390, "height": 844,
                                                                  "deviceScaleFactor": 1, "mobile": True})
    try:
        visit(driver, (embedded_site / lessons[0]).as_uri(), embedded_site.as_uri())
        model = driver.execute_script(TALL)["bertviz-model-1"]
        natural = float(model["viewBox"].split()[3]) / (96 / 2.54)
        assert model["height_cm"] < natural / 1.5  # scaled down: 30 rows no longer 3,000 px tall...
        box = driver.execute_script("return document.querySelector('.bertviz-model').getBoundingClientRect().height")
        assert box <= 0.85 * 844 + 1  # ...and its scroll bars within one screen
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print", "features": []})
        for name in lessons:
            visit(driver, (embedded_site / name).as_uri(), embedded_site.as_uri())
            found = driver.execute_script(TALL)
            assert found.pop("unbroken") is True, name
            limits = {key: 21.05 if key.startswith("bertviz-model") else 14.05 for key in found}
            assert found and all(v["viewBox"] and v["height_cm"] <= limits[k] for k, v in found.items()), (name, found)
            assert driver.execute_script("return getComputedStyle(document.body).minHeight") == "0px"
            # The menus stay, to say which layer and head a view shows.
            assert all(s.is_displayed() for s in driver.find_elements("css selector", ".bertviz select"))
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "", "features": []})


def test_a_figure_wider_than_the_screen_says_so_at_its_title(driver, embedded_site):
    """At a phone's width the heads grid scrolls sideways in its card, and its title says so; at a desktop's it
    fits, and nothing is said."""
    wide = ("return [...document.querySelectorAll('.lmreport-figure.overflows .figure-title')]"
            ".map(t => getComputedStyle(t, '::after').content)")
    grid = "return document.querySelector('.lmreport-heads').classList.contains('overflows')"
    try:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": 390, "height": 844,
                                                                      "deviceScaleFactor": 1, "mobile": True})
        visit(driver, (embedded_site / "11-flow.html").as_uri(), embedded_site.as_uri())
        assert wait_for(driver, grid)
        assert all("scroll sideways" in c for c in driver.execute_script(wide))
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        visit(driver, (embedded_site / "11-flow.html").as_uri(), embedded_site.as_uri())
        time.sleep(2.2)
        assert not driver.execute_script(grid)
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_a_tap_shows_what_a_tooltip_says_on_a_phone(driver, embedded_site):
    """Phones show no hover tooltips: a tap on a value of the prose, a checked claim or a heatmap cell shows its
    tooltip's text below it, as text; a tap elsewhere hides it."""
    tip = ("const t = document.querySelector('.tap-tip');"
           "return t ? [t.textContent, t.getBoundingClientRect().top] : null")
    try:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": 390, "height": 844,
                                                                      "deviceScaleFactor": 1, "mobile": True})
        visit(driver, (embedded_site / "02-attention.html").as_uri(), embedded_site.as_uri())
        for selector in (".lmreport-value", ".lmreport-claim", ".heatmap-cell"):
            element = driver.find_element("css selector", selector)
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
            element.click()
            shown = driver.execute_script(tip)
            assert shown and shown[0] == element.get_attribute("title"), selector
            assert shown[1] >= element.rect["y"] - driver.execute_script("return window.scrollY")  # below it
            driver.find_element("css selector", "h1").click()
            assert driver.execute_script(tip) is None
        assert browser.console_errors(driver) == []
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_an_opened_neuron_view_is_measured_again_so_nothing_is_cut(driver, embedded_site):
    from selenium.webdriver.common.action_chains import ActionChains

    visit(driver, (embedded_site / "02-attention.html").as_uri(), embedded_site.as_uri())
    view = driver.find_element("css selector", ".bertviz-neuron")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", view)
    before = driver.execute_script("return arguments[0].querySelector('#vis svg').viewBox.baseVal.width", view)
    # Hover the first token, then click its ⊕ (an invisible square over the sign takes the click).
    token = view.find_elements("css selector", "#leftText text")[0]
    ActionChains(driver).move_to_element(token).perform()
    driver.execute_script("arguments[0].querySelector('#leftText .plus-sign').nextElementSibling"
                          ".dispatchEvent(new MouseEvent('click', {bubbles: true}))", view)
    time.sleep(1.6)
    shown = driver.execute_script("return arguments[0].querySelector('#expanded').getAttribute('visibility')", view)
    assert shown == "visible"  # the queries and keys opened...
    box = driver.execute_script("const s = arguments[0].querySelector('#vis svg'), b = s.getBBox(),"
                                "e = s.querySelector('#expanded').getBBox();"
                                "return [b.x + b.width, e.x + e.width, s.viewBox.baseVal.width]", view)
    assert box[1] <= box[2] + 0.5 and box[2] > before, box  # ...and lie inside what the page shows
    # Closed, the view was as wide as what it showed, not as what it keeps hidden for the tokens not opened (its
    # box scrolled sideways over empty space on a desktop): the whole drawing, hidden parts included, is wider.
    assert before < 0.75 * box[0], (before, box)


def test_a_short_page_prints_on_one_page(driver, embedded_site):
    """The page's screen layout fills the window (min-height: 100vh); printed, that would add a blank page."""
    import base64
    import re

    for name in ("404.html",):
        visit(driver, (embedded_site / name).as_uri(), embedded_site.as_uri())
        pdf = base64.b64decode(driver.execute_cdp_cmd("Page.printToPDF", {})["data"])
        assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1, name  # no blank second page


def test_figures_are_drawn(driver, embedded_site):
    visit(driver, (embedded_site / "01-next-token.html").as_uri(), embedded_site.as_uri())
    assert driver.execute_script("return Bokeh.documents.length") == 6
    visit(driver, (embedded_site / "04-logit-lens.html").as_uri(), embedded_site.as_uri())
    assert driver.execute_script("return Bokeh.documents.length") == 2


def test_the_page_decodes_attention_to_the_numbers_of_the_data_file(driver, embedded_site):
    visit(driver, (embedded_site / "02-attention.html").as_uri(), embedded_site.as_uri())
    from lmreport.analyses.attention.packing import unpack_attention

    data = json.loads((embedded_site / "data" / "02-attention-1-attention.json").read_text())["data"]
    exact = data["attention"]
    decoded = driver.execute_script(
        "return lmreportBertviz.unpack(JSON.parse(document.querySelector('script[id$=\"-data\"]').textContent)"
        ".packed)")
    assert len(decoded) == len(exact) and len(decoded[0]) == len(exact[0])
    # the page decodes the bytes the data file holds, byte for byte (packed from the exact weights) ...
    flat = [w for layer in decoded for head in layer for row in head for w in row]
    assert flat == pytest.approx(unpack_attention(data["packed"]).ravel().tolist(), abs=1e-12)
    # ... which are the file's 4-decimal weights within half a byte's step and their own rounding
    worst = max(abs(a - b) for la, lb in zip(exact, decoded, strict=True) for ha, hb in zip(la, lb, strict=True)
                for ra, rb in zip(ha, hb, strict=True) for a, b in zip(ra, rb, strict=True))
    assert worst <= 0.5 / 255 + 0.5e-4 + 1e-9


def test_heatmap_shows_a_head_or_the_layers_mean(driver, embedded_site):
    from selenium.webdriver.support.ui import Select


    visit(driver, (embedded_site / "02-attention.html").as_uri(), embedded_site.as_uri())
    roots = driver.find_elements("css selector", ".attention-heatmap")
    cells = "return [...arguments[0].querySelectorAll('.heatmap-cell')].map(c => c.title)"
    # The first heatmap opens on the head that attends to the previous token most (focus: previous).
    focused = json.loads((embedded_site / "data" / "02-attention-2-attention.json").read_text())["data"]
    _, index, head = attention_values.strongest_head(focused, "previous")
    assert (focused["layer"], focused["head"]) == (index + 1, head)
    assert Select(roots[0].find_element("css selector", ".heatmap-head")).first_selected_option.text == str(head)
    titles = driver.execute_script(cells, roots[0])
    expected = [v for row in focused["attention"][index][head] for v in row]
    assert [float(t.rsplit(": ", 1)[1]) for t in titles] == pytest.approx(expected, abs=3e-3)
    # The second opens on a layer's mean.
    data = json.loads((embedded_site / "data" / "02-attention-3-attention.json").read_text())["data"]
    root = roots[1]
    n = len(data["tokens"])
    titles = driver.execute_script(cells, root)
    assert len(titles) == n * n
    layers = Select(root.find_element("css selector", ".heatmap-layer"))
    # Blocks count from 1 in the menu, as on every page; the data's arrays count from 0.
    assert [o.text for o in layers.options] == [str(i) for i in range(1, len(data["attention"]) + 1)]
    layer = data["layer"]
    assert layers.first_selected_option.text == str(layer) == "3"
    block = data["attention"][layer - 1]
    mean = [[sum(h[i][j] for h in block) / len(block) for j in range(n)] for i in range(n)]
    assert [float(t.rsplit(": ", 1)[1]) for t in titles] == pytest.approx([v for row in mean for v in row], abs=3e-3)
    layers.select_by_visible_text("1")
    Select(root.find_element("css selector", ".heatmap-head")).select_by_value("4")
    titles = driver.execute_script(cells, root)
    expected = [v for row in data["attention"][0][4] for v in row]
    assert [float(t.rsplit(": ", 1)[1]) for t in titles] == pytest.approx(expected, abs=3e-3)
    assert titles[n].startswith(root.find_elements("css selector", ".heatmap-query")[1].text)
    assert browser.console_errors(driver) == []


def test_attention_views_respond_to_clicks(driver, embedded_site):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    visit(driver, (embedded_site / "02-attention.html").as_uri(), embedded_site.as_uri())
    head = driver.find_element(By.CSS_SELECTOR, ".bertviz-head")
    vis = head.find_element(By.ID, "vis")
    select = Select(head.find_element(By.ID, "layer"))
    # Blocks count from 1, as on every page: the lesson opens the head view on layer 3, the third block.
    assert [o.text for o in select.options] == [str(i) for i in range(1, 31)]
    assert select.first_selected_option.text == "3"
    before = vis.get_attribute("innerHTML")
    select.select_by_visible_text("7")
    assert vis.get_attribute("innerHTML") != before
    # Clicking a head's colour square hides that head.
    square = head.find_elements(By.CSS_SELECTOR, "#vis svg rect[width='20']")[0]
    colour = square.get_attribute("fill")
    ActionChains(driver).move_to_element(square).click().perform()
    assert square.get_attribute("fill") != colour
    # Clicking a model-view thumbnail opens its detail view.
    model = driver.find_element(By.CSS_SELECTOR, ".bertviz-model")
    assert model.find_elements(By.CSS_SELECTOR, ".detail") == []
    regions = [
        r for r in model.find_elements(By.CSS_SELECTOR, "#vis svg rect") if r.value_of_css_property("opacity") == "0"
    ]
    assert len(regions) == 30 * 9
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", regions[0])
    ActionChains(driver).move_to_element(regions[0]).click().perform()
    assert model.find_elements(By.CSS_SELECTOR, ".detail")
    assert browser.console_errors(driver) == []


def test_neuron_view_selectors_respond(driver, embedded_site):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    visit(driver, (embedded_site / "02-attention.html").as_uri(), embedded_site.as_uri())
    view = driver.find_element(By.CSS_SELECTOR, ".bertviz-neuron")
    layers = Select(view.find_element(By.ID, "layer"))
    heads = Select(view.find_element(By.ID, "att_head"))
    data = json.loads((embedded_site / "data" / "02-attention-7-neuron_view.json").read_text())["data"]
    assert [o.text for o in layers.options] == [str(n) for n in data["layers"]]
    assert layers.first_selected_option.text == str(data["layer"])
    assert heads.first_selected_option.text == str(data["head"])
    vis = view.find_element(By.ID, "vis")
    before = vis.get_attribute("innerHTML")
    heads.select_by_visible_text("5")
    assert vis.get_attribute("innerHTML") != before
    before = vis.get_attribute("innerHTML")
    layers.select_by_visible_text(str(data["layers"][-1]))
    assert vis.get_attribute("innerHTML") != before
    assert browser.console_errors(driver) == []


TOOLTIP_TEXT = """
const out = [];
function walk(root) {
  for (const el of root.querySelectorAll('*')) {
    if (el.shadowRoot) walk(el.shadowRoot);
    if ((el.className || '').toString().includes('bk-tooltip-content')) out.push(el.textContent);
  }
}
walk(document);
return out.join(' | ');
"""


PLOT_POINT = """
const plots = [...(Bokeh.index.values ? Bokeh.index.values() : Object.values(Bokeh.index))]
    .filter(v => v.model.type === 'Figure');
const view = plots[arguments[0]];
view.el.scrollIntoView({block: 'center'});
const box = view.el.getBoundingClientRect();
return [box.left + view.frame.x_scale.compute(arguments[1]), box.top + view.frame.y_scale.compute(arguments[2])];
"""


def hover(driver, plot: int, x: float, y: float) -> str:
    """Move the mouse (real input events) onto data point (x, y) of the page's plot-th Bokeh figure;
    return the tooltip's text."""
    sx, sy = driver.execute_script(PLOT_POINT, plot, x, y)
    for step in range(4):
        driver.execute_cdp_cmd("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": sx + step, "y": sy})
        time.sleep(0.05)
    return wait_for(driver, TOOLTIP_TEXT, timeout=5)


def test_bokeh_hover_shows_the_numbers(driver, embedded_site):
    visit(driver, (embedded_site / "01-next-token.html").as_uri(), embedded_site.as_uri())
    top = json.loads((embedded_site / "data" / "01-next-token-1-topk.json").read_text())["data"]["predictions"][0]
    tip = hover(driver, 0, top["prob"] / 2, 1)  # the middle of the first bar
    assert "␣Paris" in tip and f"{100 * top['prob']:.2f}%" in tip
    visit(driver, (embedded_site / "04-logit-lens.html").as_uri(), embedded_site.as_uri())
    lens = json.loads((embedded_site / "data" / "04-logit-lens-1-logit_lens.json").read_text())["data"]
    last_pos, output_row = len(lens["tokens"]) - 1, len(lens["layers"]) - 1
    tip = hover(driver, 0, last_pos, output_row)
    assert "layer 30 (output)" in tip and "␣Paris" in tip
    assert f"{100 * lens['top_probs'][output_row][last_pos][0]:.1f}%" in tip
    tip = hover(driver, 0, 0, 0)
    assert "embeddings" in tip and "0: The" in tip


LENS_COLUMNS = """
const plots = [...(Bokeh.index.values ? Bokeh.index.values() : Object.values(Bokeh.index))]
    .filter(v => v.model.type === 'Figure' && v.el.closest('.lens-scroll'));
return plots.map(view => {
  const box = view.el.closest('.lens-scroll'), seen = box.getBoundingClientRect();
  const left = view.el.getBoundingClientRect().left, n = view.model.x_range.end + 0.5;
  const x = i => left + view.frame.x_scale.compute(i), shown = i => seen.left <= x(i) && x(i) <= seen.right;
  return {figure: box.closest('figure').id, columns: n, scrolled: box.scrollLeft,
          scrolls: box.scrollWidth > box.clientWidth + 1, first: shown(0), last: shown(n - 1)};
});
"""


def test_a_logit_lens_wider_than_a_phone_opens_at_the_prediction(driver, embedded_site):
    """At a phone's width the copying prompt's lens (14 positions) scrolls sideways in its box, which opens scrolled
    to its end: the last column, the prediction, is in view (and the first is not); the 5-position lens fits and
    stays as it is. At a desktop's width both fit, and nothing is scrolled. From a file:// URL, offline."""
    lens = "04-logit-lens.html"
    try:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": 390, "height": 844,
                                                                      "deviceScaleFactor": 1, "mobile": True})
        visit(driver, (embedded_site / lens).as_uri(), embedded_site.as_uri())
        wide = wait_for(driver, "const f = (() => {" + LENS_COLUMNS + "})();"
                                "return f.length === 2 && f[1].last && f[1].scrolled > 0 && f")
        assert [(f["figure"], f["columns"]) for f in wide] == [("fig-1", 5), ("fig-2", 14)]
        assert wide[0]["scrolled"] == 0 and not wide[0]["scrolls"] and wide[0]["first"] and wide[0]["last"]
        assert wide[1]["scrolls"] and wide[1]["last"] and not wide[1]["first"]
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": 1300, "height": 900,
                                                                      "deviceScaleFactor": 1, "mobile": False})
        visit(driver, (embedded_site / lens).as_uri(), embedded_site.as_uri())
        time.sleep(0.5)
        found = driver.execute_script(LENS_COLUMNS)
        assert [(f["scrolled"], f["scrolls"], f["first"], f["last"]) for f in found] == [(0, False, True, True)] * 2
        assert browser.console_errors(driver) == []
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_the_harness_sees_an_outside_request(driver, tmp_path):
    """The checks above can fail: a page that reaches outside is caught."""
    page = tmp_path / "leaky.html"
    page.write_text('<!doctype html><title>x</title><script src="https://cdn.example.com/x.js"></script>')
    with pytest.raises(AssertionError, match="cdn.example.com"):
        visit(driver, page.as_uri(), tmp_path.as_uri())


def test_model_matrix_pages_switch_and_compare(driver, tmp_path, tiny_models):
    """A two-model site: every page of both models and of compare/ is drawn with nothing from outside; the
    switch leads to the same lesson on the other model; a comparison page draws the block once per model."""
    from lmreport.build import BuildOptions, build

    from .conftest import write_lesson

    write_lesson(tmp_path / "lessons", "01-a.md", "# A\n\n```lmreport\nanalysis: topk\nid: c\nprompt: The capital of\n"
                 "```\n\nTop: `=c.top`. `?c.top_prob > 0`\n\n```lmreport\nanalysis: logit_lens\nprompt: The key is\n```"
                 "\n\n```lmreport\nanalysis: attention\nprompt: The key is\n```\n")
    site = tmp_path / "site"
    build(BuildOptions(lessons_dir=tmp_path / "lessons", site_dir=site, cache_dir=tmp_path / "cache", progress=False,
                       models=(str(tiny_models["gpt2"]), str(tiny_models["llama"]))))
    for page in sorted(site.rglob("*.html")):
        visit(driver, page.as_uri(), site.as_uri())
    visit(driver, (site / "compare" / "01-a-1.html").as_uri(), site.as_uri())
    assert driver.execute_script("return Bokeh.documents.length") == 2
    visit(driver, (site / "01-a.html").as_uri(), site.as_uri())
    driver.execute_script("[...document.querySelectorAll('.model-switch a')].find(a => a.textContent === 'llama')"
                          ".click()")
    wait_for(driver, "return location.pathname.endsWith('/llama/01-a.html') && document.readyState === 'complete'")
    assert driver.execute_script("return document.querySelector('.model-switch [aria-current]').textContent") == "llama"


def test_serve_reloads_an_open_page_and_shows_a_failed_rebuild(driver, tmp_path, tiny_models):
    import threading

    from lmreport.build import BuildOptions
    from lmreport.serve import BuildState, rebuild, snapshot, start_server, watch

    from .conftest import write_lesson

    write_lesson(tmp_path / "lessons", "01-a.md", "# First version\n")
    options = BuildOptions(lessons_dir=tmp_path / "lessons", site_dir=tmp_path / "site",
                           model=str(tiny_models["gpt2"]), cache_dir=tmp_path / "cache", progress=False)
    state = BuildState()
    server = start_server(options.site_dir, "127.0.0.1", 0, state)
    seen = snapshot(options)
    assert rebuild(options, state)
    stop = threading.Event()
    watcher = threading.Thread(target=watch, args=(options, stop, 0.05, seen, state))
    watcher.start()
    try:
        driver.get(f"http://127.0.0.1:{server.server_port}/01-a.html")
        wait_for(driver, "return document.querySelector('h1') && document.querySelector('h1').textContent"
                         ".startsWith('First version')")
        driver.execute_script("window.lmreportNotReloaded = true")
        write_lesson(tmp_path / "lessons", "01-a.md", "# Second version\n")
        wait_for(driver, "return !window.lmreportNotReloaded && document.querySelector('h1') && "
                         "document.querySelector('h1').textContent.startsWith('Second version')")
        write_lesson(tmp_path / "lessons", "01-a.md", "# Broken\n\n```lmreport\nanalysis: nope\n```\n")
        shown = wait_for(driver, "const box = document.getElementById('lmreport-build-errors');"
                                 "return box && box.textContent")
        assert "01-a.md:4: unknown analysis 'nope'" in shown and "The last rebuild failed" in shown
        write_lesson(tmp_path / "lessons", "01-a.md", "# Fixed\n")
        wait_for(driver, "return !document.getElementById('lmreport-build-errors') && "
                         "document.querySelector('h1').textContent.startsWith('Fixed')")
    finally:
        stop.set()
        watcher.join()
        server.shutdown()


def test_math_admonition_footnote_image_and_lesson_link_render_offline(driver, tmp_path, tiny_models):
    from lmreport.build import BuildOptions, build

    from .conftest import write_lesson

    lessons = tmp_path / "lessons"
    write_lesson(lessons, "01-a.md", "# A\n\n## Softmax\n\n$p_i = e^{z_i} / \\sum_j e^{z_j}$ and\n\n"
                 "$$\n\\frac{a}{b}\n$$\n\n!!! note\n    A note.\n\nA claim[^1]. ![dot](img/dot.png) "
                 "[Next](02-b.md#end)\n\n[^1]: Source.\n\n## End\n")
    write_lesson(lessons, "02-b.md", "# B\n\n## End\n")
    (lessons / "img").mkdir()
    (lessons / "img" / "dot.png").write_bytes(bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"))
    site = tmp_path / "site"
    build(BuildOptions(lessons_dir=lessons, site_dir=site, model=str(tiny_models["gpt2"]),
                       cache_dir=tmp_path / "cache", progress=False))
    visit(driver, (site / "01-a.html").as_uri(), site.as_uri())
    assert wait_for(driver, "return document.querySelectorAll('mjx-container').length === 2")
    assert driver.execute_script("return document.querySelector('mjx-container[display=\"true\"]') !== null")
    assert driver.execute_script("return document.querySelector('img[alt=dot]').naturalWidth") == 1
    urls, failed = browser.requests_and_failures(driver)  # MathJax's fonts came from the site too
    assert failed == [] and all(u.startswith((site.as_uri(), "data:")) for u in urls)
    driver.find_element("link text", "Next").click()
    wait_for(driver, "return location.href.endsWith('/02-b.html#end')")


def test_heads_grid_click_shows_that_heads_attention(driver, tmp_path, tiny_models):
    site = tiny_site(tmp_path, tiny_models["gpt2"], {
        "01-a.md": "# A\n\n```lmreport\nanalysis: heads\nprompt: \"The <i>key</i> is\"\n```\n"})
    visit(driver, (site / "01-a.html").as_uri(), site.as_uri())
    data = json.loads(driver.execute_script("return document.querySelector('script[id$=\"-heads\"]').textContent"))
    cell = driver.find_element("css selector", '.head-cell[data-layer="2"][data-head="1"]')
    cell.click()
    title = driver.execute_script("return document.querySelector('.head-pattern-title').textContent")
    assert title.startswith("Layer 2, head 1 (")  # blocks count from 1: the second block
    rows = driver.execute_script("return [...document.querySelectorAll('.heads-grid tbody th')]"
                                 ".map(t => t.textContent)")
    assert rows == ["1", "2", "3"]
    shaded = driver.execute_script("return [...document.querySelectorAll('.head-pattern .head-token')]"
                                   ".map(s => [s.textContent, s.title])")
    assert [t for t, _ in shaded] == data["tokens"] and "<i>" in "".join(t for t, _ in shaded)
    assert driver.execute_script("return document.querySelectorAll('.head-pattern i').length") == 0  # text only
    assert [float(title.split(": ")[1]) for _, title in shaded] == pytest.approx(data["attention"][1][1], abs=1e-3)
    assert cell.get_attribute("aria-pressed") == "true" and browser.console_errors(driver) == []


def test_flow_graph_prunes_page_side_and_explains_clicks(driver, tmp_path, tiny_models):
    from selenium.webdriver.common.keys import Keys


    site = tiny_site(tmp_path, tiny_models["llama"], {
        "01-a.md": "# A\n\n```lmreport\nanalysis: flow\nid: f\nprompt: \"The <i>key</i> is\"\nfloor: 0.01\n"
                   "threshold: 0.02\n```\n\nNodes: `=f.nodes`.\n"})
    data = json.loads((site / "data" / "01-a-1-flow.json").read_text())["data"]
    visit(driver, (site / "01-a.html").as_uri(), site.as_uri())
    count = driver.find_element("css selector", ".flow-count")
    # The page walks the same routes as the build: the same number of nodes at the block's threshold...
    assert int(count.get_attribute("data-nodes")) == flow_values.flow_nodes(data) == len(
        driver.find_elements("css selector", ".flow-node"))
    # ...and at a higher one set with the slider, without a rebuild.
    driver.execute_script("const s = document.querySelector('.flow-threshold'); s.value = '0.3';"
                          "s.dispatchEvent(new Event('input'));")
    assert int(count.get_attribute("data-nodes")) == flow_values.flow_nodes(data, 0.3) < flow_values.flow_nodes(data)
    assert driver.find_element("css selector", ".flow-threshold-value").text == "0.300"
    # Clicking the output node says what it is; clicking an attention node lists its heads as the data has them.
    driver.find_element("css selector", f'[data-node="{data["output"]}"]').click()
    details = driver.find_element("css selector", ".flow-details")
    assert "the output the routes lead to" in details.text
    attention = f"a{len(data['ffn'])}_{data['position']}"  # the last block's; blocks count from 1
    driver.find_element("css selector", f'[data-node="{attention}"]').click()
    assert details.text.startswith(f"Layer {len(data['ffn'])}, token {data['position']} ")
    labels = driver.execute_script("return [...document.querySelectorAll('.flow-layer')].map(t => t.textContent)")
    assert sorted(labels) == sorted(["emb"] + [f"L{i}" for i in range(1, len(data["ffn"]) + 1)])
    heads = [int(line.split(":")[0].split()[1]) for line in details.text.splitlines() if line.startswith("Head ")]
    assert heads == [h[0] for h in data["nodes"][attention]["heads"]]
    promoted = data["vocab"][data["nodes"][attention]["heads"][0][2][0]]
    assert promoted.replace(" ", "␣") in details.text
    # An edge answers Enter from the keyboard; the prompt's markup stays text.
    edge = driver.find_elements("css selector", ".flow-edge")[0]
    driver.execute_script("arguments[0].focus()", edge)
    edge.send_keys(Keys.ENTER)
    assert "of the residual stream" in details.text and "flow-selected" in edge.get_attribute("class")
    assert driver.execute_script("return document.querySelectorAll('.lmreport-flow i').length") == 0
    assert browser.console_errors(driver) == []


def test_search_dark_theme_and_print_from_file_urls(driver, tmp_path, tiny_models):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    site = tiny_site(tmp_path, tiny_models["gpt2"], {
        "01-a.md": "# Alpha\n\nFirst words.\n\n```lmreport\nanalysis: topk\nprompt: The key is\n```\n",
        "02-b.md": "# Beta\n\nIntro.\n\n## Deep part\n\nThe serendipity of <b>tokens</b>.\n"})
    visit(driver, (site / "01-a.html").as_uri(), site.as_uri())
    # Search from file://: a word of another lesson's text finds its section.
    box = driver.find_element(By.ID, "lmreport-search")
    box.send_keys("serendip")
    wait_for(driver, "return document.querySelectorAll('.search-results a').length > 0")
    link = driver.find_element(By.CSS_SELECTOR, ".search-results a")
    assert link.get_attribute("href") == (site / "02-b.html").as_uri() + "#deep-part"
    assert link.text == "Beta: Deep part"
    assert driver.execute_script("return document.querySelectorAll('.search-results b').length") == 0  # text only
    box.send_keys(Keys.ENTER)
    wait_for(driver, "return location.href.endsWith('02-b.html#deep-part')")
    # The theme follows the system until the reader chooses, and the choice is kept.
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme",
                                                                        "value": "dark"}]})
    driver.execute_script("localStorage.clear()")
    visit(driver, (site / "01-a.html").as_uri(), site.as_uri())
    assert driver.execute_script("return document.documentElement.dataset.theme") == "dark"
    background = driver.execute_script("return getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(20, 23, 28)"
    driver.find_element(By.CSS_SELECTOR, ".theme-toggle").click()
    assert driver.execute_script("return document.documentElement.dataset.theme") == "light"
    visit(driver, (site / "02-b.html").as_uri(), site.as_uri())
    assert driver.execute_script("return document.documentElement.dataset.theme") == "light"
    assert driver.find_element(By.CSS_SELECTOR, ".theme-toggle").get_attribute("aria-pressed") == "false"
    driver.execute_script("localStorage.clear()")
    # Print: no sidebar, no download links, the figure kept whole.
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print", "features": []})
    visit(driver, (site / "01-a.html").as_uri(), site.as_uri())
    hidden = driver.execute_script(
        "return ['.sidebar', '.figure-data', '.search'].map(s => getComputedStyle(document.querySelector(s)).display)")
    assert hidden == ["none", "none", "none"]
    assert driver.execute_script("return getComputedStyle(document.querySelector('.lmreport-figure')).breakInside") \
        == "avoid"
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "", "features": []})
    assert browser.console_errors(driver) == []
