"""Latent-space explorer: encode a dataset, map the codes to 2-D, hover, select, retrieve, decode anywhere."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from engine.device import configure_threads
from pages import ui

ui.use_app_navigation()
configure_threads()
ui.warm_up_umap()
ui.intro(
    "Latent-space explorer",
    r"x \;\xrightarrow{\;\mathrm{Enc}\;}\; z \;\xrightarrow{\;\mathrm{Dec}\;}\; \hat x \approx x"
    r"\qquad L = \|x - \mathrm{Dec}(\mathrm{Enc}(x))\|^2",
    "hover points to see the image and its reconstruction; pick the box or lasso tool in the chart's toolbar to "
    "select a region; click a point for its nearest neighbours; click a faint cross between clusters to decode a "
    "code no image has, and a second one for the path between them. Switch the map (PCA → t-SNE → UMAP) and the "
    "model (code 2 → 32, AE → VAE).",
    "the autoencoder was never told the labels, yet digits form clusters. In code space, neighbours usually share "
    "the label more often than in pixel space. A VAE's map has no holes: decoding between clusters gives "
    "plausible blends, a plain AE's gaps decode to blur.",
)

DATASET_TITLES = {"mnist": "MNIST digits", "digits": "sklearn digits 8×8", "fashion": "Fashion-MNIST",
                  "faces": "LFW faces (subset)", "yours": "Your images (zip or folder)"}
METHOD_TITLES = {"code": "Code itself (2-D)", "pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}
GRID = 28  # decode-anywhere grid: GRID × GRID cells over the map


@st.cache_data(show_spinner=False)
def dataset_status() -> dict:
    from engine.data import dataset_status as status

    return status()


# --- sidebar: data -------------------------------------------------------------------------------
status = dataset_status()
with st.sidebar:
    st.header("Data")
    name = st.selectbox("Dataset", list(DATASET_TITLES), format_func=DATASET_TITLES.get, key="dataset")
    data = None
    try:
        if name == "yours":
            size = st.select_slider("Image size", [16, 28, 32, 48, 64], value=32)
            color = st.checkbox("Colour (RGB)", value=False)
            upload = st.file_uploader("A .zip of images (sub-folders become labels)", type=["zip"])
            folder = st.text_input("…or a folder on this machine")
            if upload is not None:
                content = upload.getvalue()
                data = ui.uploaded_zip(ui.content_hash(content), content, size, color)
                data_key = f"zip:{ui.content_hash(content)}:{size}:{color}"
            elif folder.strip():
                path = Path(folder.strip()).expanduser()
                mtime = path.stat().st_mtime if path.exists() else 0.0
                data = ui.image_folder(str(path), size, color, mtime)
                data_key = f"folder:{path}:{mtime}:{size}:{color}"
        else:
            full = st.checkbox("Full dataset: download once if not cached (needs internet)", key=f"full-{name}",
                               help="MNIST 70k, Fashion-MNIST 70k or full LFW into ~/.cache/latentlab. Offline, "
                                    "the bundled set is used and a note says so.") if name != "digits" else False
            if status.get(name) and not full:
                st.warning(status[name])
            else:
                with st.spinner("Downloading…" if full else "Loading…"):
                    data = ui.dataset(name, json.dumps({"download": True} if full else {}))
                data_key = f"{name}:full" if full else name
    except Exception as e:  # DatasetUnavailable, ImageRejected, OSError: all user-facing
        st.error(str(e))
        data = None
    if data is not None:
        st.caption(f"{len(data):,} images {data.image_shape[1]}×{data.image_shape[2]} · {data.source}")
        for note in data.notes:
            st.info(note)

if data is None:
    st.info("Pick a dataset in the sidebar (for your own images: upload a zip or type a folder path).")
    st.stop()

# --- sidebar: model ------------------------------------------------------------------------------
from engine.checkpoints import CheckpointError  # noqa: E402
from engine.latent.checkpoints import list_checkpoints  # noqa: E402

SLOT = f"explorer-{data_key}"
with st.sidebar:
    st.header("Model")
    options: dict[str, tuple] = {}
    for path, card in list_checkpoints():
        if card.dataset == name and tuple(card.model["input_shape"]) == data.image_shape:
            options[f"{card.model['kind']} AE · code {card.model['code_size']} (shipped)"] = ("file", str(path))
    trained = ui.session_result(SLOT)
    if trained:
        options[trained[1]] = ("session", None)
    options["Upload a checkpoint (.safetensors)…"] = ("upload", None)
    choice = st.radio("Model", list(options), key=f"model-{data_key}", label_visibility="collapsed")
    model = card = None
    source, value = options[choice]
    try:
        if source == "file":
            model, card = ui.checkpoint(value, Path(value).stat().st_mtime)
            model_key = value
        elif source == "session":
            model, _, model_key = trained
        else:
            up = st.file_uploader("Latent Lab checkpoint", type=None, key="ckpt-upload")
            if up is not None:
                content = up.getvalue()
                model, card = ui.uploaded_checkpoint(ui.content_hash(content), content, up.name)
                model_key = f"upload:{ui.content_hash(content)}"
    except CheckpointError as e:
        st.error(str(e))
        model = None
    if model is not None and tuple(model.config.input_shape) != data.image_shape:
        st.error(f"This model expects {model.config.input_shape} images; the dataset has {data.image_shape}. "
                 "Pick a matching model or train one below.")
        model = None
    if card is not None:
        m = card.metrics
        if "test_mse" in m:
            st.caption(f"test MSE {m['test_mse']:.4f} · PCA-{card.model['code_size']} {m['pca_test_mse']:.4f} · "
                       f"trained {m.get('train_seconds', '?')} s")

tab_map, tab_train = st.tabs(["Map", "Train a model"])
with tab_train:
    st.markdown("Trains in the background: the page stays usable, the loss updates live, **Stop** keeps the "
                "model as it is. Tip: code size 2 gives a map you can decode exactly.")
    ui.training_panel(data, SLOT)

if model is None:
    with tab_map:
        st.info("No model for this dataset yet: train one in the **Train a model** tab, or upload a checkpoint.")
    st.stop()


# --- codes, map ----------------------------------------------------------------------------------
@st.cache_resource(max_entries=8, show_spinner="Encoding the dataset…")
def encoded(model_key: str, data_key: str, _model, _images):
    codes = _model.encode(_images)
    return codes, _model.decode(codes)


codes, recon = encoded(model_key, data_key, model, data.images)
labels = data.labels
label_names = data.label_names

with st.sidebar:
    st.header("Map")
    dims = 3 if st.toggle("3-D map", help="Rotate and hover; selection and decoding use the 2-D map.") else 2
    methods = (["code"] if codes.shape[1] == dims else []) + ["pca", "tsne", "umap"]
    method = st.radio("Projection", methods, format_func=METHOD_TITLES.get, horizontal=True, key="method",
                      index=0 if methods[0] == "code" else methods.index("umap"),
                      help="Shipped models open with precomputed maps; other settings are computed here (seconds).")
    with st.expander("Parameters"):
        perplexity = st.number_input("t-SNE perplexity", 1.0, 10_000.0, 30.0)
        n_neighbors = st.number_input("UMAP n_neighbors", 2, 10_000, 15)
        min_dist = st.number_input("UMAP min_dist", 0.0, 1.0, 0.1)
        seed = st.number_input("Seed", 0, 10_000, 0)
    sizes = [1000, 2000, 5000, 10000, 20000, 50000, 70000]
    max_points = st.select_slider("Points shown", sizes, value=next(s for s in sizes if s >= min(len(codes), 20000)),
                                  help="The first N images of the (shuffled) dataset.", key=f"points-{data_key}")

n = min(len(codes), max_points)
show_codes, show_images_, show_recon = codes[:n], data.images[:n], recon[:n]
show_labels = labels[:n] if labels is not None else None

from engine.latent import paths as latent  # noqa: E402
from engine.latent import projection  # noqa: E402

config = projection.ProjectionConfig(method=method, dims=dims, perplexity=float(perplexity), n_neighbors=int(n_neighbors),
                                     min_dist=float(min_dist), seed=int(seed))


@st.cache_data(max_entries=16, show_spinner=False)
def data_fingerprint(data_key: str, n: int, _images) -> str:
    return projection.fingerprint(_images)


@st.cache_resource(max_entries=16, show_spinner=False)
def shipped_maps(path: str, mtime: float):
    from engine.latent.checkpoints import load_maps

    return load_maps(path)


def shipped_projection():
    """The precomputed map of a shipped checkpoint, when it was made from exactly these images."""
    if source != "file" or config != projection.ProjectionConfig(method=method):
        return None
    maps, info = shipped_maps(value, Path(value).stat().st_mtime)
    if method in maps and info.get("data_fingerprint") == data_fingerprint(data_key, n, show_images_):
        return projection.from_coords(maps[method], show_codes, config)
    return None


try:
    proj = shipped_projection()
    if proj is None:
        with st.spinner(f"Computing the {METHOD_TITLES[method]} map of {n:,} codes…"):
            proj = projection.project(show_codes, config)
except ValueError as e:
    st.error(f"{e} Showing the PCA map instead.")
    proj = projection.project(show_codes, projection.ProjectionConfig(method="pca", dims=dims))
coords = proj.coords
map_id = f"{model_key}|{data_key}|{proj.config}|{n}"


@st.cache_resource(max_entries=8, show_spinner="Decoding the grid…")
def decoded_grid(map_id: str, _proj, _model):
    """GRID × GRID positions over the map, their codes (through the map's inverse) and decoded images."""
    points = latent.grid_over(_proj.coords, GRID)
    grid_codes = _proj.inverse(points)
    return points, grid_codes, _model.decode(grid_codes)




def label_groups():
    """(label name, indices of the shown points with that label): one plotly trace, one legend entry each."""
    if show_labels is None:
        yield "points", np.arange(n)
        return
    for g in np.unique(show_labels):
        yield (label_names[g] if label_names else str(g)), np.flatnonzero(show_labels == g)


def hover_thumbnails(with_grid: bool) -> None:
    """Sprite sheets of the shown images, their reconstructions and (2-D) the decoded grid, for hover."""
    atlases = {"images": ui.atlas(f"img|{data_key}|{n}", show_images_),
               "recon": ui.atlas(f"rec|{model_key}|{data_key}|{n}", show_recon)}
    if with_grid:
        atlases["grid"] = ui.atlas(f"grid|{map_id}", grid_images)
    names = [label_names[l] for l in show_labels] if show_labels is not None and label_names else None
    ui.hover_thumbnails("ll-map", map_id, atlases, names)


def map_figure() -> go.Figure:
    fig = go.Figure()
    fig.add_scattergl(x=grid_points[:, 0], y=grid_points[:, 1], mode="markers", name="decode here",
                      customdata=-(np.arange(len(grid_points)) + 1),
                      marker=dict(symbol="cross-thin-open", size=7, color="rgba(120,120,120,0.25)"),
                      hovertemplate="decode (%{x:.2f}, %{y:.2f})<extra></extra>")
    for label, idx in label_groups():
        fig.add_scattergl(x=coords[idx, 0], y=coords[idx, 1], mode="markers", name=str(label), customdata=idx,
                          marker=dict(size=4 if n > 5000 else 6, opacity=0.8),
                          hovertemplate=f"<b>{label}</b> #%{{customdata}}<extra></extra>")
    if path_state["points"]:
        pts = np.array([end["xy"] for end in path_state["points"]])
        fig.add_scatter(x=pts[:, 0], y=pts[:, 1], mode="lines+markers+text", name="path",
                        text=["A", "B"][: len(pts)], textposition="top center", hoverinfo="skip",
                        marker=dict(size=14, color="black", symbol="star"), line=dict(color="black", dash="dot"))
    fig.update_layout(height=620, margin=dict(l=10, r=10, t=30, b=10), dragmode="zoom", hovermode="closest",
                      legend=dict(itemsizing="constant"), uirevision=map_id,
                      title=f"{METHOD_TITLES[proj.config.method]} of {n:,} codes (size {codes.shape[1]})")
    return fig


@st.cache_data(max_entries=16, show_spinner="Scoring the map…")
def map_quality(map_id: str, _codes, _coords, _labels, _images) -> dict:
    """kNN label accuracy and trustworthiness of the map, retrieval precision by code vs by pixels."""
    from engine.latent.retrieval import precision_at_k

    quality = {"trustworthiness": projection.trustworthiness(_codes, _coords), "knn_accuracy": None}
    if _labels is not None:
        quality.update(knn_accuracy=projection.knn_accuracy(_coords, _labels),
                       code_precision=precision_at_k(_codes, _labels, sample=500),
                       pixel_precision=precision_at_k(_images.reshape(len(_images), -1), _labels, sample=500))
    return quality


@st.cache_data(max_entries=16, show_spinner="Comparing with PCA…")
def reconstruction_errors(model_key: str, data_key: str, metrics: dict | None, _model, _images, _recon) -> dict:
    """The card's held-out numbers when shipped; otherwise measured on the shown images."""
    if metrics and "test_mse" in metrics:
        return {**metrics, "where": f"held-out test set of {metrics.get('test_images', '?')} images"}
    from engine.latent.evaluate import pca_mse

    mse = float(np.mean((_recon - _images) ** 2))
    return {"test_mse": mse, "pca_test_mse": pca_mse(_images, _images, _model.config.code_size),
            "where": f"the {len(_images):,} shown images (training data included)"}


@st.cache_data(max_entries=8, show_spinner=False)
def export_csv(map_id: str, _codes, _coords, _labels, _label_names) -> bytes:
    from engine.latent.export import codes_csv

    return codes_csv(_codes, _coords, _labels, _label_names)


def quality_panel() -> None:
    """Map and code quality numbers, and the CSV export."""
    st.divider()
    st.subheader("How good is this map and this code?")
    quality = map_quality(map_id, show_codes, coords, show_labels, show_images_)
    errors = reconstruction_errors(model_key, data_key, card.metrics if card is not None else None, model,
                                   show_images_, show_recon)
    cols = st.columns(4)
    if quality["knn_accuracy"] is not None:
        cols[0].metric("10-NN label accuracy on the map", f"{quality['knn_accuracy']:.1%}",
                       help="Leave-one-out: do a point's 10 map neighbours carry its label?")
    cols[1].metric("Trustworthiness (k=10)", f"{quality['trustworthiness']:.3f}",
                   help="1.0: every map neighbour is also a neighbour in code space.")
    cols[2].metric("Reconstruction MSE", f"{errors['test_mse']:.4f}", help=errors["where"])
    cols[3].metric(f"PCA with {codes.shape[1]} components", f"{errors['pca_test_mse']:.4f}",
                   delta=f"AE error = {errors['test_mse'] / errors['pca_test_mse']:.2f}× PCA's", delta_color="off",
                   help=errors["where"])
    if quality["knn_accuracy"] is not None:
        c1, c2 = st.columns(2)
        c1.metric("Retrieval by code: 10 neighbours with the same label", f"{quality['code_precision']:.1%}")
        c2.metric("Retrieval by pixels: 10 neighbours with the same label", f"{quality['pixel_precision']:.1%}",
                  help="Both over 500 random queries. The code is 'a great feature' when it beats raw pixels.")
    st.download_button("Download codes + map coordinates (CSV)",
                       data=export_csv(map_id, show_codes, coords, show_labels, label_names),
                       file_name="latent_map.csv", mime="text/csv")


def map_figure_3d() -> go.Figure:
    fig = go.Figure()
    for label, idx in label_groups():
        fig.add_scatter3d(x=coords[idx, 0], y=coords[idx, 1], z=coords[idx, 2], mode="markers", name=str(label),
                          customdata=idx, marker=dict(size=2 if n > 5000 else 3),
                          hovertemplate=f"<b>{label}</b> #%{{customdata}}<extra></extra>")
    fig.update_layout(height=680, margin=dict(l=0, r=0, t=30, b=0), legend=dict(itemsizing="constant"),
                      uirevision=map_id, title=f"3-D {METHOD_TITLES[proj.config.method]} of {n:,} codes")
    return fig


if dims == 3:
    with tab_map:
        with st.container(key="ll-map"):
            st.plotly_chart(map_figure_3d(), key=f"map3d-{abs(hash(map_id))}", config={"displaylogo": False})
        hover_thumbnails(with_grid=False)
        st.caption("Drag to rotate, scroll to zoom, hover to see images. Selection, neighbours and decoding "
                   f"work on the 2-D map. Map computed in {proj.seconds:.1f} s.")
        quality_panel()
    st.stop()

grid_points, grid_codes, grid_images = decoded_grid(map_id, proj, model)
path_state = st.session_state.setdefault("path", {"map": None, "points": []})
if path_state["map"] != map_id:
    path_state.update(map=map_id, points=[])

with tab_map:
    col_map, col_side = st.columns([3, 2])
    with col_map:
        with st.container(key="ll-map"):
            event = st.plotly_chart(map_figure(), key=f"map-{abs(hash(map_id))}", on_select="rerun",
                                    selection_mode=("points", "box", "lasso"), config={"displaylogo": False})
        hover_thumbnails(with_grid=True)
        inverse_note = {"exact": "exact inverse", "umap": "UMAP inverse_transform",
                        "interpolated": "distance-weighted blend of the nearest codes"}[proj.inverse_kind]
        made = "Precomputed map shipped with the model" if proj.seconds == 0 else f"Map computed in {proj.seconds:.1f} s"
        st.caption(f"Faint crosses: positions you can decode ({inverse_note}). {made}.")

    selection = event.selection if event else {"points": [], "box": [], "lasso": []}
    picked = [p.get("customdata") for p in selection.get("points", [])]
    picked = [int(c[0] if isinstance(c, list) else c) for c in picked if c is not None]
    region = bool(selection.get("box") or selection.get("lasso"))
    data_idx = [c for c in picked if c >= 0]
    grid_idx = [-c - 1 for c in picked if c < 0]

    # A click (not a region) sets the focus and a path end; both live in session state because the chart
    # clears its selection when the figure changes (the path is drawn on it).
    signature = json.dumps([map_id, picked[:50], region])
    if not region and picked and st.session_state.get("last_click") != signature:
        st.session_state.last_click = signature
        focus = ("point", data_idx[0]) if data_idx else ("grid", grid_idx[0])
        st.session_state.focus = (map_id, focus)
        if focus[0] == "point":
            end = {"xy": coords[focus[1]].tolist(), "code": show_codes[focus[1]].tolist()}
        else:
            end = {"xy": grid_points[focus[1]].tolist(), "code": grid_codes[focus[1]].tolist()}
        path_state["points"] = (path_state["points"] + [end])[-2:]
        st.rerun()
    focus_map, focus = st.session_state.get("focus", (None, None))
    focus = focus if focus_map == map_id else None

    with col_side:
        if region and data_idx:
            st.subheader(f"Selected: {len(data_idx):,} images")
            sample = np.random.default_rng(0).permutation(np.array(data_idx))[:40]
            if show_labels is not None and label_names:
                counts = np.bincount(show_labels[np.array(data_idx)], minlength=len(label_names))
                top = np.argsort(counts)[::-1][:3]
                st.caption("Mostly " + ", ".join(f"{label_names[t]} ({counts[t]})" for t in top if counts[t]))
            ui.show_images(show_images_[sample], per_row=10, scale=2, caption="images (up to 40, random)")
            ui.show_images(show_recon[sample], per_row=10, scale=2, caption="their reconstructions")
        elif focus and focus[0] == "point":
            i = focus[1]
            k = st.slider("Neighbours k", 3, 20, 8)
            from engine.latent.retrieval import nearest_neighbours

            by_code = nearest_neighbours(show_codes, i, k)
            by_pixel = nearest_neighbours(show_images_.reshape(n, -1), i, k)
            st.subheader(f"Point #{i}" + (f" · {label_names[show_labels[i]]}" if show_labels is not None and label_names else ""))
            ui.show_images(np.stack([show_images_[i], show_recon[i]]), per_row=2, scale=4,
                           caption="image · reconstruction")
            for title, idx in (("in code space", by_code), ("in pixel space", by_pixel)):
                agree = ""
                if show_labels is not None:
                    agree = f" — {np.mean(show_labels[idx] == show_labels[i]):.0%} share its label"
                st.markdown(f"**{k} nearest {title}**{agree}")
                ui.show_images(show_images_[idx], per_row=k, scale=2)
        elif focus and focus[0] == "grid":
            g = focus[1]
            st.subheader("Decoded where no image is")
            ui.show_images(grid_images[g : g + 1], per_row=1, scale=8,
                           caption=f"Dec(z) at map position ({grid_points[g, 0]:.2f}, {grid_points[g, 1]:.2f})")
        else:
            st.markdown("**Hover** a point to see it and its reconstruction. **Click** a point for its nearest "
                        "neighbours, or a faint cross to decode a code no image has; two clicks set a path A → B. "
                        "**Select a region** with the box or lasso tool in the chart's toolbar; drag to zoom, "
                        "double-click to zoom out.")
        if len(path_state["points"]) == 2:
            st.subheader("Decoded path A → B")
            steps = st.slider("Frames", 3, 15, 8)
            (a, za), (b, zb) = [(np.array(end["xy"]), np.array(end["code"])) for end in path_state["points"]]
            along_map = model.decode(proj.inverse(latent.interpolate(a, b, steps)))
            along_code = model.decode(latent.interpolate(za, zb, steps))
            ui.show_images(along_map, per_row=steps, scale=2, caption="straight line on the map, decoded")
            ui.show_images(along_code, per_row=steps, scale=2, caption="straight line in code space: (1−t)·z_A + t·z_B")
            st.button("Clear path", on_click=lambda: path_state.update(points=[]))
        elif len(path_state["points"]) == 1:
            st.caption("Path: A is set — click a second point or cross for B.")


    quality_panel()
