"""Shared UI helpers for every page: cached loaders, image grids, messages, background training panel.

Pages stay thin: they call the engine through these cached helpers and never train in the script body.
"""
from __future__ import annotations

import functools
import hashlib
import html
import inspect
import json
from pathlib import Path
from typing import Callable

import numpy as np
import streamlit as st

from engine import imageio

ASSETS = Path(__file__).resolve().parents[2] / "assets"


# --- page furniture ----------------------------------------------------------------------------
def use_app_navigation() -> None:
    """Run this page under app.py's st.navigation even when it is a fresh server's first request.

    Why: with a folder named pages/ beside the entry script, Streamlit (1.67) serves in its legacy pages/-folder
    mode until some session has called st.navigation (its docs: "as soon as any session of your app executes the
    st.navigation command, your app will ignore the pages/ directory"). So a new server's first visit to
    /explorer runs pages/explorer.py without app.py: the folder's menu, no wide layout. No setting turns that
    mode off (client.showSidebarNavigation only hides the menu) and the supported way out, a folder not named
    pages/, is not our layout. So leave the mode here through the class flag that st.navigation itself clears,
    and rerun: app.py then routes this very URL. tests/test_navigation.py fails if Streamlit changes this.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


# User text (file and folder names, words, anything from an upload) never goes through Markdown: Streamlit parses
# the body of st.markdown, st.caption, st.error… as Markdown, so `![i](//some.host/a.png)` there would make every
# viewer's browser fetch that address. Messages that may hold such text keep a fixed headline in the coloured box
# and show the text itself with st.text.
def alert(box: Callable, headline: str, detail: str) -> None:
    """A coloured box (st.error, st.warning…) with a fixed headline, the user-text detail as plain text below."""
    box(headline)
    st.text(detail)


def plot_label(text: str) -> str:
    """User text for a Plotly label: Plotly reads <b>, <a href=…> and &entities; in labels, so escape them."""
    return html.escape(text, quote=False)


def intro(title: str, formula: str, try_this: str, notice: str) -> None:
    """Title, the lecture's formula, and what to try / what to notice."""
    st.title(title)
    st.latex(formula)
    with st.expander("What to try, what to notice", expanded=False):
        st.markdown(f"**Try:** {try_this}\n\n**Notice:** {notice}")


def show_images(images: np.ndarray, per_row: int = 10, scale: int = 3, caption: str | None = None) -> None:
    """One pre-tiled picture (cheaper for the browser than many st.image calls)."""
    if len(images) == 0:
        st.caption("(no images)")
        return
    st.image(imageio.png_bytes(imageio.grid(images, per_row, pad=1), scale=scale), caption=caption)


def thumbnail(image: np.ndarray, side: int) -> np.ndarray:
    """An H×W×3 photo (floats in [0, 1] or uint8) as uint8 at most `side` pixels long: the browser gets no more."""
    array = np.asarray(image)
    floats = array.astype(np.float32) / 255 if array.dtype == np.uint8 else array
    if max(floats.shape[:2]) > side:
        floats = imageio.fit_longest(floats, side)
    return imageio.rgb_uint8(floats)


# --- cached engine calls -------------------------------------------------------------------------
def user_data(spinner: str):
    """Cache a function of user data (an upload, or what is decoded from one) in the process's one memory budget,
    engine.cache.USER_DATA: least recently used out first, whichever page or session put it there.

    Like st.cache_resource, arguments whose names start with "_" are left out of the key (pass a content hash
    beside them); an exception is raised to the caller and nothing is kept."""
    from engine.cache import USER_DATA

    def wrap(fn):
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def cached(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            key = (fn.__module__, fn.__qualname__, *((k, v) for k, v in bound.arguments.items() if k[0] != "_"))

            def make():
                with st.spinner(spinner):
                    return fn(*args, **kwargs)

            return USER_DATA.get_or_make(key, make)

        return cached

    return wrap


@st.cache_resource(show_spinner="Loading the dataset…", max_entries=8)
def dataset(name: str, options_json: str = "{}"):
    """engine.data.load_dataset, once per process for each (name, options)."""
    from engine.data import load_dataset

    return load_dataset(name, **json.loads(options_json))


@user_data("Reading your images…")
def uploaded_zip(content_hash: str, _content: bytes, size: int, color: bool):
    from engine.data import load_image_zip

    return load_image_zip(_content, size=size, color=color)


@user_data("Reading your folder…")
def image_folder(path: str, size: int, color: bool, mtime: float):
    """The folder's images, read again when its modification time changes."""
    from engine.data import load_image_folder

    return load_image_folder(path, size=size, color=color)


@st.cache_resource(show_spinner="Loading the model…", max_entries=16)
def checkpoint(path: str, mtime: float):
    """(model, card) from a safetensors checkpoint; raises engine.checkpoints.CheckpointError."""
    from engine.latent.checkpoints import load_checkpoint

    return load_checkpoint(path)


@st.cache_resource(show_spinner=False)
def warm_up_umap() -> None:
    """Once per server: compile UMAP's numba code in a background thread while the user looks around."""
    import threading

    from engine.latent.projection import warm_up

    threading.Thread(target=warm_up, daemon=True, name="latentlab-umap-warmup").start()


@user_data("Checking the checkpoint…")
def uploaded_checkpoint(content_hash: str, _content: bytes, filename: str):
    """(model, card) from an uploaded file, through the same safetensors-only loader as shipped ones.

    The bytes go into a private temporary folder under the upload's own name (letters, digits, "._-" kept), so the
    loader's messages name the user's file; the folder is gone when this returns."""
    import re
    import tempfile

    from engine.latent.checkpoints import load_checkpoint

    name = re.sub(r"[^A-Za-z0-9._-]", "_", Path(filename).name).lstrip(".") or "upload.bin"
    with tempfile.TemporaryDirectory(prefix="latentlab-upload-") as folder:
        path = Path(folder) / name
        path.write_bytes(_content)
        return load_checkpoint(path)


def content_hash(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


# --- background training -------------------------------------------------------------------------
class JobSlot:
    """This browser session's training job or GAN trainer; released (and stopped) when the session ends."""

    def __init__(self):
        self.job = None
        self.meta: dict = {}

    def stop(self) -> None:
        """Stop a job (engine.jobs) or close a trainer (engine.gan.trainer) for good."""
        if self.job is not None:
            (self.job.close if hasattr(self.job, "close") else self.job.stop)()


@st.cache_resource(scope="session", on_release=lambda slot: slot.stop())
def job_slot(name: str) -> JobSlot:
    return JobSlot()


def job_notice(slot_name: str, what: str) -> None:
    """Keep ?job=<slot_name> in the page's URL while this session's job in that slot is queued or running (call it
    after the section's Start). A session that finds the mark but no such job of its own is a new session on the
    same page — the server restarted, or the page was reloaded — so the job is gone: it says so, and the section's
    Start button is there to run it again."""
    slot, marks = job_slot(slot_name), st.query_params.get_all("job")
    mine, gone = f"job-mine-{slot_name}", f"job-gone-{slot_name}"  # this session set the mark; its job is gone
    if slot.job is not None and slot.job.snapshot().state in ("running", "queued"):
        st.session_state[mine] = True
        st.session_state.pop(gone, None)
        if slot_name not in marks:
            st.query_params["job"] = [*marks, slot_name]
        return
    if slot_name in marks:
        st.query_params["job"] = [m for m in marks if m != slot_name]
        if not st.session_state.get(mine):
            st.session_state[gone] = True  # said until the next start
    if st.session_state.get(gone):
        st.warning(f"Your {what} is gone: the server restarted, or this page was reloaded, and either starts a "
                   "new session. Start it again below.")


QUEUE_POLL_SECONDS = 1.0  # a queued job's place is redrawn this often


def queued_note(place: tuple[int, int]) -> None:
    """Where a queued job stands: (position k, n waiting) from its snapshot."""
    from engine.jobs import SLOTS

    st.info(f"Queued: position {place[0]} of {place[1]} — starts by itself when a slot frees "
            f"(all {SLOTS.size} training slots of this server are busy).")


def live_status(snap, shown: str, text: str, running: Callable[[], None], idle: Callable[[], None]) -> None:
    """A live job's state in one line, for the GAN and domain pages' trainers (a snapshot with state, message and
    queue); a full rerun when it is no longer the state the page was drawn for (`shown`: queued → running, or
    running → diverged or done), so the Play button and the polling follow. `text` says where it is; `running` and
    `idle` draw the page's own running and paused/finished lines."""
    if snap.state != shown:
        st.rerun(scope="app")
    if snap.state == "diverged":
        st.error(f"Training stopped: {snap.message}")
    elif snap.state == "queued":
        queued_note(snap.queue)
        st.caption(f"⏳ queued · {text}")
    elif snap.state == "running":
        running()
    else:
        idle()


def loss_chart(losses: list[float], val_mse: list[float], height: int = 220):
    """Training loss per step (thin) and validation MSE per epoch (markers)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    step = max(1, len(losses) // 800)  # keep the chart light: at most ~800 points
    fig.add_scatter(x=np.arange(0, len(losses), step), y=losses[::step], mode="lines", name="training loss")
    if val_mse:
        steps_per_epoch = max(1, len(losses) // max(1, len(val_mse)))
        fig.add_scatter(x=[(i + 1) * steps_per_epoch for i in range(len(val_mse))], y=val_mse,
                        mode="lines+markers", name="validation MSE", yaxis="y2")
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=10, b=10), xaxis_title="step",
                      yaxis=dict(title="loss", type="log"),
                      yaxis2=dict(title="val MSE", overlaying="y", side="right", type="log",
                                  range=_log_range(val_mse) if val_mse else None, tickformat=".2g"),
                      legend=dict(orientation="h", y=1.15))
    return fig


def _log_range(values: list[float]) -> list[float]:
    """A log axis's range round the values, at least 0.4 decades wide: plotly's own range for one point (or a
    nearly flat curve) gets ticks labelled with bare digits."""
    lo, hi = np.log10(max(min(values), 1e-12)), np.log10(max(max(values), 1e-12))
    pad = max(0.05, (0.4 - (hi - lo)) / 2)
    return [lo - pad, hi + pad]


def training_panel(data, slot_name: str, default_kind: str = "conv", current: tuple[str, object] | None = None) -> None:
    """Form → background TrainingJob → live loss chart with a stop button (a fragment polls the job).

    current: (title, model) of the model in use, offered as a starting point: "continue training" trains a copy
    of it (its architecture fixed), so the shipped or cached model itself never changes."""
    import copy

    from engine.latent.jobs import TrainingJob
    from engine.latent.models import MODEL_KINDS, AEConfig, Autoencoder
    from engine.latent.train import TrainConfig

    slot = job_slot(slot_name)
    running = slot.job is not None and not slot.job.snapshot().finished
    resume = current is not None and st.radio(
        "Start from", [False, True], horizontal=True, key=f"{slot_name}-resume",
        format_func=lambda r: f"{current[0]} (continue training)" if r else "fresh random weights")
    arch = current[1].config if resume else AEConfig(kind=default_kind)
    with st.form(f"{slot_name}-form"):
        c1, c2, c3 = st.columns(3)
        kind = c1.selectbox("Model", list(MODEL_KINDS), index=list(MODEL_KINDS).index(arch.kind),
                            format_func=MODEL_KINDS.get, disabled=resume)
        code = c2.number_input("Code size", 1, max(512, arch.code_size), arch.code_size, disabled=resume)
        epochs = c3.number_input("Epochs", 1, 500, 10)
        c1, c2, c3, c4 = st.columns(4)
        sparse = c1.number_input("Sparse: L1 weight λ", 0.0, 10.0, arch.sparse_l1, format="%.4f", disabled=resume)
        noise = c2.number_input("Denoising: noise σ", 0.0, 2.0, arch.noise_sigma, disabled=resume)
        in_drop = c3.number_input("Input dropout", 0.0, 0.95, arch.input_dropout, disabled=resume)
        code_drop = c4.number_input("Code dropout", 0.0, 0.95, arch.code_dropout, disabled=resume)
        c1, c2, c3, c4 = st.columns(4)
        lr = c1.number_input("Learning rate", 1e-5, 1.0, 5e-4 if resume else 2e-3, format="%.5f",
                             help="Continuing starts lower (5e-4): at the fresh default a trained model's error "
                                  "first goes up (Adam's first steps are large).")
        batch = c2.number_input("Batch size", 1, 4096, 64)
        seed = c3.number_input("Seed", 0, 2**31 - 1, 0)
        augment = c4.checkbox("Mirror and shift", help="Augmentation: each batch mirrored left-right at random and "
                              "shifted by up to a pixel. Helps small sets of faces (LFW's 90) overfit less; "
                              "wrong for digits, whose mirror images are not digits.")
        start = st.form_submit_button("Start training", type="primary", disabled=running)
    if start and not running:  # a second click while a job runs must not start another
        try:
            import torch

            torch.manual_seed(int(seed))  # the seed fixes the initial weights too, not only the batches
            if resume:
                model = copy.deepcopy(current[1])
                title = f"{current[0].removesuffix(' (trained here)')} + {int(epochs)} epoch{'s' * (epochs != 1)}"
            else:
                model = Autoencoder(AEConfig(kind=kind, input_shape=data.image_shape, code_size=int(code),
                                             sparse_l1=sparse, noise_sigma=noise, input_dropout=in_drop,
                                             code_dropout=code_drop))
                title = f"{MODEL_KINDS[kind]}, code {int(code)}"
            config = TrainConfig(epochs=int(epochs), batch_size=int(batch), lr=float(lr), seed=int(seed),
                                 augment=augment)
            config.validate()
            slot.job = TrainingJob(model, data.images, config).start()
            from engine.device import describe, pick_device

            title += f"{', augmented' if augment else ''} (trained here)"
            slot.meta = {"title": title, "shown_done": False,
                         "device": describe(pick_device())}
            running = True
        except ValueError as e:
            st.error(str(e))
    job_notice(slot_name, "model's training")
    st.fragment(run_every=0.5 if running else None)(_training_progress)(slot_name)


def _training_progress(slot_name: str) -> None:
    slot = job_slot(slot_name)
    if slot.job is None:
        st.caption("No model trained in this session yet.")
        return
    snap = slot.job.snapshot()
    if snap.queue:
        queued_note(snap.queue)
        st.button("Leave the queue", on_click=slot.job.stop, key=f"{slot_name}-stop")
        return
    frac = snap.step / snap.steps_total if snap.steps_total else 0.0
    st.progress(min(1.0, frac), text=f"{slot.meta.get('title', '')} · epoch {snap.epoch}/{snap.epochs} · "
                                     f"step {snap.step}/{snap.steps_total} · {snap.seconds:.1f} s")
    st.caption(f"Running on {slot.meta.get('device', '?')}.")
    if snap.losses:
        st.plotly_chart(loss_chart(snap.losses, snap.val_mse), key=f"{slot_name}-loss")
    if not snap.finished:
        st.button("Stop training", on_click=slot.job.stop, key=f"{slot_name}-stop")
        return
    if snap.state == "failed":
        st.error(f"Training failed: {snap.error}")
    elif slot.job.output is None:
        st.caption("Left the queue before its turn: nothing was trained.")
    else:
        val = f", validation MSE {snap.val_mse[-1]:.5f}" if snap.val_mse else ""
        st.success(f"Training {snap.state} after {snap.seconds:.1f} s{val}. Pick “{slot.meta.get('title')}” "
                   "under Model in the sidebar.")
    if not slot.meta.get("shown_done"):
        slot.meta["shown_done"] = True
        st.rerun(scope="app")  # let the page pick up the new model


def session_result(slot_name: str) -> tuple[object, str, str] | None:
    """(output, title, key) of this session's finished job in that slot — the model or vectors it made, its title,
    and a key that changes with every run (for caches) — or None. A stopped run still gives its output."""
    slot = job_slot(slot_name)
    job = slot.job
    if job is None or not job.snapshot().finished or job.output is None:
        return None
    return job.output, slot.meta.get("title", "trained in this session"), f"session:{id(job)}"


# --- map with hover thumbnails -------------------------------------------------------------------
_hover_component = st.components.v2.component(
    "latentlab_hover_map", js=(ASSETS / "hover_map.js").read_text(), html="<span></span>"
)


@st.cache_data(max_entries=16, show_spinner=False)
def atlas(key: str, _images: np.ndarray) -> tuple[list[bytes], dict]:
    """Sprite sheets of _images (cached by key: images of one dataset/model/map)."""
    return imageio.atlas(_images)


def hover_thumbnails(map_key: str, map_id: str, atlases: dict[str, tuple[list[bytes], dict]],
                     labels: list[str] | None, size: int = 96) -> None:
    """Hidden sprite sheets + the component that shows them next to the cursor on plotly_hover.

    atlases: {"images": ..., "recon": ..., "grid": ...} as returned by `atlas`; map_id must equal the
    figure's layout.uirevision, so a new map never shows the previous map's thumbnails.
    """
    keys = {"map": map_key}
    for name, (chunks, _) in atlases.items():
        keys[name] = f"ll-atlas-{name}"
        with st.container(key=keys[name]):
            for chunk in chunks:
                st.image(chunk, output_format="PNG")
    st.html("<style>" + "".join(f".st-key-{k} {{display:none}}" for n, k in keys.items() if n != "map") + "</style>")
    data = {"keys": keys, "size": size, "labels": labels, "map_id": map_id}
    data.update({name: geometry for name, (_, geometry) in atlases.items()})
    _hover_component(data=data, key=f"{map_key}-hover")
