"""The style page's Gradio widget ("Quick"): a photo and a style picture in, the stylized photo out.

Built once per server process by app.py (pages.ui.gradio_embed.routes); the page reuses its cached style gallery.
"""
# No `from __future__ import annotations`: Gradio finds stylize's `request: gr.Request` parameter by its evaluated
# annotation.
import numpy as np
import streamlit as st

from pages.ui.gradio_embed import (gradio_image_path, handoff_put, image_input, refusal, request_sid, served_file,
                                   session_files, widget_blocks)

MAX_CONTENT_SIDE = 4096  # larger photos are scaled down first (a 50 MP photo as floats would take 600 MB)


def within_max_side(image: np.ndarray) -> np.ndarray:
    """The photo, scaled down to MAX_CONTENT_SIDE when it is longer."""
    from engine.imageio import fit_longest

    return fit_longest(image, MAX_CONTENT_SIDE) if max(image.shape[:2]) > MAX_CONTENT_SIDE else image


@st.cache_resource(show_spinner=False)
def gallery() -> dict:
    """Every offline style: name → (label, 96-px thumbnail, built-in index or None)."""
    from engine.style.gallery import list_styles

    return {e.name: (e.label, e.thumbnail(side=96), e.index) for e in list_styles()}


@st.cache_resource(show_spinner=False, max_entries=32)
def style_image(name: str) -> np.ndarray:
    from engine.style.gallery import load_style

    return load_style(name)


def png(image: np.ndarray) -> bytes:
    from engine.imageio import png_bytes

    return png_bytes(image)


def build():
    """The widget: photo and style picture (or a gallery style) in, stylized photo out."""
    import gradio as gr

    from engine.imageio import ImageRejected, rgb_float, rgb_uint8
    from engine.style.fast import FastConfig, StyleError, stylize_arbitrary

    choices = [(label, name) for name, (label, _, _) in gallery().items()]
    with widget_blocks("Latent Lab style transfer") as blocks:
        with gr.Row():
            photo = image_input("Your photo", height=260)
            style_upload = image_input("Style picture (optional)", height=260)
            out = gr.Image(type="filepath", label="Stylized", interactive=False, height=260,
                           buttons=["download", "fullscreen"])
        with gr.Row():
            style_name = gr.Dropdown(choices, value=choices[0][1], label="…or a gallery style")
            strength = gr.Slider(0, 1, 1, step=0.05, label="Strength")
            keep = gr.Checkbox(False, label="Keep the photo's colours")
            go_button = gr.Button("Stylize", variant="primary")
        info = gr.Markdown()

        def stylize(photo, style_upload, style_name, strength, keep_colours, request: gr.Request):
            session_files(request, photo, style_upload)
            try:
                content = within_max_side(rgb_float(gradio_image_path(photo)))
            except ImageRejected as e:
                raise refusal("Your photo", e) from None
            handoff_put(request_sid(request), "content", content)
            try:
                style = rgb_float(style_upload) if style_upload else style_image(style_name)
            except ImageRejected as e:
                raise refusal("Style picture", e) from None
            if style_upload:
                handoff_put(request_sid(request), "style", style)
            try:
                result = stylize_arbitrary(content, style,
                                           config=FastConfig(strength=strength, preserve_colors=keep_colours))
            except StyleError as e:
                raise refusal("Style transfer", e) from None
            return (served_file(out, "stylized.png", png(rgb_uint8(result.image)), request),
                    " · ".join([f"Stylized in {result.seconds:.2f} s", *result.notes]))

        go_button.click(stylize, [photo, style_upload, style_name, strength, keep], [out, info])
    return blocks
