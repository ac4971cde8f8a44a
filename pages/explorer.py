"""Latent-space explorer: encode a dataset, map the codes to 2-D, hover, select, retrieve, decode anywhere."""
from __future__ import annotations

import json
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from engine.data import allowed_roots, folder_in_roots
from engine.device import configure_threads
from engine.latent import paths as latent
from engine.latent import projection
from engine.latent.retrieval import most_common_labels, nearest_neighbours, same_label_share
from pages import ui

if TYPE_CHECKING:
    from engine.data import ImageDataset
    from engine.latent.checkpoints import Card
    from engine.latent.evaluate import MapQuality, ReconstructionErrors
    from engine.latent.models import Autoencoder

DATASET_TITLES = {"mnist": "MNIST digits", "digits": "sklearn digits 8×8", "fashion": "Fashion-MNIST",
                  "faces": "LFW faces (subset)", "yours": "Your images (zip or folder)"}
METHOD_TITLES = {"code": "Code itself (2-D)", "pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}
GRID = 28  # decode-anywhere grid: GRID × GRID cells over the map
MAP_SLOT = "explorer-map"  # the session's job slot of the t-SNE/UMAP layout being optimised
LIVE_POINTS = 10_000  # points drawn per frame of a moving map
UPLOAD = "Upload a checkpoint (.safetensors)…"


@dataclass
class DataChoice:
    """The dataset picked in the sidebar and a key that changes whenever its images do."""

    name: str
    data: ImageDataset
    key: str


@dataclass
class ModelChoice:
    """The autoencoder picked in the sidebar (None: none yet, or it does not fit the data)."""

    model: Autoencoder | None
    card: Card | None = None
    key: str | None = None  # changes whenever the model does (cache key)
    checkpoint: str | None = None  # a shipped checkpoint's path: its precomputed maps lie beside it


@dataclass
class MapSettings:
    config: projection.ProjectionConfig
    points: int  # the map shows the first `points` images of the (shuffled) dataset


@dataclass
class Shown:
    """The images the map shows, their codes, reconstructions and labels, and the keys of their data and model."""

    data_key: str
    model_key: str
    images: np.ndarray
    codes: np.ndarray
    recon: np.ndarray
    labels: np.ndarray | None
    label_names: list[str] | None

    @property
    def n(self) -> int:
        return len(self.codes)


@dataclass
class MapView:
    """A map of the shown codes."""

    shown: Shown
    proj: projection.Projection

    @property
    def id(self) -> str:
        """Changes whenever the map does: its caches, chart state and clicks go by it."""
        stopped = "" if self.proj.stopped_at is None else f"|stopped at {self.proj.stopped_at}"
        return f"{self.shown.model_key}|{self.shown.data_key}|{self.proj.config}|{self.shown.n}{stopped}"


@dataclass
class DecodeGrid:
    """GRID × GRID positions over a 2-D map, their codes (through the map's inverse) and decoded images."""

    points: np.ndarray
    codes: np.ndarray
    images: np.ndarray


@dataclass
class Picked:
    """What the user picked on the 2-D map: the points' customdata (≥ 0: a shown image, < 0: grid cell −1 − c)."""

    ids: list[int]
    region: bool  # by box or lasso, not by a click

    @property
    def images(self) -> list[int]:
        return [c for c in self.ids if c >= 0]

    @property
    def cells(self) -> list[int]:
        return [-c - 1 for c in self.ids if c < 0]


# --- cached work ---------------------------------------------------------------------------------
@st.cache_data(show_spinner=False)
def dataset_status() -> dict:
    from engine.data import dataset_status as status

    return status()


@st.cache_resource(max_entries=8, show_spinner="Encoding the dataset…")
def encoded(model_key: str, data_key: str, _model, _images):
    codes = _model.encode(_images)
    return codes, _model.decode(codes)


@st.cache_data(max_entries=16, show_spinner=False)
def data_fingerprint(data_key: str, n: int, _images) -> str:
    return projection.fingerprint(_images)


@st.cache_resource(max_entries=16, show_spinner=False)
def shipped_maps(path: str, mtime: float):
    from engine.latent.checkpoints import load_maps

    return load_maps(path)


@st.cache_resource(max_entries=8, show_spinner="Decoding the grid…")
def decoded_grid(map_id: str, _proj, _model) -> DecodeGrid:
    points = latent.grid_over(_proj.coords, GRID)
    codes = _proj.inverse(points)
    return DecodeGrid(points, codes, _model.decode(codes))


@st.cache_data(max_entries=16, show_spinner="Scoring the map…")
def map_scores(map_id: str, _codes, _coords, _labels, _images) -> MapQuality:
    from engine.latent.evaluate import map_quality

    return map_quality(_codes, _coords, _labels, _images)


@st.cache_data(max_entries=16, show_spinner="Comparing with PCA…")
def errors_vs_pca(model_key: str, data_key: str, metrics: dict | None, code_size: int, _images,
                  _recon) -> ReconstructionErrors:
    from engine.latent.evaluate import reconstruction_errors

    return reconstruction_errors(metrics, _images, _recon, code_size)


@st.cache_data(max_entries=8, show_spinner=False)
def export_csv(map_id: str, _codes, _coords, _labels, _label_names) -> bytes:
    from engine.latent.export import codes_csv

    return codes_csv(_codes, _coords, _labels, _label_names)


# --- sidebar: data -------------------------------------------------------------------------------
def your_images() -> tuple[ImageDataset | None, str | None]:
    """The user's images from an uploaded zip or a folder, and their key; (None, None) until given."""
    size = st.select_slider("Image size", [16, 28, 32, 48, 64], value=32)
    color = st.checkbox("Colour (RGB)", value=False)
    upload = st.file_uploader("A .zip of images (sub-folders become labels)", type=["zip"])
    roots = allowed_roots()  # the operator's LATENTLAB_IMAGE_ROOTS; none: no folder box
    listed = ", ".join(f"`{r}`" for r in roots)
    folder = st.text_input("…or a folder on this machine", help=(
        f"Only inside {listed}; a relative path is read inside `{roots[0]}`. Sub-folders become labels; hidden "
        "files and folders are skipped.")) if roots else ""
    if upload is not None:
        content = upload.getvalue()
        return (ui.uploaded_zip(ui.content_hash(content), content, size, color),
                f"zip:{ui.content_hash(content)}:{size}:{color}")
    if folder.strip():
        path = folder_in_roots(folder.strip(), roots)  # resolved and checked before anything is read
        mtime = path.stat().st_mtime if path.exists() else 0.0
        return ui.image_folder(str(path), size, color, mtime), f"folder:{path}:{mtime}:{size}:{color}"
    return None, None


def bundled_dataset(name: str, status: dict) -> tuple[ImageDataset | None, str | None]:
    """A registry dataset (optionally the full download) and its key; (None, None) when it is unavailable."""
    full = st.checkbox("Full dataset: download once if not cached (needs internet)", key=f"full-{name}",
                       help="MNIST 70k, Fashion-MNIST 70k or full LFW into ~/.cache/latentlab. Offline, "
                            "the bundled set is used and a note says so.") if name != "digits" else False
    if status.get(name) and not full:
        st.warning(status[name])
        return None, None
    with st.spinner("Downloading…" if full else "Loading…"):
        data = ui.dataset(name, json.dumps({"download": True} if full else {}))
    return data, f"{name}:full" if full else name


def data_sidebar(status: dict) -> DataChoice | None:
    """Sidebar "Data": pick a dataset; None until there are images."""
    with st.sidebar:
        st.header("Data")
        name = st.selectbox("Dataset", list(DATASET_TITLES), format_func=DATASET_TITLES.get, key="dataset")
        try:
            data, key = your_images() if name == "yours" else bundled_dataset(name, status)
        except Exception as e:  # DatasetUnavailable, ImageRejected, OSError: all user-facing (may name their files)
            ui.alert(st.error, "These images cannot be used:", str(e))
            data = None
        if data is None:
            return None
        summary = f"{len(data):,} images {data.image_shape[1]}×{data.image_shape[2]} · {data.source}"
        if name == "yours":  # the source and notes name your file or folder: shown as text
            st.text(summary)
            for note in data.notes:
                ui.alert(st.info, "Note:", note)
        else:
            st.caption(summary)
            for note in data.notes:
                st.info(note)
    return DataChoice(name, data, key)


# --- sidebar: model ------------------------------------------------------------------------------
def model_title(model: dict) -> str:
    """A card's model as the sidebar names it: "conv AE", "deep AE", "sparse conv AE", "denoising conv AE", …"""
    name = {"dense": "deep"}.get(model["kind"], model["kind"])
    if model.get("sparse_l1", 0) > 0:
        name = f"sparse {name}"
    if model.get("noise_sigma", 0) > 0:
        name = f"denoising {name}"
    return f"{name} AE"


def model_sidebar(choice: DataChoice, slot: str) -> ModelChoice:
    """Sidebar "Model": a shipped checkpoint for this data, the model trained in this session, or an upload."""
    from engine.checkpoints import CheckpointError
    from engine.latent.checkpoints import list_checkpoints

    with st.sidebar:
        st.header("Model")
        options: dict[str, tuple] = {}
        for path, card in list_checkpoints():
            if card.fits(choice.name, choice.data.image_shape):
                options[f"{model_title(card.model)} · code {card.model['code_size']} (shipped)"] = ("file", str(path))
        trained = ui.session_result(slot)
        if trained:
            options[trained[1]] = ("session", None)
        options[UPLOAD] = ("upload", None)
        picked = st.radio("Model", list(options), key=f"model-{choice.key}", label_visibility="collapsed")
        chosen = ModelChoice(None)
        source, value = options[picked]
        try:
            if source == "file":
                model, card = ui.checkpoint(value, Path(value).stat().st_mtime)
                chosen = ModelChoice(model, card, value, value)
            elif source == "session":
                chosen = ModelChoice(trained[0], key=trained[2])
            else:
                up = st.file_uploader("Latent Lab checkpoint", type=None, key="ckpt-upload")
                if up is not None:
                    content = up.getvalue()
                    model, card = ui.uploaded_checkpoint(ui.content_hash(content), content, up.name)
                    chosen = ModelChoice(model, card, f"upload:{ui.content_hash(content)}")
        except CheckpointError as e:  # names the uploaded file
            ui.alert(st.error, "This checkpoint cannot be used:", str(e))
        if chosen.model is not None and tuple(chosen.model.config.input_shape) != choice.data.image_shape:
            st.error(f"This model expects {chosen.model.config.input_shape} images; the dataset has "
                     f"{choice.data.image_shape}. Pick a matching model or train one below.")
            chosen.model = None
        if chosen.card is not None:
            m = chosen.card.metrics
            if "test_mse" in m:
                st.caption(f"test MSE {m['test_mse']:.4f} · PCA-{chosen.card.model['code_size']} "
                           f"{m['pca_test_mse']:.4f} · trained {m.get('train_seconds', '?')} s")
    return chosen


def train_tab(data: ImageDataset, slot: str) -> None:
    st.markdown("Trains in the background: the page stays usable, the loss updates live, **Stop** keeps the "
                "model as it is. Tip: code size 2 gives a map you can decode exactly.")
    ui.training_panel(data, slot)


# --- sidebar: map, and the map itself ------------------------------------------------------------
def map_sidebar(code_size: int, n_codes: int, data_key: str) -> MapSettings:
    """Sidebar "Map": 2-D or 3-D, the projection and its parameters, how many points."""
    with st.sidebar:
        st.header("Map")
        dims = 3 if st.toggle("3-D map", help="Rotate and hover; selection and decoding use the 2-D map.") else 2
        methods = (["code"] if code_size == dims else []) + ["pca", "tsne", "umap"]
        method = st.radio("Projection", methods, format_func=METHOD_TITLES.get, horizontal=True, key="method",
                          index=0 if methods[0] == "code" else methods.index("umap"),
                          help="Shipped models open with precomputed maps; other settings are computed here (seconds).")
        with st.expander("Parameters"):
            perplexity = st.number_input("t-SNE perplexity", 1.0, 10_000.0, 30.0)
            n_neighbors = st.number_input("UMAP n_neighbors", 2, 10_000, 15)
            min_dist = st.number_input("UMAP min_dist", 0.0, 1.0, 0.1)
            seed = st.number_input("Seed", 0, 10_000, 0)
        sizes = [1000, 2000, 5000, 10000, 20000, 50000, 70000]
        max_points = st.select_slider("Points shown", sizes, value=next(s for s in sizes if s >= min(n_codes, 20000)),
                                      help="The first N images of the (shuffled) dataset.", key=f"points-{data_key}")
    config = projection.ProjectionConfig(method=method, dims=dims, perplexity=float(perplexity),
                                         n_neighbors=int(n_neighbors), min_dist=float(min_dist), seed=int(seed))
    return MapSettings(config, min(n_codes, max_points))


def shown_points(choice: DataChoice, model_key: str, codes: np.ndarray, recon: np.ndarray, n: int) -> Shown:
    data = choice.data
    return Shown(choice.key, model_key, data.images[:n], codes[:n], recon[:n],
                 data.labels[:n] if data.labels is not None else None, data.label_names)


def compute_map(config: projection.ProjectionConfig, checkpoint: str | None, shown: Shown) -> projection.Projection | None:
    """The shipped map when a shipped checkpoint has one for these images and settings, else a fitted one; None
    while a t-SNE or UMAP map is still moving (layout_job); the PCA map, with an error, when the settings cannot
    work on these points."""
    try:
        proj = None
        if checkpoint is not None:
            maps, info = shipped_maps(checkpoint, Path(checkpoint).stat().st_mtime)
            proj = projection.from_shipped(maps, info, shown.codes,
                                           data_fingerprint(shown.data_key, shown.n, shown.images), config)
        if proj is None and config.method in ("tsne", "umap"):
            return projection.cached(shown.codes, config) or layout_job(config, shown)
        if proj is None:
            proj = projection.project(shown.codes, config)
    except ValueError as e:
        st.error(f"{e} Showing the PCA map instead.")
        proj = projection.project(shown.codes, projection.ProjectionConfig(method="pca", dims=config.dims))
    return proj


def layout_job(config: projection.ProjectionConfig, shown: Shown) -> projection.Projection | None:
    """This session's t-SNE/UMAP job for these codes and settings (started here when there is none): its map
    once it has one — finished, or stopped where the user stopped it — else None while it moves."""
    from engine.latent.layout import LayoutJob

    slot, key = ui.job_slot(MAP_SLOT), f"{shown.model_key}|{shown.data_key}|{shown.n}|{config}"
    if slot.job is None or slot.meta.get("key") != key:
        slot.job = LayoutJob(shown.codes, config).start(replacing=slot.job)  # ValueError: bad settings
        slot.meta = {"key": key, "started": time.monotonic()}
    snap = slot.job.snapshot()
    if snap.state == "failed":
        raise ValueError(f"The {METHOD_TITLES[config.method]} map failed ({snap.error}).")
    if slot.job.output is not None or not snap.finished:
        return slot.job.output
    st.info(f"Stopped before the {METHOD_TITLES[config.method]} layout began to move: showing PCA.")
    return projection.project(shown.codes, projection.ProjectionConfig(method="pca", dims=config.dims))


def forget_layout() -> None:
    """Drop this session's stopped layout, so the page fits the map again."""
    ui.job_slot(MAP_SLOT).job = None


def moving_map_section(shown: Shown, config: projection.ProjectionConfig) -> None:
    """The t-SNE/UMAP layout while it optimises, redrawn twice a second, with Stop; the page reruns when it ends."""
    ui.job_notice(MAP_SLOT, "map")
    st.fragment(run_every=0.5)(_moving_map)(shown, config)


def _moving_map(shown: Shown, config: projection.ProjectionConfig) -> None:
    job = ui.job_slot(MAP_SLOT).job
    snap = job.snapshot()
    if snap.finished:
        st.rerun(scope="app")
    if snap.queue:
        ui.queued_note(snap.queue)
        st.button("Leave the queue", on_click=job.stop, key="map-stop")
        return
    title = METHOD_TITLES[config.method]
    if snap.frames == 0:
        doing = ("finding each code's nearest neighbours and their affinities (perplexity "
                 f"{config.perplexity:g})" if config.method == "tsne" else
                 f"building the graph of each code's {config.n_neighbors} nearest neighbours and its spectral start")
        waited = time.monotonic() - ui.job_slot(MAP_SLOT).meta["started"]
        text = f"{title}: {doing} · {waited:.0f} s · shown meanwhile: the codes' PCA"
    else:
        text = (f"{title}: {snap.phase}, {'iteration' if config.method == 'tsne' else 'epoch'} {snap.step} / "
                f"{snap.steps_total} · first layout after {snap.first_frame_seconds:.1f} s · {snap.seconds:.1f} s")
    st.progress(snap.step / max(1, snap.steps_total), text=text)
    st.button("⏹ Stop (keep this layout)", on_click=job.stop, key="map-stop")
    show = np.linspace(0, shown.n - 1, min(shown.n, LIVE_POINTS)).astype(int)  # light frames while it moves
    fig = go.Figure()
    for label, idx in label_groups(shown):
        idx = np.intersect1d(idx, show)
        if config.dims == 3:
            fig.add_scatter3d(x=snap.coords[idx, 0], y=snap.coords[idx, 1], z=snap.coords[idx, 2], mode="markers",
                              name=str(label), marker=dict(size=2), hoverinfo="skip")
        else:
            fig.add_scattergl(x=snap.coords[idx, 0], y=snap.coords[idx, 1], mode="markers", name=str(label),
                              marker=dict(size=4 if len(show) > 5000 else 6, opacity=0.8), hoverinfo="skip")
    fig.update_layout(height=620, margin=dict(l=10, r=10, t=30, b=10), legend=dict(itemsizing="constant"),
                      title=f"{title} of {shown.n:,} codes, moving" + (f" ({len(show):,} of them drawn)"
                                                                       if len(show) < shown.n else ""))
    with st.container(key="ll-moving-map"):
        st.plotly_chart(fig, key="moving-map", config={"displaylogo": False, "staticPlot": True})
    st.caption("t-SNE first exaggerates the attractions (250 iterations) so clusters form, then lets them settle; "
               "UMAP pulls graph neighbours together and pushes random pairs apart, epoch by epoch. Stop keeps the "
               "layout reached; hover, neighbours and decoding come with the finished (or stopped) map.")


def label_groups(shown: Shown):
    """(label name, indices of the shown points with that label): one plotly trace, one legend entry each."""
    if shown.labels is None:
        yield "points", np.arange(shown.n)
        return
    for g in np.unique(shown.labels):
        yield (ui.plot_label(shown.label_names[g]) if shown.label_names else str(g)), np.flatnonzero(shown.labels == g)


def hover_thumbnails(view: MapView, grid_images: np.ndarray | None = None) -> None:
    """Sprite sheets of the shown images, their reconstructions and (2-D) the decoded grid, for hover."""
    shown = view.shown
    atlases = {"images": ui.atlas(f"img|{shown.data_key}|{shown.n}", shown.images),
               "recon": ui.atlas(f"rec|{shown.model_key}|{shown.data_key}|{shown.n}", shown.recon)}
    if grid_images is not None:
        atlases["grid"] = ui.atlas(f"grid|{view.id}", grid_images)
    names = ([shown.label_names[label] for label in shown.labels]
             if shown.labels is not None and shown.label_names else None)
    ui.hover_thumbnails("ll-map", view.id, atlases, names)


def map_figure(view: MapView, grid_points: np.ndarray, path_points: list[dict]) -> go.Figure:
    """The 2-D map: the decodable grid (faint crosses), one trace per label, and the path A → B."""
    shown, coords = view.shown, view.proj.coords
    fig = go.Figure()
    fig.add_scattergl(x=grid_points[:, 0], y=grid_points[:, 1], mode="markers", name="decode here",
                      customdata=-(np.arange(len(grid_points)) + 1),
                      marker=dict(symbol="cross-thin-open", size=7, color="rgba(120,120,120,0.25)"),
                      hovertemplate="decode (%{x:.2f}, %{y:.2f})<extra></extra>")
    for label, idx in label_groups(shown):
        fig.add_scattergl(x=coords[idx, 0], y=coords[idx, 1], mode="markers", name=str(label), customdata=idx,
                          marker=dict(size=4 if shown.n > 5000 else 6, opacity=0.8),
                          hovertemplate=f"<b>{label}</b> #%{{customdata}}<extra></extra>")
    if path_points:
        pts = np.array([end["xy"] for end in path_points])
        fig.add_scatter(x=pts[:, 0], y=pts[:, 1], mode="lines+markers+text", name="path",
                        text=["A", "B"][: len(pts)], textposition="top center", hoverinfo="skip",
                        marker=dict(size=14, color="black", symbol="star"), line=dict(color="black", dash="dot"))
    fig.update_layout(height=620, margin=dict(l=10, r=10, t=30, b=10), dragmode="zoom", hovermode="closest",
                      legend=dict(itemsizing="constant"), uirevision=view.id,
                      title=f"{METHOD_TITLES[view.proj.config.method]} of {shown.n:,} codes "
                            f"(size {shown.codes.shape[1]})")
    return fig


def map_figure_3d(view: MapView) -> go.Figure:
    shown, coords = view.shown, view.proj.coords
    fig = go.Figure()
    for label, idx in label_groups(shown):
        fig.add_scatter3d(x=coords[idx, 0], y=coords[idx, 1], z=coords[idx, 2], mode="markers", name=str(label),
                          customdata=idx, marker=dict(size=2 if shown.n > 5000 else 3),
                          hovertemplate=f"<b>{label}</b> #%{{customdata}}<extra></extra>")
    fig.update_layout(height=680, margin=dict(l=0, r=0, t=30, b=0), legend=dict(itemsizing="constant"),
                      uirevision=view.id, title=f"3-D {METHOD_TITLES[view.proj.config.method]} of {shown.n:,} codes")
    return fig


def map_3d_section(view: MapView) -> None:
    with st.container(key="ll-map"):
        st.plotly_chart(map_figure_3d(view), key=f"map3d-{zlib.crc32(view.id.encode())}", config={"displaylogo": False})
    hover_thumbnails(view)
    st.caption("Drag to rotate, scroll to zoom, hover to see images. Selection, neighbours and decoding "
               f"work on the 2-D map. Map computed in {view.proj.seconds:.1f} s.")


# --- clicks, selection, neighbours, path ---------------------------------------------------------
def path_ends(map_id: str) -> dict:
    """This session's path ends {"map": map id, "points": [{"xy", "code"}, …]}, emptied when the map changes."""
    state = st.session_state.setdefault("path", {"map": None, "points": []})
    if state["map"] != map_id:
        state.update(map=map_id, points=[])
    return state


def picked_on(event) -> Picked:
    selection = event.selection if event else {"points": [], "box": [], "lasso": []}
    ids = [p.get("customdata") for p in selection.get("points", [])]
    return Picked([int(c[0] if isinstance(c, list) else c) for c in ids if c is not None],
                  bool(selection.get("box") or selection.get("lasso")))


def remember_click(picked: Picked, view: MapView, grid: DecodeGrid, ends: dict) -> None:
    """A click (not a region) sets the focus and a path end; both live in session state because the chart
    clears its selection when the figure changes (the path is drawn on it)."""
    signature = json.dumps([view.id, picked.ids[:50], picked.region])
    if picked.region or not picked.ids or st.session_state.get("last_click") == signature:
        return
    st.session_state.last_click = signature
    focus = ("point", picked.images[0]) if picked.images else ("grid", picked.cells[0])
    st.session_state.focus = (view.id, focus)
    if focus[0] == "point":
        end = {"xy": view.proj.coords[focus[1]].tolist(), "code": view.shown.codes[focus[1]].tolist()}
    else:
        end = {"xy": grid.points[focus[1]].tolist(), "code": grid.codes[focus[1]].tolist()}
    ends["points"] = (ends["points"] + [end])[-2:]
    st.rerun()


def current_focus(map_id: str) -> tuple[str, int] | None:
    """("point", image index) or ("grid", cell) last clicked on this map, or None."""
    focus_map, focus = st.session_state.get("focus", (None, None))
    return focus if focus_map == map_id else None


def selection_panel(shown: Shown, selected: list[int]) -> None:
    st.subheader(f"Selected: {len(selected):,} images")
    sample = np.random.default_rng(0).permutation(np.array(selected))[:40]
    if shown.labels is not None and shown.label_names:
        top = most_common_labels(shown.labels[np.array(selected)], len(shown.label_names))
        st.text("Mostly " + ", ".join(f"{shown.label_names[t]} ({count})" for t, count in top))
    ui.show_images(shown.images[sample], per_row=10, scale=2, caption="images (up to 40, random)")
    ui.show_images(shown.recon[sample], per_row=10, scale=2, caption="their reconstructions")


def neighbours_panel(shown: Shown, i: int) -> None:
    """Image i, its reconstruction, and its k nearest neighbours by code and by pixels."""
    k = st.slider("Neighbours k", 3, 20, 8)
    by_code = nearest_neighbours(shown.codes, i, k)
    by_pixel = nearest_neighbours(shown.images.reshape(shown.n, -1), i, k)
    named = shown.labels is not None and shown.label_names
    st.subheader(f"Point #{i}")
    if named:
        st.text(f"label: {shown.label_names[shown.labels[i]]}")
    ui.show_images(np.stack([shown.images[i], shown.recon[i]]), per_row=2, scale=4, caption="image · reconstruction")
    for title, idx in (("in code space", by_code), ("in pixel space", by_pixel)):
        agree = ""
        if shown.labels is not None:
            agree = f" — {same_label_share(shown.labels, idx, i):.0%} share its label"
        st.markdown(f"**{k} nearest {title}**{agree}")
        ui.show_images(shown.images[idx], per_row=k, scale=2)


def grid_cell_panel(grid: DecodeGrid, g: int) -> None:
    st.subheader("Decoded where no image is")
    ui.show_images(grid.images[g : g + 1], per_row=1, scale=8,
                   caption=f"Dec(z) at map position ({grid.points[g, 0]:.2f}, {grid.points[g, 1]:.2f})")


def path_panel(ends: dict, proj: projection.Projection, model: Autoencoder) -> None:
    """The decoded path between the two clicked ends: straight on the map and straight in code space."""
    if len(ends["points"]) == 2:
        st.subheader("Decoded path A → B")
        steps = st.slider("Frames", 3, 15, 8)
        (a, za), (b, zb) = [(np.array(end["xy"]), np.array(end["code"])) for end in ends["points"]]
        along_map = model.decode(proj.inverse(latent.interpolate(a, b, steps)))
        along_code = model.decode(latent.interpolate(za, zb, steps))
        ui.show_images(along_map, per_row=steps, scale=2, caption="straight line on the map, decoded")
        ui.show_images(along_code, per_row=steps, scale=2, caption="straight line in code space: (1−t)·z_A + t·z_B")
        st.button("Clear path", on_click=lambda: ends.update(points=[]))
    elif len(ends["points"]) == 1:
        st.caption("Path: A is set — click a second point or cross for B.")


def map_2d_section(view: MapView, ends: dict, model: Autoencoder) -> None:
    """The clickable 2-D map and, beside it, what was picked on it and the path. The grid's positions are drawn
    with the map; its decoding (for hover and clicks) comes after, so a first visit sees the map sooner."""
    col_map, col_side = st.columns([3, 2])
    with col_map:
        with st.container(key="ll-map"):
            event = st.plotly_chart(map_figure(view, latent.grid_over(view.proj.coords, GRID), ends["points"]),
                                    key=f"map-{zlib.crc32(view.id.encode())}", on_select="rerun",
                                    selection_mode=("points", "box", "lasso"), config={"displaylogo": False})
        grid = decoded_grid(view.id, view.proj, model)
        hover_thumbnails(view, grid.images)
        inverse_note = {"exact": "exact inverse", "umap": "UMAP inverse_transform",
                        "interpolated": "distance-weighted blend of the nearest codes"}[view.proj.inverse_kind]
        made = ("Precomputed map shipped with the model" if view.proj.seconds == 0
                else f"Map computed in {view.proj.seconds:.1f} s")
        if view.proj.stopped_at is not None:
            made = f"You stopped this layout at step {view.proj.stopped_at}, after {view.proj.seconds:.1f} s"
        st.caption(f"Faint crosses: positions you can decode ({inverse_note}). {made}.")
        if view.proj.stopped_at is not None:
            st.button("Optimise this map again", key="map-again", on_click=forget_layout)

    picked = picked_on(event)
    remember_click(picked, view, grid, ends)
    focus = current_focus(view.id)
    with col_side:
        if picked.region and picked.images:
            selection_panel(view.shown, picked.images)
        elif focus and focus[0] == "point":
            neighbours_panel(view.shown, focus[1])
        elif focus and focus[0] == "grid":
            grid_cell_panel(grid, focus[1])
        else:
            st.markdown("**Hover** a point to see it and its reconstruction. **Click** a point for its nearest "
                        "neighbours, or a faint cross to decode a code no image has; two clicks set a path A → B. "
                        "**Select a region** with the box or lasso tool in the chart's toolbar; drag to zoom, "
                        "double-click to zoom out.")
        path_panel(ends, view.proj, model)


# --- quality -------------------------------------------------------------------------------------
def quality_panel(view: MapView, card: Card | None) -> None:
    """Map and code quality numbers, and the CSV export."""
    shown, coords = view.shown, view.proj.coords
    st.divider()
    st.subheader("How good is this map and this code?")
    quality = map_scores(view.id, shown.codes, coords, shown.labels, shown.images)
    errors = errors_vs_pca(shown.model_key, shown.data_key, card.metrics if card is not None else None,
                           shown.codes.shape[1], shown.images, shown.recon)
    where = (f"held-out test set of {'?' if errors.images is None else errors.images} images" if errors.held_out
             else f"the {errors.images:,} shown images (training data included)")
    cols = st.columns(4)
    if quality.knn_accuracy is not None:
        cols[0].metric("10-NN label accuracy on the map", f"{quality.knn_accuracy:.1%}",
                       help="Leave-one-out: do a point's 10 map neighbours carry its label?")
    cols[1].metric("Trustworthiness (k=10)", f"{quality.trustworthiness:.3f}",
                   help="1.0: every map neighbour is also a neighbour in code space.")
    cols[2].metric("Reconstruction MSE", f"{errors.model_mse:.4f}", help=where)
    cols[3].metric(f"PCA with {shown.codes.shape[1]} components", f"{errors.pca_mse:.4f}",
                   delta=f"AE error = {errors.ratio:.2f}× PCA's", delta_color="off", help=where)
    if quality.knn_accuracy is not None:
        c1, c2 = st.columns(2)
        c1.metric("Retrieval by code: 10 neighbours with the same label", f"{quality.code_precision:.1%}")
        c2.metric("Retrieval by pixels: 10 neighbours with the same label", f"{quality.pixel_precision:.1%}",
                  help="Both over 500 random queries. The code is 'a great feature' when it beats raw pixels.")
    st.download_button("Download codes + map coordinates (CSV)",
                       data=export_csv(view.id, shown.codes, coords, shown.labels, shown.label_names),
                       file_name="latent_map.csv", mime="text/csv")


# --- the family side by side ----------------------------------------------------------------------
@st.cache_data(max_entries=8, show_spinner="PCA at several code sizes…")
def pca_curve(data_key: str, _images: np.ndarray) -> dict[int, float]:
    from engine.latent.family import pca_curve as curve

    return curve(_images)


@st.cache_data(max_entries=8, show_spinner=False)
def side_by_side(key: str, _members: list, _images: np.ndarray):
    from engine.latent.family import side_by_side as both

    return both(_members, _images)


def family_members(choice: DataChoice, slot: str) -> list:
    """Every shipped autoencoder for this dataset (numbers from its card) and the one trained in this session."""
    from engine.latent.checkpoints import list_checkpoints
    from engine.latent.family import member

    members = []
    for path, card in list_checkpoints():
        if card.fits(choice.name, choice.data.image_shape):
            model, card = ui.checkpoint(str(path), path.stat().st_mtime)
            members.append(member(f"{path.stem} (shipped)", model, choice.data.images, card.metrics))
    trained = ui.session_result(slot)
    if trained and tuple(trained[0].config.input_shape) == choice.data.image_shape:
        members.append(member(f"{trained[1]} (this session)", trained[0], choice.data.images))
    return sorted(members, key=lambda m: (m.code_size, m.family))


def family_section(choice: DataChoice, slot: str) -> None:
    """Held-out MSE against code size for every autoencoder of this dataset, PCA's curve, the same test images."""
    members = family_members(choice, slot)
    if not members:
        st.info("No autoencoder for this dataset yet: train one in the **Train a model** tab.")
        return
    pca = pca_curve(choice.key, choice.data.images)
    fig = go.Figure()
    fig.add_scatter(x=list(pca), y=list(pca.values()), mode="lines+markers", name="PCA (computed here)",
                    line=dict(color="gray", dash="dot"))
    for family in sorted({m.family for m in members}):
        group = [m for m in members if m.family == family]
        fig.add_scatter(x=[m.code_size for m in group], y=[m.test_mse for m in group], mode="markers", name=family,
                        marker=dict(size=12, symbol=["circle" if m.shipped else "star" for m in group]),
                        text=[m.title for m in group], hovertemplate="%{text}: %{y:.4f}<extra></extra>")
    fig.update_layout(height=420, margin=dict(l=10, r=10, t=30, b=10), xaxis=dict(title="code size", type="log"),
                      yaxis=dict(title="held-out MSE per pixel", type="log"),
                      title=f"Reconstruction error on {len(choice.data) // 10:,} held-out images")
    st.plotly_chart(fig, key="family-chart", config={"displaylogo": False})
    st.caption("Circles: shipped checkpoints, numbers from their cards (measured when they were trained). Stars: "
               "trained in this session, measured now on the same held-out images. The dotted line is PCA fitted "
               "here: a linear autoencoder can at best match it; the nonlinear ones should fall below it.")
    test, recon = side_by_side("|".join(m.title for m in members) + choice.key, members, choice.data.images)
    st.markdown("**The same 8 held-out images, reconstructed by each**")
    ui.show_images(test, per_row=len(test), scale=2, caption="originals")
    for m, images in zip(members, recon):
        ui.show_images(images, per_row=len(images), scale=2,
                       caption=f"{m.family} · code {m.code_size} · MSE {m.test_mse:.4f} · {m.title}")


# --- the page ------------------------------------------------------------------------------------
def main() -> None:
    ui.use_app_navigation()
    configure_threads()
    ui.warm_up_umap()
    ui.intro(
        "Latent-space explorer",
        r"x \;\xrightarrow{\;\mathrm{Enc}\;}\; z \;\xrightarrow{\;\mathrm{Dec}\;}\; \hat x \approx x"
        r"\qquad L = \|x - \mathrm{Dec}(\mathrm{Enc}(x))\|^2",
        "hover points to see the image and its reconstruction; pick the box or lasso tool in the chart's toolbar "
        "to select a region; click a point for its nearest neighbours; click a faint cross between clusters to "
        "decode a code no image has, and a second one for the path between them. Switch the map (PCA → t-SNE → "
        "UMAP) and the model (code 2 → 32, AE → VAE).",
        "the autoencoder was never told the labels, yet digits form clusters. In code space, neighbours usually "
        "share the label more often than in pixel space. A VAE's map has no holes: decoding between clusters gives "
        "plausible blends, a plain AE's gaps decode to blur.",
    )
    choice = data_sidebar(dataset_status())
    if choice is None:
        st.info("Pick a dataset in the sidebar (for your own images: upload a zip or type a folder path).")
        return
    slot = f"explorer-{choice.key}"
    chosen = model_sidebar(choice, slot)
    tab_map, tab_train, tab_family = st.tabs(["Map", "Train a model", "Compare the family"], key="explorer-tab",
                                             on_change="rerun")  # the family loads every model: only when opened
    with tab_train:
        train_tab(choice.data, slot)
    if tab_family.open:
        with tab_family:
            family_section(choice, slot)
    if chosen.model is None:
        with tab_map:
            st.info("No model for this dataset yet: train one in the **Train a model** tab, or upload a checkpoint.")
        return

    codes, recon = encoded(chosen.key, choice.key, chosen.model, choice.data.images)
    settings = map_sidebar(codes.shape[1], len(codes), choice.key)
    shown = shown_points(choice, chosen.key, codes, recon, settings.points)
    proj = compute_map(settings.config, chosen.checkpoint, shown)
    if proj is None:
        with tab_map:
            moving_map_section(shown, settings.config)
        return
    view = MapView(shown, proj)
    if settings.config.dims == 3:
        with tab_map:
            map_3d_section(view)
            quality_panel(view, chosen.card)
        return
    ends = path_ends(view.id)
    with tab_map:
        map_2d_section(view, ends, chosen.model)
        quality_panel(view, chosen.card)


main()
