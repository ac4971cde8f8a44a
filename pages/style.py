"""Style transfer: a stylized photo in about a second, then the lecture's optimisation (Gatys) running live."""
import numpy as np
import plotly.graph_objects as go
import streamlit as st

from engine.device import configure_threads
from pages import ui
from pages.ui.gradio_embed import gradio_widget, handoff_get, session_id
from pages.ui.style_widget import gallery, png, style_image, within_max_side

NETWORKS = {"arbitrary": "Any picture as the style (Ghiasi et al. 2017)", "builtin": "26 built-in styles (Dumoulin et al.)"}
BACKBONES = {"mobilenet_v2": "MobileNetV2 ImageNet (offline, default)", "random_vgg19": "random VGG19 (no training)",
             "vgg19": "VGG19 ImageNet (classic; needs a download)"}


# --- cached engine calls -------------------------------------------------------------------------
@st.cache_resource(show_spinner=False, max_entries=8)
def sample(name: str) -> np.ndarray:
    from engine.style.gallery import load_sample

    return load_sample(name)


@st.cache_data(show_spinner="Reading the image…", max_entries=8)
def decoded(content_hash: str, _content: bytes) -> np.ndarray:
    """An uploaded photo as H×W×3 floats, at most style_widget.MAX_CONTENT_SIDE (raises engine.imageio.ImageRejected)."""
    from engine.imageio import rgb_float

    return within_max_side(rgb_float(_content))


@st.cache_data(show_spinner="Stylizing…", max_entries=6)
def fast(content_key: str, _content: np.ndarray, network: str, names: tuple[str, ...], weights: tuple[float, ...],
         _styles: tuple[np.ndarray, ...], strength: float, preserve: bool, size: int | None) -> dict:
    """One fast stylization (cached per content, styles and settings)."""
    from engine.imageio import rgb_uint8
    from engine.style.fast import FastConfig, stylize_arbitrary, stylize_builtin

    config = FastConfig(strength=strength, preserve_colors=preserve, size=size)
    if network == "builtin":
        indices = [gallery()[n][2] for n in names]
        result = stylize_builtin(_content, dict(zip(indices, weights)), config)
    else:
        result = stylize_arbitrary(_content, list(_styles), list(weights), config)
    return {"image": rgb_uint8(result.image), "seconds": result.seconds, "notes": result.notes}


# --- page sections ---------------------------------------------------------------------------------
def content_picker() -> tuple[str, np.ndarray] | None:
    """(key, H×W×3 floats) of the photo to stylize: a sample, a Streamlit upload, or the Gradio widget's last photo."""
    from engine.imageio import ImageRejected
    from engine.style.gallery import SAMPLE_CONTENT

    sources = ["sample", "upload"] + (["gradio"] if handoff_get("content") is not None else [])
    source = st.radio("Photo", sources, horizontal=True, key="style-source", format_func={
        "sample": "a sample photo", "upload": "upload (Streamlit)", "gradio": "the photo from the Gradio widget"}.get)
    if source == "sample":
        name = st.selectbox("Sample", SAMPLE_CONTENT, key="style-sample")
        return f"sample:{name}", sample(name)
    if source == "gradio":
        image = handoff_get("content")
        return f"gradio:{session_id()}:{handoff_get('version')}", image  # no hashing of a large array per rerun
    upload = st.file_uploader("Your photo (JPEG, PNG, GIF, TIFF, WebP…)", key="style-upload", max_upload_size=50)
    if upload is None:
        st.info("Upload a photo, or pick a sample.")
        return None
    content = upload.getvalue()
    key = ui.content_hash(content)
    try:
        image = decoded(key, content)
    except ImageRejected as e:
        ui.alert(st.error, "This photo cannot be used:", f"{upload.name}: {e}")
        return None
    return f"upload:{key}", image


HANDED_STYLE = "upload:from the Gradio widget"  # the style picture dropped into the Gradio widget, in the pickers


def style_label(name: str) -> str:
    """How a style is named to the user: a gallery style's label, or "Your picture: <file name>"."""
    entries = gallery()
    return entries[name][0] if name in entries else f"Your picture: {name[7:]}"


def adopt_handed_style() -> None:
    """A style picture newly dropped into the Gradio widget becomes the Studio's style (any-picture network, the
    picture picked alone), once: the user may pick another afterwards. A multiselect's default applies only when
    it is first created, so it is set through its session state, before the widgets are drawn."""
    handed = handoff_get("style")
    if handed is None or st.session_state.get("style-handed-adopted") is handed:
        return
    st.session_state["style-handed-adopted"] = handed
    st.session_state["style-uploads"] = {**st.session_state.get("style-uploads", {}), HANDED_STYLE[7:]: handed}
    st.session_state["style-network"] = "arbitrary"
    st.session_state["style-pick-arbitrary"] = [HANDED_STYLE]


def style_picker(network: str) -> tuple[list[str], list[float], list[np.ndarray]]:
    """Gallery styles (built-ins only for the 26-style network), the user's style upload, blend weights."""
    from engine.imageio import ImageRejected
    from engine.style.gallery import read_upload

    entries = gallery()
    allowed = [n for n, (_, _, index) in entries.items() if network == "arbitrary" or index is not None]
    uploads = st.session_state.setdefault("style-uploads", {})
    if network == "arbitrary":
        upload = st.file_uploader("Add a style picture", key="style-own", max_upload_size=50)
        if upload is not None and upload.name not in uploads:
            try:
                uploads[upload.name] = read_upload(upload.getvalue())
            except ImageRejected as e:
                ui.alert(st.error, "This style picture cannot be used:", f"{upload.name}: {e}")
        allowed = [f"upload:{n}" for n in uploads] + allowed
    labels = {n: style_label(n) for n in allowed}
    picked = st.multiselect("Style (pick several to blend them)", allowed, default=allowed[:1], key=f"style-pick-{network}",
                            format_func=labels.get, max_selections=4)
    if not picked:
        st.info("Pick at least one style.")
        return [], [], []
    weights = [1.0] * len(picked)
    if len(picked) > 1:
        cols = st.columns(len(picked))
        weights = [c.slider(f"weight of {labels[n]}", 0.0, 1.0, 1.0, 0.05, key=f"style-w-{n}") for c, n in zip(cols, picked)]
    images = [uploads[n[7:]] if n.startswith("upload:") else style_image(n) for n in picked]
    return picked, weights, images


def gallery_strip(network: str) -> None:
    entries = [(n, e) for n, e in gallery().items() if network == "arbitrary" or e[2] is not None]
    with st.expander(f"The gallery ({len(entries)} offline styles)"):
        st.image([e[1] for _, e in entries], caption=[e[0].replace("Built-in style ", "#") for _, e in entries], width=96)


def fast_panel(content_key: str, content: np.ndarray) -> str:
    """The fast networks' controls and result; returns the network picked (its styles feed the Gatys panel)."""
    network = st.radio("Network", list(NETWORKS), format_func=NETWORKS.get, horizontal=True, key="style-network")
    gallery_strip(network)
    names, weights, styles = style_picker(network)
    c1, c2, c3 = st.columns(3)
    strength = c1.slider("Strength", 0.0, 1.0, 1.0, 0.05, key="style-strength",
                         help="Arbitrary network: S = t·S_style + (1 − t)·S_photo. Built-in network: a pixel blend.")
    preserve = c2.checkbox("Keep the photo's colours", key="style-preserve",
                           help="Luminance transfer: stylized Y, the photo's Cb and Cr.")
    size = c3.select_slider("Output size (longest side)", ["original", 256, 512, 1024, 2048, 4096], "original",
                            key="style-size")
    if not names:
        return network
    try:
        result = fast(content_key, content, network, tuple(names), tuple(weights), tuple(styles), strength, preserve,
                      None if size == "original" else int(size))
    except ValueError as e:  # engine.style.fast.StyleError, engine.imageio.ImageRejected
        st.error(str(e))
        return network
    left, mid, right = st.columns([2, 1, 2])
    left.image(ui.thumbnail(content, 640), caption=f"photo, {content.shape[1]}×{content.shape[0]}")
    mid.image([ui.thumbnail(s, 200) for s in styles], caption=[f"weight {w:g}" for w in weights])
    right.image(ui.thumbnail(result["image"], 640), caption=f"stylized in {result['seconds']:.2f} s, "
                f"{result['image'].shape[1]}×{result['image'].shape[0]}")
    for note in result["notes"]:
        st.caption(note)
    right.download_button("Download PNG (full size)", lambda: png(result["image"]), "stylized.png", "image/png",
                          key="style-download-fast", on_click="ignore")
    return network


def gatys_settings(texture: bool) -> dict:
    from engine.style.backbones import BUILDERS, STYLE_LAYERS

    c1, c2, c3, c4 = st.columns(4)
    backbone = c1.selectbox("Backbone", list(BUILDERS), format_func=BACKBONES.get, key="gatys-backbone")
    download = c1.checkbox("Download VGG19 weights if needed (548 MB)", key="gatys-download",
                           disabled=backbone != "vgg19")
    size = c2.select_slider("Size (longest side)", [64, 128, 192, 256, 384, 512, 768, 1024], 256, key="gatys-size")
    steps = c2.number_input("Steps", 1, 5000, 200, 50, key="gatys-steps")
    optimizer = c3.radio("Optimizer", ["adam", "lbfgs"], horizontal=True, key="gatys-optimizer",
                         format_func={"adam": "Adam (streams)", "lbfgs": "L-BFGS"}.get)
    lr = c3.select_slider("Adam learning rate", [0.005, 0.01, 0.02, 0.05, 0.1], 0.02, key="gatys-lr")
    levels = c4.number_input("Pyramid levels (coarse → fine)", 1, 4, 1, key="gatys-levels",
                             help="Each level doubles the size; big images settle faster from a coarse start.")
    init = c4.radio("Start from", ["content", "noise"], horizontal=True, key="gatys-init", disabled=texture)
    c1, c2, c3 = st.columns(3)
    content_weight = c1.number_input("α content weight", 0.0, 1e12, 0.0 if texture else 1.0, format="%g",
                                     key="gatys-alpha", disabled=texture)
    style_weight = c2.number_input("style weight (× every w_l)", 0.0, 1e12, 1.0, format="%g", key="gatys-style-w")
    tv_weight = c3.number_input("β total variation", 0.0, 1e12, 10.0, format="%g", key="gatys-tv")
    with st.expander("Per-layer style weights w_l (shallow layers: colours and fine grain; deep: larger strokes)"):
        layers = STYLE_LAYERS[backbone]
        cols = st.columns(len(layers))
        layer_weights = {layer: float(c.number_input(layer, 0.0, 1e12, 1.0, format="%g", key=f"gatys-w-{backbone}-{layer}"))
                         for c, layer in zip(cols, layers)}
    return dict(mode="texture" if texture else "transfer", backbone=backbone, download=download, size=int(size),
                steps=int(steps), optimizer=optimizer, lr=float(lr), levels=int(levels), init=init,
                content_weight=float(content_weight), style_weight=float(style_weight), tv_weight=float(tv_weight),
                layer_weights=layer_weights)


def style_picker_for_gatys(network: str) -> tuple[list[str], list[float], list[np.ndarray]]:
    """Gatys takes one style picture: the first one picked above for `network`."""
    picked = st.session_state.get(f"style-pick-{network}") or []
    if not picked:
        st.info("Pick a style above first.")
        return [], [], []
    uploads = st.session_state.get("style-uploads", {})
    name = picked[0]
    image = uploads[name[7:]] if name.startswith("upload:") else style_image(name)
    return [name], [1.0], [image]


def loss_figure(snap) -> go.Figure:
    fig = go.Figure()
    steps = np.arange(1, len(snap.total) + 1)
    fig.add_scatter(x=steps, y=snap.total, name="total", line=dict(color="black", width=2))
    fig.add_scatter(x=steps, y=snap.content, name="content α·‖F − F_c‖²", line=dict(color="#1f77b4"))
    fig.add_scatter(x=steps, y=snap.tv, name="β·TV", line=dict(color="#7f7f7f", dash="dot"))
    for layer, values in snap.style.items():
        fig.add_scatter(x=steps, y=values, name=f"style {layer}", line=dict(width=1))
    fig.update_layout(height=320, margin=dict(l=10, r=10, t=10, b=10), xaxis_title="step", yaxis=dict(type="log",
                      title="loss"), legend=dict(font=dict(size=10)))
    return fig


def gatys_progress(slot) -> None:
    snap = slot.job.snapshot()  # after the run ends the fragment polls on (cheaply) until the page reruns
    if snap.queue:
        ui.queued_note(snap.queue)
        st.button("Leave the queue", on_click=slot.job.stop, key="gatys-stop")
        return
    if snap.state == "stopped" and slot.job.result is None:
        st.caption("Left the queue before its turn: nothing was optimised.")
        return
    if snap.error:
        st.error(snap.error)
    bar = snap.step / max(1, snap.steps_total)
    st.progress(min(1.0, bar), text=f"step {snap.step} / {snap.steps_total} · {snap.seconds:.1f} s · {snap.backbone}"
                + (f" · level {snap.level + 1}" if snap.level else ""))
    st.caption(f"Style: {style_label(slot.meta['style'])}")
    for note in [snap.message, *slot.meta.get("notes", [])]:
        if note:
            st.caption(note)
    if not snap.finished and st.button("⏹ Stop (keeps the best image)", key="gatys-stop"):
        slot.job.stop()
        slot.job.join(5)
        snap = slot.job.snapshot()
    c1, c2, c3 = st.columns([2, 2, 3])
    if snap.image is not None:
        c1.image(snap.image, caption=f"current image, step {snap.image_step}")
    if snap.best is not None:
        c2.image(snap.best, caption=f"best so far (total loss {snap.best_loss:.3g})")
        c2.download_button("Download best PNG", png(snap.best), "gatys.png", "image/png", on_click="ignore")
    c3.plotly_chart(loss_figure(snap), key="gatys-losses")


def gatys_panel(content: np.ndarray, network: str) -> None:
    from engine.style.gatys import GatysConfig, GatysJob

    texture = st.toggle("Texture synthesis only (α = 0, from noise)", key="gatys-texture")
    settings = gatys_settings(texture)
    names, _, styles = style_picker_for_gatys(network)
    slot = ui.job_slot("style-gatys")
    if st.button("Optimize", type="primary", key="gatys-start", disabled=not styles):
        try:  # a running or queued optimisation is replaced in its own slot or place; bad settings leave the last run
            config = GatysConfig(**settings)
            notes = config.validate()
            slot.job = GatysJob(content, styles[0], config, preview_every=5).start(replacing=slot.job)
            slot.meta = {"style": names[0], "notes": notes}
        except ValueError as e:  # engine.style.fast.StyleError: settings
            st.error(str(e))
    ui.job_notice("style-gatys", "optimisation")
    if slot.job is None:
        st.caption("Press Optimize: the image updates every 5 steps while the losses fall.")
        return
    running = not slot.job.snapshot().finished
    st.fragment(run_every=1.0 if running else None)(gatys_progress)(slot)


def quick_section() -> None:
    st.caption("Drop a photo (and optionally a style picture) into the widget, press Stylize. "
               "Your photo is then also offered in the Studio tab for the live optimisation.")
    gradio_widget("style", height=560)


def studio_section() -> None:
    adopt_handed_style()
    picked = content_picker()
    if picked is None:
        return
    key, image = picked
    st.subheader("Fast: one pass of a trained network")
    network = fast_panel(key, image)
    st.subheader("Optimize: Gatys et al., the lecture's loss, live")
    gatys_panel(image, network)


def main() -> None:
    ui.use_app_navigation()
    configure_threads()
    ui.intro(
        "Style transfer",
        r"L(x) = \sum_l w_l \,\bigl\|G_l(x) - G_l(x_{\text{style}})\bigr\|^2 + \alpha\,\bigl\|F(x) - F(x_{\text{content}})\bigr\|^2"
        r" + \beta\,\mathrm{TV}(x), \qquad G_l = F_l F_l^{\top} / (C_l H_l W_l)",
        "stylize a sample photo with a built-in style, then with a painting of your own. Lower the strength: the "
        "arbitrary network moves the style vector back towards the photo's own. Tick “keep the photo's colours”. "
        "Then press Optimize and watch the pixels move; try texture synthesis (α = 0, from noise); set the style "
        "weight to 0.",
        "Textures are Gram matrices: which features fire together, not where — so the optimised image keeps the "
        "photo's layout (content loss on a deep layer) and takes the style's colours and strokes everywhere. The fast "
        "network learned to do this optimisation in one pass; Gatys needs hundreds of steps but accepts any layer "
        "weights.",
    )
    tab_quick, tab_studio = st.tabs(["Quick: Gradio upload", "Studio: gallery, blends, live optimisation"])
    with tab_quick:
        quick_section()
    with tab_studio:
        studio_section()


main()
