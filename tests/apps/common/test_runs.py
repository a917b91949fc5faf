"""`runs.claimed`: what a `train` that fails before its first checkpoint
leaves behind, and what `--overwrite` keeps until then."""

import os

import pytest

from attention_suite.apps.common.training import runs


def _write(path, text="x"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


@pytest.mark.parametrize(
    "written, kept",
    [
        # Before the first checkpoint: nothing stays.
        ("config.json", None),
        # After it: the run stays, to be resumed.
        ("model.keras", ["model.keras"]),
    ],
)
def test_a_failed_new_run_leaves_only_a_checkpointed_run(
    tmp_path, written, kept
):
    run_dir = tmp_path / "run"
    with pytest.raises(RuntimeError):
        with runs.claimed(str(run_dir)):
            _write(str(run_dir / written))
            raise RuntimeError("the data could not be read")
    assert (os.listdir(run_dir) if run_dir.exists() else None) == kept


def test_a_failed_run_keeps_what_the_folder_held_before(tmp_path):
    _write(str(tmp_path / "notes.txt"), "mine")
    with pytest.raises(KeyboardInterrupt):
        with runs.claimed(str(tmp_path)):
            _write(str(tmp_path / "config.json"))
            _write(str(tmp_path / "tokenizer.model"))
            raise KeyboardInterrupt
    assert sorted(os.listdir(tmp_path)) == ["notes.txt"]


def test_a_failed_overwrite_puts_the_old_run_back(tmp_path):
    run_dir = tmp_path / "run"
    _write(str(run_dir / "config.json"), "old")
    _write(str(run_dir / "model.keras"), "old model")
    with pytest.raises(ValueError):
        with runs.claimed(str(run_dir), overwrite=True):
            assert not run_dir.exists()
            _write(str(run_dir / "config.json"), "new")
            raise ValueError("a setting the data cannot support")
    assert (run_dir / "config.json").read_text() == "old"
    assert (run_dir / "model.keras").read_text() == "old model"
    assert sorted(os.listdir(tmp_path)) == ["run"]


def test_the_replaced_run_goes_when_the_first_checkpoint_lands(tmp_path):
    run_dir = tmp_path / "run"
    _write(str(run_dir / "config.json"), "old")
    with runs.claimed(str(run_dir), overwrite=True):
        _write(str(run_dir / "model.keras"), "new model")
        assert len(os.listdir(tmp_path)) == 2
        assert len(runs.discard_replaced(str(run_dir))) == 1
        assert os.listdir(tmp_path) == ["run"]
    assert os.listdir(run_dir) == ["model.keras"]


def test_an_existing_run_is_refused_without_a_flag(tmp_path):
    _write(str(tmp_path / "history.csv"))
    with pytest.raises(FileExistsError, match="--resume.*--overwrite"):
        with runs.claimed(str(tmp_path)):
            pass


def test_the_best_model_is_saved_without_its_optimizer(tmp_path):
    import keras
    import numpy as np

    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(256)])
    model.compile("adam", "mse")
    x = np.random.default_rng(0).normal(size=(32, 64)).astype("float32")
    model.fit(x, x @ np.ones((64, 256), "float32"), epochs=1, verbose=0)
    full, slim = tmp_path / "full.keras", tmp_path / "slim.keras"
    model.save(full)
    runs.save_for_inference(model, str(slim))
    # The weights, without Adam's two moments of the same size.
    assert os.path.getsize(slim) < 0.5 * os.path.getsize(full)
    restored = keras.saving.load_model(slim)
    np.testing.assert_array_equal(restored.predict(x), model.predict(x))
    assert getattr(restored, "optimizer", None) is None
    assert sorted(os.listdir(tmp_path)) == ["full.keras", "slim.keras"]


def test_a_resume_keeps_the_data_the_run_recorded(tmp_path):
    from attention_suite.apps.common.training.config import save_config
    from attention_suite.apps.traffic.config import TrafficConfig

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    save_config(
        TrafficConfig(dataset="/data/speeds.csv", epochs=2),
        str(run_dir / "config.json"),
    )
    # A config file naming the default dataset is no change to the run.
    path = tmp_path / "los_loop.json"
    path.write_text('{"dataset": "los_loop", "epochs": 2}')
    config = runs.resumed_config(
        str(run_dir), TrafficConfig, str(path), ["epochs=3"]
    )
    assert (config.dataset, config.epochs) == ("/data/speeds.csv", 3)
    # A `--set dataset=` that differs is a change, and refused.
    with pytest.raises(ValueError, match="cannot change dataset"):
        runs.resumed_config(
            str(run_dir), TrafficConfig, None, ["dataset=pems08"]
        )


def test_a_resume_on_other_data_is_refused(tmp_path):
    from attention_suite.apps.traffic.config import TrafficConfig

    speeds = tmp_path / "speeds.csv"
    speeds.write_text("1,2\n")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "run.json").write_text(f'{{"speeds_path": "{speeds}"}}')
    config = TrafficConfig(dataset="los_loop")
    # The recorded name, or the file the run read, given either way.
    for data in ("los_loop", str(speeds), os.path.relpath(speeds)):
        runs.check_resumed_data(str(run_dir), config, data)
    with pytest.raises(ValueError, match=r"recorded \(los_loop\), not pems08"):
        runs.check_resumed_data(str(run_dir), config, "pems08")
