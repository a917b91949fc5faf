"""Shared app infrastructure: atomic writes, versions, paths, training."""

import os

import pytest

from attention_suite.apps.common.data.atomic import atomic_directory
from attention_suite.apps.common.data.paths import data_dir
from attention_suite.apps.common.serving.export import (
    keep_newest,
    models_config,
    reserved_version,
    update_models_config,
    version_path,
    versions,
)


def test_atomic_directory_appears_only_when_complete(tmp_path):
    final = tmp_path / "models" / "1"
    with pytest.raises(RuntimeError):
        with atomic_directory(final) as tmp:
            (open(os.path.join(tmp, "half"), "w")).close()
            raise RuntimeError("crash while writing")
    assert not final.exists()
    assert os.listdir(tmp_path / "models") == []
    with atomic_directory(final) as tmp:
        open(os.path.join(tmp, "whole"), "w").close()
    assert os.listdir(final) == ["whole"]


def test_atomic_directory_overwrite_rules(tmp_path):
    final = tmp_path / "1"
    with atomic_directory(final) as tmp:
        open(os.path.join(tmp, "old"), "w").close()
    with pytest.raises(FileExistsError, match="--overwrite"):
        with atomic_directory(final):
            pass
    with atomic_directory(final, overwrite=True) as tmp:
        open(os.path.join(tmp, "new"), "w").close()
    assert os.listdir(final) == ["new"]
    assert os.listdir(tmp_path) == ["1"]


@pytest.mark.parametrize("version", [0, -1, "2", 1.5, 2**63])
def test_versions_are_positive_integers(version):
    with pytest.raises(ValueError, match="positive integer"):
        version_path("saved_models", "traffic", version)


def test_the_default_version_is_one_above_the_newest(tmp_path):
    assert version_path(tmp_path, "qa") == os.path.join(tmp_path, "qa", "1")
    for name in ["1", "7", ".8.tmp-1-x", "notes", "0"]:
        (tmp_path / "qa" / name).mkdir(parents=True)
    assert versions(tmp_path, "qa") == [1, 7]
    assert version_path(tmp_path, "qa") == os.path.join(tmp_path, "qa", "8")


def test_keep_removes_the_oldest_complete_versions_only(tmp_path):
    for name in ["2", "10", "3", ".11.tmp-1-x"]:
        (tmp_path / "qa" / name).mkdir(parents=True)
    assert keep_newest(tmp_path, "qa", 2) == [2]
    assert sorted(os.listdir(tmp_path / "qa")) == [".11.tmp-1-x", "10", "3"]
    assert keep_newest(tmp_path, "qa", 2) == []
    with pytest.raises(ValueError, match="at least 1"):
        keep_newest(tmp_path, "qa", 0)


def test_data_dir_needs_a_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("ATTN_DATA_DIR", raising=False)
    with pytest.raises(ValueError, match="ATTN_DATA_DIR"):
        data_dir()
    with pytest.raises(ValueError, match="does not exist"):
        data_dir(str(tmp_path / "nope"))
    monkeypatch.setenv("ATTN_DATA_DIR", str(tmp_path))
    assert data_dir() == str(tmp_path)


def test_fit_runs_extra_callbacks_beside_its_own(tmp_path):
    import keras
    import numpy as np
    import tensorflow as tf

    from attention_suite.apps.common.training.fit import fit

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    # A rate too small to improve the validation loss: the plateau halves it.
    model.compile(optimizer=keras.optimizers.Adam(1e-9), loss="mse")
    data = tf.data.Dataset.from_tensor_slices(
        (np.ones((8, 3), "float32"), np.zeros((8, 1), "float32"))
    ).batch(4)
    plateau = keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=1)
    epochs, _ = fit(
        model,
        data,
        data,
        str(tmp_path),
        epochs=4,
        patience=10,
        max_minutes=5,
        verbose=0,
        callbacks=[plateau],
    )
    assert epochs == 4
    assert float(model.optimizer.learning_rate) < 1e-9
    assert (tmp_path / "model.keras").exists() and (
        tmp_path / "history.csv"
    ).exists()


def test_a_reserved_version_is_skipped_and_released(tmp_path):
    with reserved_version(tmp_path, "qa") as first:
        with reserved_version(tmp_path, "qa") as second:
            assert first.endswith(os.path.join("qa", "1"))
            assert second.endswith(os.path.join("qa", "2"))
            with pytest.raises(FileExistsError, match="another export"):
                with reserved_version(tmp_path, "qa", 2):
                    pass
    assert os.listdir(tmp_path / "qa") == []


def test_a_version_written_meanwhile_is_never_replaced(tmp_path):
    final = tmp_path / "qa" / "1"
    with pytest.raises(FileExistsError, match="meanwhile"):
        with atomic_directory(final) as tmp:
            (final / "mine").mkdir(parents=True)
            open(os.path.join(tmp, "theirs"), "w").close()
    assert os.listdir(final) == ["mine"]
    assert os.listdir(tmp_path / "qa") == ["1"]


def test_export_keeps_a_models_config_of_every_app_it_wrote(tmp_path):
    path = update_models_config(tmp_path, "qa")
    update_models_config(tmp_path, "traffic")
    update_models_config(tmp_path, "qa")
    with open(path) as f:
        text = f.read()
    assert text == models_config(["qa", "traffic"])
    assert text.count('base_path: "/models/qa"') == 1
    assert text.count("model_version_policy { all {} }") == 2


def test_the_tracked_models_config_is_what_export_writes():
    from helpers import REPO

    with open(REPO / "saved_models" / "models.config") as f:
        assert f.read() == models_config(
            ["translation", "summarization", "qa", "traffic"]
        )
