"""The morph page's Gradio widget ("Two photos"): two face photos in, the morph out as a GIF and a strip.

Built once per server process by app.py (pages.ui.gradio_embed.routes).
"""
# No `from __future__ import annotations`: Gradio finds morph's `request: gr.Request` parameter by its evaluated
# annotation.
import numpy as np

from engine.faces.checkpoints import list_models, photo_models
from pages import ui
from pages.ui.gradio_embed import (gradio_image_path, handoff_put, image_input, refusal, request_sid, served_file,
                                   session_files, widget_blocks)


def load_model(path: str):
    from pathlib import Path

    return ui.checkpoint(path, Path(path).stat().st_mtime)[0]


def build():
    """The widget: two photos in, the morph out with the shipped face models."""
    import gradio as gr

    from engine.faces.facecrop import face_crop, framing_for
    from engine.faces.morph import Morph, gif_bytes, strip_png
    from engine.imageio import ImageRejected, png_bytes, to_uint8

    models = list_models()
    by_path, faces = {m.path: m for m in models}, photo_models(models)
    with widget_blocks("Latent Lab morph") as blocks:
        with gr.Row():
            a = image_input("Face A", height=220)
            b = image_input("Face B", height=220)
            gif = gr.Image(type="filepath", label="Morph (GIF)", interactive=False, height=220,
                           buttons=["download"])
        with gr.Row():
            model = gr.Dropdown([(m.title, m.path) for m in faces], value=faces[0].path, label="Model")
            steps = gr.Slider(3, 15, 7, step=1, label="Frames")
            go_button = gr.Button("Morph", variant="primary")
        strip = gr.Image(type="filepath", label="Strip (PNG)", interactive=False, height=120, buttons=["download"])
        crop = gr.Image(type="filepath", label="Face A as the model sees it", interactive=False, height=100,
                        visible=False)
        info = gr.Markdown()

        def morph(photo_a, photo_b, model_path, steps, request: gr.Request):
            session_files(request, photo_a, photo_b)
            network, dataset = load_model(model_path), by_path[model_path].dataset
            crops, notes = [], []
            for label, photo in (("A", photo_a), ("B", photo_b)):
                with open(gradio_image_path(photo), "rb") as f:
                    content = f.read()
                try:
                    result = face_crop(content, network.config.input_shape, framing_for(dataset))
                except ImageRejected as e:
                    raise refusal(f"Face {label}", e) from None
                handoff_put(request_sid(request), f"face-{label}", content)
                if result.image is None:  # never the centre of the photo in place of a face
                    raise refusal(f"Face {label}", ValueError(
                        f"{result.message} The photo waits in the Morph tab as “the Gradio widget's photo”, "
                        "where you can set the box on the face by hand."))
                crops.append(result.image)
                notes.append(f"{label}: {result.message}")
            try:
                frames = Morph.between(network, *crops).strip(int(steps))
            except ValueError as e:
                raise refusal("Morph", e) from None
            return (served_file(gif, "morph.gif", gif_bytes(frames), request),
                    served_file(strip, "morph.png", strip_png(frames), request),
                    served_file(crop, "face-a.png", png_bytes(to_uint8(np.stack(crops))[0]), request),
                    " · ".join(notes))

        go_button.click(morph, [a, b, model, steps], [gif, strip, crop, info])
    return blocks
