"""Training an app into a run directory: what every app's `train` does."""

import argparse
import os

from attention_suite.apps.common.data.atomic import atomic_write_json
from attention_suite.apps.common.training import distribute
from attention_suite.apps.common.training.config import config_from
from attention_suite.apps.common.training.fit import VERBOSITY
from attention_suite.apps.common.training.runs import (
    Run,
    check_resumed_data,
    claimed,
    resumed_config,
)


def train_run(
    train,
    command,
    config_class,
    config,
    data,
    out,
    data_dir=None,
    *,
    resume=False,
    overwrite=False,
    sharding=None,
    distribution="none",
    devices=None,
    precision="float32",
    model_devices=None,
    verbose="auto",
    **options,
):
    """Trains an app into `out`: the `train` every app's API shares.

    The run directory is claimed first (`claimed`: a run there needs
    `resume` or `overwrite`), the training runs under the distribution and
    precision asked for, and `run.json` then records the app's command and
    that setting, which marks the run finished.

    Args:
        train: the app's training function, `train(config, data, out,
            data_dir, **options)` returning the run info.
        command: the app's command (e.g. `"translate"`).
        config_class: the app's config dataclass.
        config: a `config_class` instance, a dict of settings, or `None`:
            the defaults, or on a resume the run's own settings.
        data: a dataset name or a file (`None`: `config.dataset`).
        out: the run directory.
        data_dir: where named datasets live (default `$ATTN_DATA_DIR`).
        resume: continue the run in `out`.
        overwrite: replace the run in `out`.
        sharding: the app's model-parallel `distribute.Sharding`, or `None`.
        distribution: `"none"`, `"data-parallel"` or `"model-parallel"`.
        devices: how many devices to train on (`None`: all).
        precision: `"float32"`, `"mixed_bfloat16"` or `"mixed_float16"`.
        model_devices: devices that split the model (model-parallel).
        verbose: Keras' verbosity of the fit: `"auto"` (a progress bar on
            a terminal, a line an epoch otherwise), 0, 1 or 2.
        **options: more arguments of the app's training function.

    Returns:
        The `Run`.

    Raises:
        FileExistsError: `out` holds a run and neither flag is given.
        NothingToResume: `resume` of a finished run that asks for nothing.
        ValueError: a setting or a distribution option is invalid, or a
            resume is given other data than its run recorded.
    """
    if config is None and resume:
        config = resumed_config(out, config_class)
    config = config_from(config_class, config)
    data = data or config.dataset
    if not resume:
        # The config records the data the run reads: a file's path, or the
        # dataset's name.
        config.dataset = os.path.abspath(data) if os.path.isfile(data) else data
    distribute.prepare(
        argparse.Namespace(
            distribution=distribution,
            devices=devices,
            model_devices=model_devices,
        ),
        sharding,
    )
    verbosity = VERBOSITY.set(verbose)
    try:
        with claimed(out, resume, overwrite):
            if resume:
                check_resumed_data(out, config, data)
            with distribute.training_scope(
                distribution, devices, precision, sharding, model_devices
            ) as setting:
                distribute.check_split(config, sharding)
                info = train(config, data, out, data_dir, **options)
    finally:
        VERBOSITY.reset(verbosity)
    info = {**info, "app": command, "training_setting": setting}
    atomic_write_json(os.path.join(out, "run.json"), info)
    return Run(os.fspath(out), config, info)
