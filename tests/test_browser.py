"""The explorer in a real Chromium (Playwright) against a live `streamlit run app.py`.

Keep test_explorer_opens_directly first: it must be the first page this fresh server serves (it checks
the legacy "pages/ folder" workaround in pages/ui.use_app_navigation; bench/explorer.py measures the
cold-start time).
Screenshots go to $LATENTLAB_SCREENSHOTS when set (the README uses them), else to pytest's tmp_path.
"""
from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from conftest import settle

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
MAP = ".st-key-ll-map .js-plotly-plot"
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_CKPT = ROOT / "checkpoints" / "fashion-conv-16.safetensors"

# --- page-side helpers (JavaScript) ----------------------------------------------------------------
MAP_READY = """(minTraces) => { const gd = document.querySelector('.st-key-ll-map .js-plotly-plot');
  return !!(gd && gd._fullData && gd._fullLayout && gd._fullLayout.xaxis && gd._fullData.length >= minTraces); }"""
HAS_PATH = """(n) => { const gd = document.querySelector('.st-key-ll-map .js-plotly-plot');
  const p = gd && gd._fullData && gd._fullData.find((t) => t.name === 'path'); return !!p && p.x.length === n; }"""
# Data points (customdata >= 0) in client pixels; grid crosses are trace 0 (customdata < 0).
DATA_XY = """() => { const gd = document.querySelector('.st-key-ll-map .js-plotly-plot');
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, r = gd.getBoundingClientRect();
  const out = [];
  gd._fullData.forEach((tr, t) => { if (!tr.customdata || !(tr.customdata[0] >= 0)) return;
    for (let i = 0; i < tr.x.length; i++)
      out.push([r.left + xa._offset + xa.l2p(tr.x[i]), r.top + ya._offset + ya.l2p(tr.y[i]), t, i]); });
  return out; }"""
# The data point whose nearest other data point is farthest away, and likewise the grid cross farthest
# from every data point: hovering / clicking them cannot pick a neighbour by accident.
ISOLATED = """(which) => { const gd = document.querySelector('.st-key-ll-map .js-plotly-plot');
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, r = gd.getBoundingClientRect();
  const px = (tr, i) => [r.left + xa._offset + xa.l2p(tr.x[i]), r.top + ya._offset + ya.l2p(tr.y[i])];
  const data = [];
  gd._fullData.forEach((tr, t) => { if (tr.customdata && tr.customdata[0] >= 0)
    for (let i = 0; i < tr.x.length; i++) data.push(px(tr, i).concat([t, i])); });
  const grid = gd._fullData[0];
  const candidates = which === 'grid' ? Array.from({length: grid.x.length}, (_, i) => px(grid, i).concat([0, i]))
                                      : data.filter((_, k) => k % Math.ceil(data.length / 600) === 0);
  const plot = [r.left + xa._offset, r.top + ya._offset, xa._length, ya._length];
  let best = null, bestD = -1;
  for (const c of candidates) {
    if (c[0] < plot[0] + 20 || c[0] > plot[0] + plot[2] - 20 || c[1] < plot[1] + 20 || c[1] > plot[1] + plot[3] - 20) continue;
    let d = Infinity;
    for (const p of data) { if (p === c) continue; const dd = (p[0] - c[0]) ** 2 + (p[1] - c[1]) ** 2; if (dd < d) d = dd; }
    if (which === 'grid') for (let i = 0; i < grid.x.length; i++) { if (i === c[3]) continue;
      const g = px(grid, i); const dd = ((g[0] - c[0]) ** 2 + (g[1] - c[1]) ** 2) * 4; if (dd < d) d = dd; }
    if (d > bestD) { bestD = d; best = c; }
  }
  return best; }"""
TIP = """(caption) => { const tip = document.getElementById('ll-hover-tip');
  if (!tip || tip.style.display === 'none') return null;
  if (!tip.innerText.includes(caption)) return null;
  const c = document.getElementById('ll-tip-a'); if (!c || !c.width || !c.height) return null;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  const seen = new Set(); for (let k = 0; k < d.length; k += 4) seen.add(d[k] + ',' + d[k + 1] + ',' + d[k + 2] + ',' + d[k + 3]);
  return seen.size > 1 ? {colours: seen.size, text: tip.innerText} : null; }"""
# The thumbnail component has this map's sprite sheets, all loaded. The chart is drawn before the
# script has sent them, so hovering earlier shows nothing (or the previous map's thumbnails).
HOVER_READY = """() => { const cfg = window.__llHover, gd = document.querySelector('.st-key-ll-map .js-plotly-plot');
  if (!cfg || !cfg.images || !cfg.grid || !gd || !gd._fullData) return false;
  const n = gd._fullData.filter((t) => t.customdata && t.customdata[0] >= 0).reduce((s, t) => s + t.x.length, 0);
  const cells = gd._fullData[0].x.length;
  if (cfg.images.count !== n || cfg.grid.count !== cells || !gd.__llBound) return false;
  return [['images', n], ['recon', n], ['grid', cells]].every(([k, count]) => {
    const imgs = Array.from(document.querySelectorAll('.st-key-' + cfg.keys[k] + ' img'));
    return imgs.length === Math.ceil(count / cfg[k].per_chunk)
      && imgs.every((img) => img.complete && img.naturalWidth > 0); }); }"""


# --- fixtures and helpers --------------------------------------------------------------------------
def wait_for_map(page, timeout: float = 90_000, min_traces: int = 2) -> None:
    page.wait_for_selector(MAP, timeout=timeout)
    page.wait_for_function(MAP_READY, arg=min_traces, timeout=timeout)
    page.locator(".st-key-ll-map").scroll_into_view_if_needed()
    page.wait_for_function(MAP_READY, arg=min_traces, timeout=timeout)
    page.wait_for_function(HOVER_READY, timeout=timeout)


def open_explorer(page, app_url: str) -> None:
    page.goto(app_url + "/explorer")
    wait_for_map(page)
    settle(page)


def hover_tip(page, x: float, y: float, caption: str, timeout: float = 15_000) -> dict:
    """Move onto (x, y) and wait for the thumbnail tooltip with `caption` and a non-blank picture."""
    page.mouse.move(x - 25, y - 25)
    page.mouse.move(x, y, steps=4)
    handle = page.wait_for_function(TIP, arg=caption, timeout=timeout)
    return handle.json_value()


def click_map(page, x: float, y: float) -> None:
    page.mouse.move(x, y, steps=3)
    page.mouse.click(x, y)


TIP_HIDDEN = "() => { const t = document.getElementById('ll-hover-tip'); return !t || t.style.display === 'none'; }"


def mouse_off_map(page) -> None:
    page.mouse.move(5, 5, steps=10)  # in steps: one jump out of a box-select drag does not unhover
    try:
        page.wait_for_function(TIP_HIDDEN, timeout=5_000)
    except Exception:
        state = page.evaluate("""() => { const t = document.getElementById('ll-hover-tip');
          return [t && t.innerText, document.querySelectorAll('.js-plotly-plot').length,
                  Array.from(document.querySelectorAll('.js-plotly-plot')).map((g) => !!g.__llBound)]; }""")
        raise AssertionError(f"hover tooltip still shown after the mouse left the map: {state}")


def data_point_count(page) -> int:
    return page.evaluate("""() => document.querySelector('.st-key-ll-map .js-plotly-plot')._fullData
        .filter((t) => t.customdata && t.customdata[0] >= 0).reduce((n, t) => n + t.x.length, 0)""")


# --- tests -----------------------------------------------------------------------------------------
def test_explorer_opens_directly(app_url, page, shot):
    """First visit of a fresh server is the page URL: app.py's navigation and layout must still apply."""
    start = time.monotonic()
    page.goto(app_url + "/explorer")
    wait_for_map(page)
    seconds = time.monotonic() - start
    print(f"cold open of /explorer -> map: {seconds:.1f} s")

    nav = page.locator('[data-testid="stSidebarNavLink"]').all_inner_texts()
    names = [" ".join(t.split()[1:]) if len(t.split()) > 1 else t.strip() for t in nav]
    assert "Latent-space explorer" in " ".join(nav) and "Home" in " ".join(nav), nav
    assert not {"app", "explorer"} & {n.strip().lower() for n in names}, nav
    assert page.url.rstrip("/").endswith("/explorer")
    width = page.evaluate("() => document.querySelector('[data-testid=\"stMainBlockContainer\"]')"
                          ".getBoundingClientRect().width")
    assert width > 1000, f"not the wide layout from app.py's set_page_config: main column {width}px"
    assert data_point_count(page) in (5_000, 20_000), data_point_count(page)  # offline subset / full MNIST
    shot(page, "explorer-map.png")


def test_hover_shows_thumbnails(app_url, page, shot):
    open_explorer(page, app_url)
    x, y, _, _ = page.evaluate(ISOLATED, "data")
    tip = hover_tip(page, x, y, "reconstruction")
    assert "#" in tip["text"] and "image" in tip["text"], tip
    shot(page, "explorer-hover.png")

    x, y, _, _ = page.evaluate(ISOLATED, "grid")
    tip = hover_tip(page, x, y, "decoded here")
    assert "click to keep it" in tip["text"], tip


def test_click_point_then_cross(app_url, page, shot):
    open_explorer(page, app_url)
    x, y, _, _ = page.evaluate(ISOLATED, "data")
    click_map(page, x, y)
    page.get_by_text("nearest in code space").wait_for(timeout=30_000)
    page.get_by_text("nearest in pixel space").wait_for(timeout=30_000)
    page.get_by_text("Path: A is set").wait_for(timeout=30_000)
    assert page.get_by_text("share its label").count() == 2
    wait_for_map(page)
    page.wait_for_function(HAS_PATH, arg=1, timeout=30_000)
    mouse_off_map(page)
    shot(page, "explorer-neighbours.png")

    x, y, _, _ = page.evaluate(ISOLATED, "grid")
    click_map(page, x, y)
    page.get_by_text("Decoded where no image is").wait_for(timeout=30_000)
    page.get_by_text("Decoded path A → B").wait_for(timeout=30_000)
    page.get_by_text("straight line in code space").wait_for(timeout=30_000)
    page.wait_for_function(HAS_PATH, arg=2, timeout=30_000)
    mouse_off_map(page)
    shot(page, "explorer-path.png")


def test_box_select_region(app_url, page, shot):
    open_explorer(page, app_url)
    points = page.evaluate(DATA_XY)
    xs, ys = sorted(p[0] for p in points), sorted(p[1] for p in points)
    cx, cy = xs[len(xs) // 2], ys[len(ys) // 2]
    half = 45
    inside = sum(abs(p[0] - cx) < half and abs(p[1] - cy) < half for p in points)
    assert inside > 10, "the box around the median would hold too few points"

    page.locator(MAP).hover()
    page.locator('.st-key-ll-map .modebar-btn[data-title="Box Select"]').click()
    page.mouse.move(cx - half, cy - half)
    page.mouse.down()
    page.mouse.move(cx + half, cy + half, steps=8)
    page.mouse.up()
    page.get_by_text("their reconstructions").wait_for(timeout=30_000)
    heading = page.get_by_text("Selected:").inner_text()
    n = int(heading.split(":")[1].split()[0].replace(",", ""))
    assert n > 0 and abs(n - inside) <= max(3, inside // 20), (heading, inside)  # edge pixels may differ
    page.get_by_text("images (up to 40, random)").wait_for()
    mouse_off_map(page)
    shot(page, "explorer-selection.png")


def test_fashion_20k_points(app_url, page, shot):
    assert FASHION_CKPT.exists(), f"{FASHION_CKPT.relative_to(ROOT)} is shipped with the app and missing"
    if not FASHION_DIR.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"{FASHION_DIR} is missing: CI installs the fashion-mnist package")
        pytest.skip(f"Fashion-MNIST not installed ({FASHION_DIR} missing; apt-get install fashion-mnist)")
    open_explorer(page, app_url)
    page.get_by_role("combobox", name="Dataset").click()
    page.get_by_role("option", name="Fashion-MNIST", exact=True).click()
    start = time.monotonic()
    page.get_by_text("70,000 images 28×28").wait_for(timeout=90_000)
    page.wait_for_function("() => { const gd = document.querySelector('.st-key-ll-map .js-plotly-plot');"
                           " return !!(gd && gd._fullLayout && gd._fullLayout.title &&"
                           " String(gd._fullLayout.title.text).includes('20,000 codes')); }", timeout=120_000)
    wait_for_map(page)
    print(f"Fashion-MNIST picked -> 20k map with thumbnails ready: {time.monotonic() - start:.1f} s")
    assert data_point_count(page) == 20_000
    x, y, _, _ = page.evaluate(ISOLATED, "data")
    tip = hover_tip(page, x, y, "reconstruction", timeout=30_000)
    assert "#" in tip["text"], tip
    shot(page, "explorer-20k.png")


def test_home_links_to_the_explorer(app_url, page, shot):
    page.goto(app_url + "/")
    page.get_by_role("heading", name="Latent Lab").wait_for(timeout=30_000)
    page.get_by_role("link", name="Open style transfer").wait_for()  # the last section
    settle(page)
    shot(page, "home.png")
    page.get_by_role("link", name="Open the explorer").click()
    page.get_by_role("heading", name="Latent-space explorer").wait_for(timeout=30_000)
    wait_for_map(page)
    assert page.url.rstrip("/").endswith("/explorer")


def test_a_tsne_map_moves_while_it_optimises_and_stop_keeps_it(app_url, page, shot):
    """A map that is not shipped (t-SNE, perplexity 25) moves on the page as openTSNE optimises; Stop keeps it."""
    open_explorer(page, app_url)
    page.get_by_text("t-SNE", exact=True).click()
    settle(page)
    page.get_by_text("Parameters").click()
    box = page.get_by_label("t-SNE perplexity")
    box.fill("25")
    box.press("Enter")
    moving = ".st-key-ll-moving-map .js-plotly-plot"
    page.wait_for_selector(moving, timeout=90_000)
    first_x = "() => { const gd = document.querySelector('.st-key-ll-moving-map .js-plotly-plot');" \
              " return gd && gd._fullData && gd._fullData.length ? gd._fullData[0].x.slice(0, 50) : null; }"
    page.get_by_text(re.compile(r"iteration \d+ / 750")).wait_for(timeout=300_000)  # a layout of its own
    before = page.evaluate(first_x)
    page.wait_for_function(f"(before) => JSON.stringify(({first_x})()) !== JSON.stringify(before)", arg=before,
                           timeout=60_000)  # and the next frame moved the points
    shot(page, "explorer-tsne-moving.png")
    page.get_by_role("button", name="⏹ Stop (keep this layout)").click()
    wait_for_map(page)
    page.get_by_text("You stopped this layout at step").wait_for(timeout=30_000)
    assert data_point_count(page) == 5_000
    shot(page, "explorer-tsne-stopped.png")
