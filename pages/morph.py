"""Morphing and attribute vectors: walk between two faces in code space, add a smile or glasses to any face."""
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from engine.device import configure_threads
from engine.faces.checkpoints import DatasetMismatch, FaceModel, list_models, load_faces
from pages import ui
from pages.ui.gradio_embed import gradio_widget, handoff_get
from pages.ui.morph_widget import load_model

GALLERY = 24  # faces shown to pick from
MIN_BOX = 8  # smallest face box side offered, in photo pixels


# --- cached engine calls -------------------------------------------------------------------------
@st.cache_data(show_spinner=False)
def face_models() -> dict[str, FaceModel]:
    """Shipped autoencoders, face models first: path → FaceModel."""
    return {m.path: m for m in list_models()}


def page_dataset(base: FaceModel):
    """The faces of the model's dataset through the cached loader; a dataset that no longer fits the model stops
    the page with a message."""
    try:
        return load_faces(base, lambda name, **options: ui.dataset(name, json.dumps(options, sort_keys=True)))
    except DatasetMismatch as e:
        st.error(str(e))
        st.stop()


@dataclass(frozen=True)
class Choice:
    """The model in use: a shipped checkpoint, or one trained in this session on a shipped model's dataset."""

    key: str  # cache key of its codes
    title: str
    model: object
    base: FaceModel  # the shipped checkpoint whose dataset (and framing) it uses


@st.cache_data(show_spinner="Encoding the faces…", max_entries=8)
def _codes(key: str, _model, _images: np.ndarray) -> np.ndarray:
    return _model.encode(_images)


def codes(choice: Choice) -> np.ndarray:
    return _codes(choice.key, choice.model, page_dataset(choice.base).images)


@st.cache_data(show_spinner=False, max_entries=4)
def labels(limit: int) -> pd.DataFrame:
    from engine.data.procfaces import BINARY, attributes

    table = attributes(limit)
    return pd.DataFrame({k: table[k].astype(bool) for k in BINARY})


@st.cache_data(show_spinner="Looking for a face…", max_entries=8)
def cropped(content_hash: str, _content: bytes, input_shape: tuple, dataset: str, box: tuple | None):
    from engine.faces.facecrop import Box, face_crop, framing_for

    result = face_crop(_content, input_shape, framing_for(dataset), None if box is None else Box(*box))
    preview = np.asarray(result.photo.image.convert("RGB"))
    return {"image": result.image, "box": result.box, "found": result.found, "message": result.message,
            "eyes": [f.points[:2] for f in result.faces], "preview": preview, "factor": result.photo.factor,
            "size": result.photo.original_size}


# --- picking faces -----------------------------------------------------------------------------
def photo_face(label: str, content: bytes, model, base: FaceModel) -> np.ndarray | None:
    """Detect, align and crop the face; show the box and let the user move, resize or turn it. No face found: say
    so and wait for a box set by hand (a photo too small for a box is used whole, and said so)."""
    from engine.faces.facecrop import centre_box
    from engine.imageio import ImageRejected

    key = ui.content_hash(content)
    box_key = f"morph-box-{label}-{key}"
    shape = tuple(model.config.input_shape)
    try:
        found = cropped(key, content, shape, base.dataset, st.session_state.get(box_key))
        width, height = found["size"]
        if found["image"] is None and max(width, height) <= MIN_BOX:
            found = cropped(key, content, shape, base.dataset, (0.0, 0.0, float(width), float(height)))
    except (ImageRejected, ValueError) as e:
        ui.alert(st.error, "This photo cannot be used:", str(e))
        return None
    if found["image"] is None:
        st.warning(f"{found['message']} Set the box on the face below (or press “Use this box”): nothing is "
                   "morphed until you do.")
    else:
        st.success(found["message"])
    box = found["box"] or centre_box(found["size"])
    c1, c2 = st.columns([3, 1])
    c1.image(ui.thumbnail(boxed_preview(found, box), 320),
             caption=f"{width}×{height} photo, " + ("face box" if found["image"] is not None else
                                                    "no face found: the box to set (yellow)"))
    if found["image"] is not None:
        c2.image(ui.thumbnail(np.transpose(np.repeat(found["image"], 3 // found["image"].shape[0], 0), (1, 2, 0)),
                              96), caption="what the model sees")
    with st.expander("Adjust the box", expanded=found["image"] is None):
        start = (round(box.x), round(box.y), round(max(box.w, box.h)), round(box.angle))
        moved = box_sliders(box_key, found["size"], start)
        if found["image"] is None and max(width, height) > MIN_BOX and st.button("Use this box",
                                                                                 key=f"{box_key}-use"):
            moved = (float(start[0]), float(start[1]), float(start[2]), float(start[2]), float(start[3]))
    if moved is not None and moved != st.session_state.get(box_key):
        st.session_state[box_key] = moved
        st.rerun()
    return found["image"]


def boxed_preview(found: dict, box) -> np.ndarray:
    """The photo with the box (turned as it is cropped; red, or yellow while it waits to be set) and the eyes found."""
    from PIL import Image, ImageDraw

    preview = Image.fromarray(found["preview"])
    draw, f = ImageDraw.Draw(preview), found["factor"]
    corners = [tuple(p) for p in box.corners() * f]
    draw.line(corners + corners[:1], fill=(255, 40, 40) if found["image"] is not None else (255, 210, 0), width=3)
    for eyes in found["eyes"]:
        for x, y in eyes * f:
            draw.ellipse((x - 3, y - 3, x + 3, y + 3), outline=(40, 255, 80), width=2)
    return np.asarray(preview)


def box_sliders(box_key: str, size: tuple[int, int], box: tuple[int, int, int, int]) -> tuple | None:
    """Sliders for the square box's left, top, side (photo pixels, the box may stick out of the photo, not leave it)
    and tilt (degrees); the moved box (x, y, w, h, angle), or None when nothing moved."""
    width, height = size
    longest = max(width, height)
    if longest <= MIN_BOX:
        st.caption(f"The photo is only {width}×{height} pixels: the whole photo is used, there is no box to move.")
        return None
    start = (min(max(box[0], -longest), width - 1), min(max(box[1], -longest), height - 1),
             min(max(box[2], MIN_BOX), 2 * longest), min(max(box[3], -45), 45))
    c1, c2, c3, c4 = st.columns(4)
    bx = c1.slider("left", -longest, width - 1, start[0], key=f"{box_key}-x")
    by = c2.slider("top", -longest, height - 1, start[1], key=f"{box_key}-y")
    side = c3.slider("size", MIN_BOX, 2 * longest, start[2], key=f"{box_key}-s")
    tilt = c4.slider("tilt °", -45, 45, start[3], key=f"{box_key}-a",
                     help="The box turned clockwise by this angle: set it to the tilt of the eye line.")
    if (bx, by, side, tilt) == start:
        return None
    bx, by = min(max(bx, 1 - side), width - 1), min(max(by, 1 - side), height - 1)  # the box keeps a corner inside
    return float(bx), float(by), float(side), float(side), float(tilt)


def face_picker(label: str, model, base: FaceModel, default: int) -> np.ndarray | None:
    """One end of the morph: a face of the model's dataset, or an uploaded photo cropped to the model's framing."""
    data = page_dataset(base)
    handed = handoff_get(f"face-{label}")
    sources = ["dataset", "upload"] + (["gradio"] if handed is not None else [])
    source = st.radio(f"Face {label}", sources, horizontal=True, key=f"morph-src-{label}", format_func={
        "dataset": "from the dataset", "upload": "upload a photo", "gradio": "the Gradio widget's photo"}.get)
    if source == "dataset":
        index = st.number_input(f"Face {label}: index", 0, len(data) - 1, min(default, len(data) - 1),
                                key=f"morph-idx-{label}")
        return data.images[int(index)]
    if source == "gradio":
        content = handed
    else:
        upload = st.file_uploader(f"Photo {label}", key=f"morph-up-{label}", max_upload_size=50)
        if upload is None:
            st.info("Upload a photo with a face (JPEG, PNG…).")
            return None
        content = upload.getvalue()
    return photo_face(label, content, model, base)


# --- sections ------------------------------------------------------------------------------------------
def pick_model(models: dict[str, FaceModel]) -> Choice:
    """Sidebar: a shipped model, or the one trained in this session's Train tab."""
    trained, slot = ui.session_result("morph-train"), ui.job_slot("morph-train")
    options = list(models) + (["session"] if trained is not None and slot.meta.get("base") in models else [])
    with st.sidebar:
        key = st.selectbox("Model", options, key="morph-model",
                           format_func=lambda k: f"{trained[1]}" if k == "session" else models[k].title)
        if key == "session":
            base = models[slot.meta["base"]]
            st.caption(f"Trained in this session on {base.dataset}.")
            return Choice(trained[2], trained[1], trained[0], base)
        st.caption(f"Trained on {models[key].dataset}; its card records the command that made it.")
    return Choice(key, models[key].title, load_model(key), models[key])


def dataset_notes(base: FaceModel) -> None:
    """Fallbacks of the page's dataset (full LFW cached but not what the model takes; offline), once per run."""
    for note in page_dataset(base).notes:
        st.sidebar.info(note)


def morph_view(m) -> None:
    """The slider part reruns alone: one decode per move."""
    from engine.faces.morph import METHODS, gif_bytes, strip_png

    c1, c2, c3 = st.columns([3, 2, 1])
    t = c1.slider("t", 0.0, 1.0, 0.5, 0.01, key="morph-t")
    method = c2.radio("Path", list(METHODS), format_func=METHODS.get, horizontal=True, key="morph-method",
                      help="Slerp follows the sphere where a VAE's Gaussian codes live; for AEs it is close to linear.")
    steps = c3.number_input("Frames", 3, 15, 7, key="morph-steps")
    recon = m.reconstructions()
    shown = np.stack([m.images[0], recon[0], m.frame(t, method), m.crossfade(t)[0], recon[1], m.images[1]])
    ui.show_images(shown, per_row=6, scale=4 if shown.shape[-1] <= 32 else 2,
                   caption=f"A · Dec(Enc(A)) · morph at t = {t:.2f} · pixel cross-fade at t · Dec(Enc(B)) · B")
    strip, fade = m.strip(int(steps), method), m.crossfade(np.linspace(0, 1, int(steps)))
    ui.show_images(np.concatenate([strip, fade]), per_row=int(steps), scale=3 if shown.shape[-1] <= 32 else 2,
                   caption="top: decoded morph · bottom: pixel cross-fade, t from 0 to 1")
    c1, c2 = st.columns(2)
    c1.download_button("Download the morph as GIF", lambda: gif_bytes(strip), "morph.gif", "image/gif",
                       key="morph-gif", on_click="ignore")
    c2.download_button("Download the strip as PNG", lambda: strip_png(np.concatenate([strip, fade])), "morph.png",
                       "image/png", key="morph-png", on_click="ignore")


def morph_section(model, base: FaceModel) -> None:
    from engine.faces.morph import Morph

    data = page_dataset(base)
    with st.expander(f"The first {GALLERY} faces of the dataset, by index"):
        ui.show_images(data.images[:GALLERY], per_row=12, scale=2 if data.images.shape[-1] > 32 else 3,
                       caption=f"faces 0–{GALLERY - 1}, left to right")
    if st.button("🎲 Random pair", key="morph-random"):
        rng = np.random.default_rng()
        st.session_state["morph-idx-A"], st.session_state["morph-idx-B"] = (int(i) for i in rng.choice(len(data), 2))
        st.rerun()
    left, right = st.columns(2)
    with left:
        a = face_picker("A", model, base, 0)
    with right:
        b = face_picker("B", model, base, 1)
    st.session_state["morph-face-A"] = a  # the attribute tab edits it too (an uploaded photo included)
    if a is None or b is None:
        return
    try:
        m = Morph.between(model, a, b)
    except ValueError as e:  # a model/dataset size mismatch
        st.error(str(e))
        return
    if np.array_equal(a, b):
        st.info("Both ends are the same face: the morph is constant (pick another face B).")
    st.fragment(morph_view)(m)


def attribute_view(model, base: FaceModel, vector, strength, name) -> None:
    from engine.faces.attributes import apply

    data = page_dataset(base)
    face_a = st.session_state.get("morph-face-A")
    if face_a is not None and face_a.shape == tuple(model.config.input_shape):
        ui.show_images(np.stack([face_a, model.reconstruct(face_a[None])[0], apply(model, face_a[None], vector,
                       strength)[0]]), per_row=3, scale=4 if face_a.shape[-1] <= 32 else 2,
                       caption=f"face A of the Morph tab · Dec(Enc(A)) · with s = {strength:g} × “{name}”")
    faces = data.images[GALLERY: GALLERY + 8]
    before, after = model.reconstruct(faces), apply(model, faces, vector, strength)
    ui.show_images(np.concatenate([faces, before, after]), per_row=8, scale=2 if faces.shape[-1] > 32 else 3,
                   caption=f"top: faces · middle: Dec(Enc(x)) · bottom: with s = {strength:g} × “{name}”")
    if base.dataset == "procfaces":
        from engine.data.procfaces import BINARY
        from engine.faces.attributes import probabilities

        p_before, p_after = probabilities(before), probabilities(after)
        st.dataframe(pd.DataFrame({"attribute": BINARY, "share before": (p_before > 0.5).mean(0),
                                   "share after": (p_after > 0.5).mean(0)}),
                     hide_index=True, column_config={c: st.column_config.ProgressColumn(c, min_value=0, max_value=1)
                                                     for c in ("share before", "share after")})
        st.caption("Judged by the shipped attribute classifier (checkpoints/procfaces-attributes), on these 8 faces.")


def attribute_section(choice: Choice) -> None:
    from engine.faces.attributes import STRENGTH_LIMIT, attribute_vector, difference_of_means, remove_direction

    data = page_dataset(choice.base)
    all_codes = codes(choice)
    table = labels(len(data)) if choice.base.dataset == "procfaces" else None
    modes = (["labels"] if table is not None else []) + ["examples"]
    mode = st.radio("Attribute from", modes, horizontal=True, key="attr-mode", format_func={
        "labels": "the dataset's labels", "examples": "faces you pick"}.get)
    if mode == "labels":
        c1, c2 = st.columns(2)
        name = c1.selectbox("Attribute", list(table.columns), key="attr-name")
        other = c2.selectbox("Project out the direction of", ["(nothing)"] + [c for c in table.columns if c != name],
                             key="attr-remove", help="v ← v − (v·u/‖u‖²)·u removes what v shares with attribute u.")
        vector = attribute_vector(all_codes, table[name].to_numpy(), name)
        if other != "(nothing)":
            vector = remove_direction(vector, attribute_vector(all_codes, table[other].to_numpy(), other))
        st.caption(f"{int(table[name].sum())} of {len(table)} faces have {name.replace('_', ' ')}; "
                   f"correlations with the others: " + ", ".join(
                       f"{c} {table[name].corr(table[c]):+.2f}" for c in table.columns if c != name))
    else:
        name = "your attribute"
        ui.show_images(data.images[:GALLERY], per_row=12, scale=2 if data.images.shape[-1] > 32 else 3,
                       caption=f"faces 0–{GALLERY - 1}, left to right")
        c1, c2 = st.columns(2)
        with_ = c1.multiselect("Faces that have it", range(GALLERY), key="attr-with")
        without = c2.multiselect("Faces that don't", range(GALLERY), key="attr-without")
        try:
            vector = difference_of_means(all_codes[list(with_)], all_codes[list(without)], name)
        except ValueError as e:
            st.info(str(e))
            return
    strength = st.slider("Strength s", -STRENGTH_LIMIT, STRENGTH_LIMIT, 1.0, 0.25, key="attr-strength",
                         help="x' = Dec(Enc(x) + s·v). Try 1, 3, −1; ±100 is absurd but safe.")
    st.fragment(attribute_view)(choice.model, choice.base, vector, strength, name)


def compare_section(base: FaceModel, models: dict[str, FaceModel]) -> None:
    """The same edit (attribute from labels) through every shipped model of this dataset."""
    from engine.faces.attributes import apply, attribute_vector

    if base.dataset != "procfaces":
        st.info("The side-by-side uses the procedural faces' labels: pick a procfaces model in the sidebar.")
        return
    table = labels(len(page_dataset(base)))
    c1, c2 = st.columns(2)
    name = c1.selectbox("Attribute", list(table.columns), index=1, key="cmp-name")
    strength = c2.slider("Strength", -5.0, 5.0, 1.0, 0.25, key="cmp-strength")
    faces = page_dataset(base).images[GALLERY: GALLERY + 6]
    for other in [m for m in models.values() if m.dataset == base.dataset]:
        model = load_model(other.path)
        vector = attribute_vector(codes(Choice(other.path, other.title, model, other)), table[name].to_numpy(), name)
        ui.show_images(np.concatenate([model.reconstruct(faces), apply(model, faces, vector, strength)]), per_row=6,
                       scale=2, caption=f"{other.title}: Dec(Enc(x)) above, + {strength:g}·v({name}) below")


def gradio_section() -> None:
    st.caption("Drop two photos with faces, press Morph: faces are found (MTCNN, with their eyes), turned and "
               "scaled so the eyes sit level where the model's training faces have them, and morphed. The photos are "
               "then offered as faces A and B in the Morph tab (where a photo without a face waits for a box).")
    gradio_widget("morph", height=620)


def train_section(choice: Choice) -> None:
    st.caption(f"Train another autoencoder on {choice.base.dataset} in the background, or continue "
               "training the one picked in the sidebar (a copy: the shipped model stays as it is). When it is done, "
               "pick it under Model in the sidebar (it stays in this session).")
    ui.training_panel(page_dataset(choice.base), "morph-train", current=(choice.title, choice.model))
    ui.job_slot("morph-train").meta.setdefault("base", choice.base.path)  # the dataset it trains on


def main() -> None:
    ui.use_app_navigation()
    configure_threads()
    ui.intro(
        "Morphing and attribute vectors",
        r"x(t) = \mathrm{Dec}\bigl((1-t)\,c_1 + t\,c_2\bigr),\ c_i = \mathrm{Enc}(x_i) \qquad "
        r"x' = \mathrm{Dec}\bigl(\mathrm{Enc}(x) + s\,v\bigr),\ v = \bar c_{\text{with}} - \bar c_{\text{without}}",
        "drag t and compare the decoded face with the pixel cross-fade beside it: the morph passes through faces, "
        "the cross-fade through double exposures. Switch to the VAE and to slerp. Add glasses with strength 1, then "
        "3, then −1. Take the mustache vector, then project the beard direction out of it. Upload two photos of "
        "people.",
        "An autoencoder's code space is organised by what varies in the data, so a straight line in it is a semantic "
        "path; a linear AE (PCA) gives blurrier in-betweens than the conv AE, the VAE the smoothest. Directions that "
        "go together in the data (beards with mustaches) leak into each other until you project one out.",
    )
    models = face_models()
    choice = pick_model(models)
    dataset_notes(choice.base)
    tab_morph, tab_attr, tab_cmp, tab_gradio, tab_train = st.tabs(
        ["Morph", "Attribute vectors", "PCA vs conv AE vs VAE", "Two photos (Gradio)", "Train a model"])
    with tab_morph:
        morph_section(choice.model, choice.base)
    with tab_attr:
        attribute_section(choice)
    with tab_cmp:
        compare_section(choice.base, models)
    with tab_gradio:
        gradio_section()
    with tab_train:
        train_section(choice)


main()
