"""Serving a class: server memory per session, and what N students doing one lesson at the same time wait for.

Starts its own `streamlit run app.py` on a free loopback port (bench/machine.serve_app; the app's own defaults, as
`make serve` runs it), drives one headless Chromium through Playwright with one browser context per student (one
context = one Streamlit session, as separate laptops would be), and prints markdown tables. Everything stays on
127.0.0.1; every wait is bounded (--step-timeout), and the whole run by --max-minutes: a phase that would start
after it is skipped and the output says so. Chromium runs on the same cores as the server, so on a small machine
the figures include the browsers' own CPU time: they are an upper bound on what students on their own laptops see.

A. Memory and start-up (issue 13, point 4). Server RSS: VmRSS of the streamlit process and its descendants
   (/proc), in MB.
   1. start: just after /_stcore/health first answers;
   2. tour: one session has visited every page, each until it is READY (below), the session still open;
   3. warm: that session closed, --close-wait s later (Streamlit drops a closed tab's session after
      server.disconnectedSessionTTL = 15 s);
   4. 10 and 30 idle sessions: contexts that opened the home page (the lightest page: text, formulas and links, no
      model), waited until it was READY and then sit idle. Per extra session = (RSS - warm) / sessions. Goal ≤ 30 MB;
   5. after close: --close-wait s after those sessions closed. Goal: within 10 % of warm;
   6. arrivals (measured last, after B): for each page in turn, 8 new contexts open it at the same moment on the
      warm server; the time from page.goto to the page READY, per student. Goal < 5 s for every one.
   READY: home: the "Latent Lab" title and its first page link; explorer: the map drawn and its hover sprite sheets
   loaded (hovering works); words: the 3CosAdd answer shown; gan: ▶ Start and the 2-D field picture; style: the
   Gradio widget's Stylize button (inside its iframe); morph: the decoded morph picture.

B. Load test (point 6): N students (--students, default 1 4 8) start the lesson below at the same moment. Each
   latency is wall time in this process, from the user's action to the visible result:
   explorer map   page.goto(/explorer) → the map drawn (its figure data arrived)
   explorer open  page.goto(/explorer) → READY (above: the map, and its sprite sheets loaded)
   hover          the mouse moves onto the data point farthest from any other → the tooltip shows "reconstruction"
                  and a non-blank thumbnail (drawn in the browser from the sprite sheets: no server round trip)
   click point    click on that point → "nearest in code space" shown (one script rerun on the server)
   words open     page.goto(/words) → READY
   word query     Enter in the Expression box (an analogy whose answer differs from the default's) → both
                  methods' answers show the expected word
   gan open       page.goto(/gan) → READY
   gan start      click ▶ Start → the status line says "▶ running", or "queued" (a fair queue), or the page refuses
                  ("already training": all training slots busy; counted as refused, the student moves on)
   queue wait     only when "queued" appeared: click ▶ Start → "▶ running"
   gan pause      after 30 s of training (5 s with --quick), click ⏸ Pause → ▶ Start shown again
   style open     page.goto(/style) → READY
   stylize        click Stylize (a 1200×800 JPEG already uploaded into the widget, its preview shown; the default
                  gallery style) → the stylized picture shown
   morph open     page.goto(/morph) and a click on the "Two photos (Gradio)" tab → the widget's Morph button
   morph          click Morph (two face photos uploaded, previews shown: skimage's astronaut and its mirror image)
                  → the GIF shown
   Clicks are not repeated, except ⏸ Pause when the trainer visibly runs on 15 s later (the click was lost; counted).
   Errors: a step that fails or times out (the student then goes on with the next page). Exception boxes:
   [data-testid="stException"] and "This app has encountered an error", counted on each page after its steps.
   Goals, 8 students on the 2-core machine: 0 errors, 0 exception boxes, word query p95 < 1 s, hover p95 < 1 s,
   stylize p95 < 5 s.

Run from the repository root: `.venv/bin/python bench/serve.py` (bounded by --max-minutes, default 20; on 2 cores
shared with other work it needs more), `--quick` (2 students, 2 and 4 idle sessions, shorter waits: checks the
script works), `--parts memory load arrivals` (any of them; the tour always runs first and warms the server).
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.machine import (CHROMIUM_ARGS, chromium_path, cpu_model, load_line, serve_app, tree_cpu_seconds,  # noqa: E402
                           tree_rss_mb)

PAGES = ["", "explorer", "words", "gan", "style", "morph"]
PARTS = ["memory", "load", "arrivals"]
VIEWPORT = {"width": 1500, "height": 1100}
POLL = 100  # ms between checks of a page-side condition
ANALOGIES = [("paris - france + italy", "rome"), ("berlin - germany + france", "paris"),
             ("walking - walk + swim", "swimming"), ("queen - woman + man", "king"),
             ("bigger - big + small", "larger"), ("brother - man + woman", "daughter"),
             ("einstein - scientist + painter", "matisse")]  # both methods' top answer over GloVe's 400k words
STEPS = ["explorer map", "explorer open", "hover", "click point", "words open", "word query", "gan open", "gan start", "queue wait",
         "gan pause", "style open", "stylize", "morph open", "morph"]

# --- page-side checks (JavaScript) -------------------------------------------------------------------
MAP_READY = """() => { const gd = document.querySelector('.st-key-ll-map .js-plotly-plot');
  return !!(gd && gd._fullData && gd._fullLayout && gd._fullLayout.xaxis && gd._fullData.length >= 2); }"""
# The hover component holds this map's sprite sheets, all loaded (as tests/test_browser.py HOVER_READY).
HOVER_READY = """() => { const cfg = window.__llHover, gd = document.querySelector('.st-key-ll-map .js-plotly-plot');
  if (!cfg || !cfg.images || !cfg.grid || !gd || !gd._fullData) return false;
  const n = gd._fullData.filter((t) => t.customdata && t.customdata[0] >= 0).reduce((s, t) => s + t.x.length, 0);
  const cells = gd._fullData[0].x.length;
  if (cfg.images.count !== n || cfg.grid.count !== cells || !gd.__llBound) return false;
  return [['images', n], ['recon', n], ['grid', cells]].every(([k, count]) => {
    const imgs = Array.from(document.querySelectorAll('.st-key-' + cfg.keys[k] + ' img'));
    return imgs.length === Math.ceil(count / cfg[k].per_chunk)
      && imgs.every((img) => img.complete && img.naturalWidth > 0); }); }"""
# The data point (customdata >= 0) whose nearest other data point is farthest away, away from the plot's edges.
ISOLATED = """() => { const gd = document.querySelector('.st-key-ll-map .js-plotly-plot');
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, r = gd.getBoundingClientRect();
  const data = [];
  gd._fullData.forEach((tr) => { if (tr.customdata && tr.customdata[0] >= 0) for (let i = 0; i < tr.x.length; i++)
    data.push([r.left + xa._offset + xa.l2p(tr.x[i]), r.top + ya._offset + ya.l2p(tr.y[i])]); });
  const left = r.left + xa._offset, top = r.top + ya._offset;
  let best = null, bestD = -1;
  data.filter((_, k) => k % Math.ceil(data.length / 600) === 0).forEach((c) => {
    if (c[0] < left + 20 || c[0] > left + xa._length - 20 || c[1] < top + 20 || c[1] > top + ya._length - 20) return;
    let d = Infinity;
    for (const p of data) { if (p === c) continue; d = Math.min(d, (p[0] - c[0]) ** 2 + (p[1] - c[1]) ** 2); }
    if (d > bestD) { bestD = d; best = c; } });
  return best; }"""
TIP = """() => { const tip = document.getElementById('ll-hover-tip');
  if (!tip || tip.style.display === 'none' || !tip.innerText.includes('reconstruction')) return false;
  const c = document.getElementById('ll-tip-a'); if (!c || !c.width || !c.height) return false;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  for (let k = 4; k < d.length; k += 4) if (d[k] !== d[0] || d[k + 1] !== d[1] || d[k + 2] !== d[2]) return true;
  return false; }"""
ANSWERS = """(word) => ['3cosadd', '3cosmul'].every((m) => { const el = document.querySelector('.st-key-answer-' + m);
  return !!el && el.innerText.trim() === '→ ' + word; })"""
WORDS_READY = """() => { const el = document.querySelector('.st-key-answer-3cosadd');
  return !!el && el.innerText.trim().startsWith('→'); }"""
FIELD = """() => !!document.querySelector('[data-testid="stImage"] img')"""
MORPH_PICTURE = """() => Array.from(document.querySelectorAll('[data-testid="stImage"]'))
  .some((e) => e.innerText.includes('morph at t') && e.querySelector('img'))"""
IDLE = """() => { const app = document.querySelector('[data-testid="stApp"]');
  return !!app && app.dataset.testScriptState === 'notRunning' && app.dataset.testConnectionState === 'CONNECTED'; }"""
# The 2-D view's state as its status line and notes show it: running, queued, refused, or null (no answer yet).
GAN_STATE = """() => { const main = (document.querySelector('[data-testid="stMain"]') || document.body).innerText;
  if (/⏳ queued|Queued: position/.test(main)) return 'queued';
  if (main.includes('already training')) return 'refused';
  if (main.includes('▶ running')) return 'running';
  return null; }"""
ITERATIONS = """() => { const m = [...document.body.innerText.matchAll(/iteration ([\\d,]+) ·/g)];
  return m.length ? parseInt(m[0][1].replace(/,/g, '')) : 0; }"""
EXCEPTION = '[data-testid="stException"]'
PLAY = ".st-key-gan2d-play button"  # the 2-D GAN view's ▶ Start / ⏸ Pause
UPLOADED = 'img[src*="gradio_api/file="]'  # a Gradio image input's preview: the upload has arrived
CRASH = "This app has encountered an error"


# --- measuring ---------------------------------------------------------------------------------------
class RssSampler:
    """Samples the server tree's RSS every `every` seconds in a thread; peak() since the last reset()."""

    def __init__(self, pid: int, every: float = 0.5):
        self.pid, self.every, self._peak = pid, every, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self._peak = max(self._peak, tree_rss_mb(self.pid))

    def reset(self) -> None:
        self._peak = tree_rss_mb(self.pid)

    def peak(self) -> float:
        return max(self._peak, tree_rss_mb(self.pid))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


class CpuClock:
    """CPU seconds of the server tree and of this script's own tree without it (the browsers), from now on."""

    def __init__(self, server_pid: int):
        self.server_pid = server_pid
        self.start = self.read()

    def read(self) -> tuple[float, float, float]:
        server = tree_cpu_seconds(self.server_pid)
        return time.perf_counter(), server, tree_cpu_seconds(os.getpid()) - server

    def stop(self, record: "Record") -> None:
        now = self.read()
        record.wall_s, record.server_cpu_s, record.client_cpu_s = (b - a for a, b in zip(self.start, now))


@dataclass
class Record:
    """What one load run saw: latencies per step, errors, exception boxes, refusals."""
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    exception_boxes: int = 0
    refused: int = 0
    pauses_repeated: int = 0
    iterations_per_s: list[float] = field(default_factory=list)
    lesson_s: list[float] = field(default_factory=list)
    wall_s: float = 0.0  # the whole run
    server_cpu_s: float = 0.0  # CPU time the server used during the run
    client_cpu_s: float = 0.0  # CPU time the browsers (and this script) used during the run


def quantile(values: list[float], q: float) -> float:
    """The q-quantile by the nearest-rank method (p95 of 8 values is the largest)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def p50_p95(values: list[float]) -> str:
    if not values:
        return "—"
    return f"{statistics.median(values):.2f} / {quantile(values, 0.95):.2f} s ({len(values)})"


class Student:
    """One browser context: opens pages and times steps into a Record."""

    def __init__(self, page, url: str, record: Record, timeout_s: float):
        self.page, self.url, self.record, self.timeout = page, url, record, timeout_s * 1000
        self.doing = ""  # the step under way, named in an error

    async def wait(self, js: str, arg=None, timeout: float | None = None) -> None:
        await self.page.wait_for_function(js, arg=arg, polling=POLL, timeout=timeout or self.timeout)

    async def ready(self, name: str) -> None:
        """Wait until page `name` is READY (see the module docstring)."""
        page = self.page
        if name == "":
            await page.get_by_role("heading", name="Latent Lab").first.wait_for()
            await page.get_by_role("link", name="Open the explorer").wait_for()
        elif name == "explorer":
            await self.wait(MAP_READY)
            await self.wait(HOVER_READY)
        elif name == "words":
            await self.wait(WORDS_READY)
        elif name == "gan":
            await page.locator(PLAY, has_text="▶ Start").wait_for()
            await self.wait(FIELD)
        elif name == "style":
            await self.widget().get_by_role("button", name="Stylize").wait_for()
        elif name == "morph":
            await self.wait(MORPH_PICTURE)

    async def open(self, name: str) -> float:
        """page.goto(name) → READY, in seconds."""
        start = time.perf_counter()
        await self.page.goto(f"{self.url}/{name}")
        await self.ready(name)
        return time.perf_counter() - start

    def widget(self):
        return self.page.frame_locator('iframe[src*="sid="]')

    async def settle(self) -> None:
        await self.wait(IDLE)

    async def exception_boxes(self) -> int:
        return await self.page.locator(EXCEPTION).count() + await self.page.get_by_text(CRASH).count()

    async def section(self, name: str, steps) -> None:
        """Run one page's steps; a failure is an error (the student goes on), then count the exception boxes."""
        try:
            await steps()
        except Exception as e:  # noqa: BLE001 - every failure is a figure of the run
            self.record.errors.append(f"{name}, {self.doing or 'before any step'}: {type(e).__name__}: "
                                      f"{str(e).splitlines()[0][:160]}")
        self.doing = ""
        try:
            self.record.exception_boxes += await self.exception_boxes()
        except Exception as e:  # noqa: BLE001
            self.record.errors.append(f"{name} (counting exception boxes): {type(e).__name__}")

    @contextlib.asynccontextmanager
    async def timed(self, step: str):
        """Time the block as latency `step` (kept only when the block succeeds); a failure inside names it."""
        self.doing, start = step, time.perf_counter()
        yield
        self.record.latencies[step].append(time.perf_counter() - start)

    # --- the lesson ---
    async def explorer(self) -> None:
        page = self.page
        async with self.timed("explorer open"):
            async with self.timed("explorer map"):
                await page.goto(f"{self.url}/explorer")
                await self.wait(MAP_READY)
            self.doing = "explorer open"
            await self.ready("explorer")
        await self.settle()
        await page.locator(".st-key-ll-map").scroll_into_view_if_needed()
        x, y = await page.evaluate(ISOLATED)
        await page.mouse.move(x - 25, y - 25)
        async with self.timed("hover"):
            await page.mouse.move(x, y, steps=4)
            await self.wait(TIP)
        async with self.timed("click point"):
            await page.mouse.click(x, y)
            await page.get_by_text("nearest in code space").first.wait_for()
        await self.settle()

    async def words(self, expression: str, answer: str) -> None:
        async with self.timed("words open"):
            await self.open("words")
        await self.settle()
        box = self.page.get_by_label("Expression", exact=True)
        await box.fill(expression)
        async with self.timed("word query"):
            await box.press("Enter")
            await self.wait(ANSWERS, answer)
        await self.settle()

    async def gan(self, seconds: float, queue_cap_s: float) -> None:
        page = self.page
        async with self.timed("gan open"):
            await self.open("gan")
        await self.settle()
        play = page.locator(PLAY)
        clicked = time.perf_counter()
        async with self.timed("gan start"):
            await play.click()
            state = await (await page.wait_for_function(GAN_STATE, polling=POLL, timeout=self.timeout)).json_value()
        if state == "refused":
            self.record.refused += 1
            return
        if state == "queued":
            self.doing = "queue wait"
            await page.wait_for_function(f"() => ({GAN_STATE})() === 'running'", polling=POLL,
                                         timeout=queue_cap_s * 1000)
            self.record.latencies["queue wait"].append(time.perf_counter() - clicked)
        running, first = time.perf_counter(), await page.evaluate(ITERATIONS)
        await page.wait_for_timeout(seconds * 1000)
        self.record.iterations_per_s.append((await page.evaluate(ITERATIONS) - first) / (time.perf_counter() - running))
        async with self.timed("gan pause"):
            await self.pause(play)
        await self.settle()

    async def pause(self, play, retry_s: float = 15) -> None:
        """Click ⏸ Pause until ▶ Start shows. A click is repeated only when ▶ Start has not come within retry_s and
        the iteration counter still climbs, i.e. the trainer still runs: the click was lost, not slow (a second
        click on a slow but taken one would start the trainer again)."""
        from playwright.async_api import TimeoutError as Timeout

        paused, deadline = self.page.locator(PLAY, has_text="▶ Start"), time.perf_counter() + self.timeout / 1000
        await play.click()
        while True:
            try:
                await paused.wait_for(timeout=1000 * max(0.1, min(retry_s, deadline - time.perf_counter())))
                return
            except Timeout:
                if time.perf_counter() >= deadline:
                    raise
            before = await self.page.evaluate(ITERATIONS)
            await self.page.wait_for_timeout(3000)
            if await self.page.evaluate(ITERATIONS) > before and "Pause" in await play.inner_text():
                self.record.pauses_repeated += 1
                await play.click()

    async def style(self, photo: str) -> None:
        async with self.timed("style open"):
            await self.open("style")
        widget = self.widget()
        await widget.locator('input[type="file"]').first.set_input_files(photo)
        await widget.locator(UPLOADED).first.wait_for()
        async with self.timed("stylize"):
            await widget.get_by_role("button", name="Stylize").click()
            await widget.locator('img[src*="/stylized.png"]').wait_for()

    async def morph(self, faces: list[str]) -> None:
        widget = self.widget()
        async with self.timed("morph open"):
            await self.page.goto(f"{self.url}/morph")
            await self.page.get_by_role("tab", name="Two photos (Gradio)").click()
            await widget.get_by_role("button", name="Morph").wait_for()
        inputs = widget.locator('input[type="file"]')
        await inputs.nth(0).set_input_files(faces[0])
        await inputs.nth(1).set_input_files(faces[1])
        await widget.locator(UPLOADED).nth(1).wait_for()
        async with self.timed("morph"):
            await widget.get_by_role("button", name="Morph").click()
            await widget.locator('img[src*=".gif"]').first.wait_for()


# --- phases --------------------------------------------------------------------------------------------
@dataclass
class Config:
    students: list[int]
    idle: list[int]
    arrivals: int
    gan_seconds: float
    close_wait_s: float
    step_timeout_s: float
    queue_cap_s: float
    parts: set[str]  # of "memory", "load", "arrivals"
    deadline: float = 0.0  # time.monotonic() after which no phase starts


def sample_files(folder: Path) -> tuple[str, list[str]]:
    """The photo to stylize (chelsea, 1200×800 JPEG) and two face photos (astronaut and its mirror image)."""
    from PIL import Image, ImageOps
    from skimage.data import astronaut, chelsea

    photo = folder / "cat.jpg"
    Image.fromarray(chelsea()).resize((1200, 800)).save(photo, quality=90)
    face = Image.fromarray(astronaut())
    faces = [folder / "astronaut.jpg", folder / "astronaut-mirrored.jpg"]
    face.save(faces[0], quality=90)
    ImageOps.mirror(face).save(faces[1], quality=90)
    return str(photo), [str(f) for f in faces]


async def new_student(browser, url: str, record: Record, cfg: Config) -> tuple[object, Student]:
    context = await browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(cfg.step_timeout_s * 1000)
    return context, Student(await context.new_page(), url, record, cfg.step_timeout_s)


async def lesson(browser, url: str, index: int, record: Record, cfg: Config, photo: str, faces: list[str]) -> None:
    context, s = await new_student(browser, url, record, cfg)
    start = time.perf_counter()
    try:
        await s.section("explorer", s.explorer)
        await s.section("words", lambda: s.words(*ANALOGIES[index % len(ANALOGIES)]))
        await s.section("gan", lambda: s.gan(cfg.gan_seconds, cfg.queue_cap_s))
        await s.section("style", lambda: s.style(photo))
        await s.section("morph", lambda: s.morph(faces))
    finally:
        record.lesson_s.append(time.perf_counter() - start)
        await context.close()


async def open_idle(browser, url: str, count: int, record: Record, cfg: Config, batch: int = 5) -> list:
    """`count` contexts that opened the home page and wait there; opened `batch` at a time."""
    contexts = []

    async def one():
        context, s = await new_student(browser, url, record, cfg)
        contexts.append(context)
        await s.section("home (idle)", lambda: s.open(""))

    for k in range(0, count, batch):
        await asyncio.gather(*(one() for _ in range(min(batch, count - k))))
    return contexts


async def arrivals(browser, url: str, server_pid: int, name: str, count: int, cfg: Config) -> Record:
    """`count` students open page `name` at the same moment; their goto → READY times."""
    record = Record()
    pairs = [await new_student(browser, url, record, cfg) for _ in range(count)]
    cpu = CpuClock(server_pid)

    async def one(s: Student):
        async def steps():
            record.latencies[name or "home"].append(await s.open(name))
        await s.section(name or "home", steps)

    try:
        await asyncio.gather(*(one(s) for _, s in pairs))
        cpu.stop(record)
    finally:
        for context, _ in pairs:
            await context.close()
    return record


def left_s(cfg: Config) -> float:
    return cfg.deadline - time.monotonic()


def say(line: str = "") -> None:
    print(line, flush=True)


async def tour(browser, url: str, pid: int, cfg: Config, memory: list) -> Record:
    """A.2-3: one session visits every page (this also warms the server), then closes."""
    record = Record()
    context, s = await new_student(browser, url, record, cfg)
    for name in PAGES:
        async def visit(name=name):
            async with s.timed(name or "home"):
                await s.open(name)
            await s.settle()
        await s.section(name or "home", visit)
    memory.append(("one session visited every page (still open)", tree_rss_mb(pid), ""))
    say(f"tour: {', '.join(f'{k} {v[0]:.1f} s' for k, v in record.latencies.items())}; errors {record.errors}; "
        f"RSS {memory[-1][1]:.0f} MB")
    await context.close()
    return record


async def idle_sessions(browser, url: str, pid: int, cfg: Config, memory: list) -> None:
    """A.3-5: the warm level, then 10 and 30 idle sessions, then the level after they closed."""
    await asyncio.sleep(cfg.close_wait_s)
    warm = tree_rss_mb(pid)
    memory.append((f"warm: that session closed {cfg.close_wait_s:.0f} s ago", warm, ""))
    say(f"warm RSS {warm:.0f} MB")
    record, contexts = Record(), []
    for count in cfg.idle:
        if left_s(cfg) < 120:
            say(f"skipped: {count} idle sessions (time budget)")
            break
        contexts += await open_idle(browser, url, count - len(contexts), record, cfg)
        await asyncio.sleep(5)  # let the last ones finish their first run
        rss = tree_rss_mb(pid)
        memory.append((f"{count} idle sessions (home page)", rss,
                       f"{(rss - warm) / count:+.1f} MB per session (goal ≤ 30)"))
        say(f"{count} idle sessions: RSS {rss:.0f} MB, {(rss - warm) / count:+.1f} MB per session")
    if contexts:
        for context in contexts:
            await context.close()
        await asyncio.sleep(cfg.close_wait_s)
        rss = tree_rss_mb(pid)
        memory.append((f"{cfg.close_wait_s:.0f} s after the {len(contexts)} sessions closed", rss,
                       f"{100 * (rss - warm) / warm:+.1f} % of warm (goal within ±10 %)"))
        say(f"after close: RSS {rss:.0f} MB ({100 * (rss - warm) / warm:+.1f} % of warm)")
    say(f"idle sessions: errors {record.errors}, exception boxes {record.exception_boxes}")


async def load_runs(browser, url: str, pid: int, cfg: Config, files: tuple[str, list[str]]) -> dict:
    """B: for each N, N students follow the lesson at the same time; N → (Record, RSS peak, load before / after)."""
    photo, faces = files
    sampler, runs = RssSampler(pid), {}
    for n in cfg.students:
        if left_s(cfg) < 90:
            say(f"skipped: {n} students (time budget)")
            continue
        await asyncio.sleep(min(20.0, max(0.0, left_s(cfg) - 90)))  # the previous run's sessions end
        record, before = Record(), os.getloadavg()[0]
        sampler.reset()
        cpu = CpuClock(pid)
        tasks = [lesson(browser, url, i, record, cfg, photo, faces) for i in range(n)]
        try:
            await asyncio.wait_for(asyncio.gather(*tasks), timeout=max(60.0, left_s(cfg)))
        except asyncio.TimeoutError:
            record.errors.append("the run was stopped at the time budget")
        cpu.stop(record)
        runs[n] = (record, sampler.peak(), (before, os.getloadavg()[0]))
        say(f"{n} students: lesson {p50_p95(record.lesson_s)}, errors {len(record.errors)}, "
            f"exception boxes {record.exception_boxes}, refused {record.refused}, RSS peak {runs[n][1]:.0f} MB")
        for e in record.errors:
            say(f"   error: {e}")
    sampler.stop()
    return runs


async def arrival_runs(browser, url: str, pid: int, cfg: Config) -> dict:
    """A.6: for each page, cfg.arrivals students open it at the same moment."""
    runs = {}
    for name in PAGES:
        if left_s(cfg) < 60:
            say(f"skipped: arrivals on {name or 'home'} (time budget)")
            continue
        r = runs[name or "home"] = await arrivals(browser, url, pid, name, cfg.arrivals, cfg)
        values = r.latencies[name or "home"]
        say(f"{cfg.arrivals} arriving on {name or 'home'}: {p50_p95(values)}, "
            f"max {max(values, default=float('nan')):.2f} s, errors {r.errors}")
    return runs


async def run(cfg: Config) -> None:
    from playwright.async_api import async_playwright

    folder = Path(tempfile.mkdtemp(prefix="latentlab-bench-serve-"))
    files, log = sample_files(folder), folder / "streamlit.log"
    started = time.perf_counter()
    with serve_app(log=log) as (url, pid):
        up_s = time.perf_counter() - started
        memory = [(f"start (health check answered, {up_s:.0f} s after launch)", tree_rss_mb(pid), "")]
        say(f"server up in {up_s:.1f} s at {url}, RSS {memory[0][1]:.0f} MB (log: {log})")
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
            first_visits = await tour(browser, url, pid, cfg, memory)
            if "memory" in cfg.parts:
                await idle_sessions(browser, url, pid, cfg, memory)
            loads = await load_runs(browser, url, pid, cfg, files) if "load" in cfg.parts else {}
            arrival = await arrival_runs(browser, url, pid, cfg) if "arrivals" in cfg.parts else {}
            await browser.close()
    report(cfg, memory, first_visits, arrival, loads)


def report(cfg: Config, memory: list, first_visits: Record, arrival: dict, runs: dict) -> None:
    say("\n### A. Memory (server RSS: the streamlit process tree, /proc VmRSS)\n")
    say("| moment | server RSS | note |\n|---|---|---|")
    for moment, rss, note in memory:
        say(f"| {moment} | {rss:,.0f} MB | {note} |")
    say("\nFirst visit of each page by one session (goto → READY): "
        + ", ".join(f"{k} {v[0]:.1f} s" for k, v in first_visits.latencies.items()) + ".")
    if arrival:
        say(f"\n### A. {cfg.arrivals} students arriving together on the warm server (goto → READY)\n")
        say("| page | p50 / p95 (n) | max | goal < 5 s | errors | exception boxes | CPU s server / browsers |\n"
            "|---|---|---|---|---|---|---|")
        for name, r in arrival.items():
            values = r.latencies[name]
            top = max(values, default=float("inf"))
            say(f"| {name} | {p50_p95(values)} | {top:.2f} s | {'met' if top < 5 and not r.errors else 'missed'} "
                f"| {len(r.errors)} | {r.exception_boxes} | {r.server_cpu_s:.0f} / {r.client_cpu_s:.0f} |")
    if runs:
        ns = list(runs)
        loads = {n: run[0] for n, run in runs.items()}
        say("\n### B. Load test: N students, one lesson at the same time (p50 / p95 (count), seconds)\n")
        say("| interaction | " + " | ".join(f"N = {n}" for n in ns) + " |\n|---|" + "---|" * len(ns))
        for step in STEPS:
            say(f"| {step} | " + " | ".join(p50_p95(loads[n].latencies.get(step, [])) for n in ns) + " |")
        rows = [("whole lesson", lambda n: p50_p95(loads[n].lesson_s)),
                ("2-D GAN iterations/s per trainer (median)",
                 lambda n: f"{statistics.median(loads[n].iterations_per_s):.0f}" if loads[n].iterations_per_s else "—"),
                ("GAN starts refused (all slots busy)", lambda n: str(loads[n].refused)),
                ("errors", lambda n: str(len(loads[n].errors))),
                ("exception boxes", lambda n: str(loads[n].exception_boxes)),
                ("Pause clicks repeated (the first did not stop the trainer)",
                 lambda n: str(loads[n].pauses_repeated)),
                ("server RSS peak", lambda n: f"{runs[n][1]:,.0f} MB"),
                ("run wall time; CPU s used by the server / by the browsers",
                 lambda n: f"{loads[n].wall_s:.0f} s; {loads[n].server_cpu_s:.0f} / {loads[n].client_cpu_s:.0f}"),
                ("1-min load average before / after", lambda n: "%.1f / %.1f" % runs[n][2])]
        for name, cell in rows:
            say(f"| {name} | " + " | ".join(cell(n) for n in ns) + " |")
        n = max(ns)
        r = loads[n]
        say(f"\nGoals with {n} students:")
        for name, values, limit in (("word query p95 < 1 s", r.latencies.get("word query", []), 1),
                                    ("hover p95 < 1 s", r.latencies.get("hover", []), 1),
                                    ("stylize p95 < 5 s", r.latencies.get("stylize", []), 5)):
            ok = bool(values) and quantile(values, 0.95) < limit
            say(f"- {'met' if ok else 'missed'}: {name} ({p50_p95(values)})")
        say(f"- {'met' if not r.errors else 'missed'}: 0 errors ({len(r.errors)})")
        say(f"- {'met' if not r.exception_boxes else 'missed'}: 0 exception boxes ({r.exception_boxes})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, nargs="+", help="N for each load run (default 1 4 8; --quick: 2)")
    parser.add_argument("--quick", action="store_true", help="2 students, 2 and 4 idle sessions, short waits")
    parser.add_argument("--max-minutes", type=float, default=20, help="no phase starts after this")
    parser.add_argument("--step-timeout", type=float, default=120, help="seconds one step may take")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=PARTS,
                        help="what to measure after the tour (which always runs: it warms the server)")
    args = parser.parse_args()
    parts = set(args.parts)
    if args.quick:
        cfg = Config(args.students or [2], [2, 4], 2, 5, 20, args.step_timeout, 60, parts)
    else:
        cfg = Config(args.students or [1, 4, 8], [10, 30], 8, 30, 60, args.step_timeout, 300, parts)
    cfg.deadline = time.monotonic() + args.max_minutes * 60
    if chromium_path() is None:
        sys.exit("Chromium not found (apt-get install chromium)")
    load = os.getloadavg()[0]
    print(f"Latent Lab serving benchmark, {time.strftime('%Y-%m-%d %H:%M')}: {' '.join(sys.argv)}")
    print(f"{cpu_model()}, {os.cpu_count()} cores; {load_line()}")
    if load > 2:
        print(f"WARNING: the 1-minute load average is {load:.1f} (> 2) before the start: other work shares the "
              "cores, and every latency below includes waiting for it.")
    asyncio.run(run(cfg))
    print(f"\nMachine: {cpu_model()}, {os.cpu_count()} cores. Load before: {load:.2f}; after: {load_line()}")


if __name__ == "__main__":
    main()
