"""An uploaded checkpoint is judged by its card and its header before any model is built: absurd sizes cost nothing."""
from __future__ import annotations

import json
import shutil

import pytest
from safetensors import safe_open
from safetensors.torch import save_file

from engine.checkpoints import CHECKPOINT_DIR, CheckpointError
from engine.latent.checkpoints import CARD_KEY, load_checkpoint
from memory_probe import peak

SHIPPED = CHECKPOINT_DIR / "mnist-linear-32.safetensors"


def with_card(tmp_path, **model_fields):
    """A copy of a shipped checkpoint whose card's model fields are edited (weights untouched)."""
    with safe_open(str(SHIPPED), framework="pt") as f:
        meta, tensors = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    card = json.loads(meta[CARD_KEY])
    card["model"].update(model_fields)
    path = tmp_path / "edited.safetensors"
    save_file(tensors, str(path), metadata={CARD_KEY: json.dumps(card)})
    return path


def _load_outcome(path) -> str:
    try:
        load_checkpoint(path)
    except CheckpointError as e:
        return str(e)
    return "loaded"


def test_a_card_describing_a_huge_model_is_refused_before_it_is_built(tmp_path):
    path = with_card(tmp_path, kind="dense", hidden=40_000)  # 4·hidden² bytes: about 3 GB if it were built
    result = peak(_load_outcome, path)
    assert "parameters" in result.result and "at most" in result.result, result.result
    assert result.growth_mb < 200, f"peak RSS grew by {result.growth_mb:.0f} MB"


def test_a_card_that_does_not_match_the_weights_names_the_file(tmp_path):
    path = with_card(tmp_path, code_size=16)
    with pytest.raises(CheckpointError, match=r"edited\.safetensors: weights do not match"):
        load_checkpoint(path)


def test_the_shipped_checkpoint_still_loads(tmp_path):
    shutil.copy(SHIPPED, tmp_path / "copy.safetensors")
    model, card = load_checkpoint(tmp_path / "copy.safetensors")
    assert card.model["code_size"] == 32 and model.config.kind == "linear"
