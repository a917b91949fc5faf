"""Training on several devices and in mixed precision, with the same code.

`attn <app> train --distribution data-parallel [--devices N]` replicates the
model on N devices and splits every batch between them, through what each
backend's Keras offers:

* JAX: `keras.distribution.DataParallel` over the first N of
  `keras.distribution.list_devices()` (GPUs, else CPUs). On a CPU-only
  machine, N host devices are made with
  `XLA_FLAGS=--xla_force_host_platform_device_count=N`. Several hosts: set
  `KERAS_DISTRIBUTION_JOB_ADDRESSES`, `KERAS_DISTRIBUTION_NUM_PROCESSES`
  and `KERAS_DISTRIBUTION_PROCESS_ID` on each, and the run starts with
  `keras.distribution.initialize()` (`jax.distributed.initialize`); see
  `docs/scaling.md`.
* TensorFlow: `tf.distribute.MirroredStrategy` over the first N GPUs (on a
  CPU-only machine, the CPU split into N logical devices), or
  `tf.distribute.MultiWorkerMirroredStrategy` when `TF_CONFIG` names a
  cluster.
* torch: Keras has no distribution for its torch backend; the flag is
  refused in one line.

`--distribution model-parallel [--devices N] [--model-devices M]` (JAX,
the sequence-to-sequence apps) also splits chosen weights between devices:
`keras.distribution.ModelParallel` over a `(N / M, M)` mesh of axes
`("batch", "model")`, whose `LayoutMap` is the app's sharding rule
(`TOKEN_EMBEDDING_SHARDING`: the tied token embedding, which is also the
output projection, split along its width over the M devices of the
`model` axis). Batches are split over the `batch` axis; every other weight
is replicated.

Gradients are averaged over the replicas by Keras and the backend; the
global batch is the config's `batch_size`, so a run keeps its learning rate
and schedule. Every batch is cut to a multiple of N (at most N - 1 examples
of an epoch's partial batches are left out): JAX shards a batch evenly, and
a model with `add_loss` terms fails under `tf.distribute` on replicas of
unequal size.

`--precision mixed_bfloat16 | mixed_float16` sets the Keras dtype policy
while the model is built and trained: variables stay float32, computations
run in the lower precision, and `mixed_float16` wraps the optimizer in a
`LossScaleOptimizer` (Keras does so at `compile`). The saved model is read
back in float32 for inference and export, so SavedModels keep their
float32 inputs and outputs.

Each backend (JAX, TensorFlow, torch) is imported only where its distribution
is set up: importing the module must not start one.
"""

import collections
import contextlib
import json
import os

DISTRIBUTIONS = ("none", "data-parallel", "model-parallel")
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
# A model-parallel sharding rule: `layout` maps a variable path regex to
# the mesh axis of each dimension (`"model"` or `None`), and `settings`
# names the config settings that size the split dimensions.
Sharding = collections.namedtuple("Sharding", "layout settings")
# `embeddings.tied_token_embedding`'s `(vocabulary, width)` matrix, split
# along the width (the config's `embedding_dim`).
TOKEN_EMBEDDING_SHARDING = Sharding(
    {".*token_embedding/embeddings": (None, "model")}, ("embedding_dim",)
)
_HOST_DEVICES_FLAG = "--xla_force_host_platform_device_count"


def add_options(parser):
    """Adds `--distribution`, `--devices` and `--precision` to `train`.

    Args:
        parser: the `train` parser.
    """
    parser.add_argument(
        "--distribution",
        choices=DISTRIBUTIONS,
        default="none",
        help="data-parallel: replicate the model on --devices devices and "
        "split each batch (JAX and TensorFlow backends); model-parallel: "
        "also split the token embedding over --model-devices of them "
        "(JAX, translate and summarize)",
    )
    parser.add_argument(
        "--devices",
        type=int,
        help="devices for --distribution (default: all GPUs, else 2 CPU "
        "devices)",
    )
    parser.add_argument(
        "--model-devices",
        type=int,
        help="devices each sharded weight is split over, for --distribution "
        "model-parallel (default: all --devices)",
    )
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="float32",
        help="Keras dtype policy while training (variables stay float32)",
    )


def prepare(args, sharding=None):
    """Checks the options and sets what must precede the backend's start.

    Must run before the backend first lists its devices: on JAX, it asks
    XLA for `--devices` host devices (which only matters where the CPU is
    the platform).

    Args:
        args: the parsed `train` arguments.
        sharding: the app's sharding rule for model-parallel (`None`: the
            app offers none).

    Raises:
        ValueError: `--devices` or `--model-devices` below 1, either one
            without the distribution it needs, `--model-devices` that does
            not divide `--devices`, data-parallel on the torch backend, or
            model-parallel off JAX or for an app without a sharding rule.
    """
    for flag, count in (
        ("--devices", args.devices),
        ("--model-devices", args.model_devices),
    ):
        if count is not None and count < 1:
            raise ValueError(f"{flag} must be at least 1, received {count}.")
    if args.model_devices is not None:
        if args.distribution != "model-parallel":
            raise ValueError(
                "--model-devices needs --distribution model-parallel."
            )
        if args.devices is not None and args.devices % args.model_devices:
            raise ValueError(
                f"--model-devices {args.model_devices} does not divide "
                f"--devices {args.devices}."
            )
    if args.distribution == "none":
        if args.devices not in (None, 1):
            raise ValueError(
                "--devices needs --distribution data-parallel or "
                "model-parallel."
            )
        return
    import keras

    # Importing the backend does not start it: XLA reads its flags when JAX
    # first lists its devices.
    backend = keras.backend.backend()
    if args.distribution == "model-parallel":
        if sharding is None:
            raise ValueError(
                "--distribution model-parallel splits the token embedding "
                "of `attn translate` and `attn summarize`; this app has "
                "none to split: use data-parallel."
            )
        if backend != "jax":
            raise ValueError(
                "--distribution model-parallel needs the JAX backend: "
                "Keras' ModelParallel runs on JAX (set KERAS_BACKEND=jax)."
            )
    if backend == "torch":
        raise ValueError(
            "--distribution data-parallel needs the JAX or TensorFlow "
            "backend: Keras has no distribution for torch (set "
            "KERAS_BACKEND=jax or tensorflow)."
        )
    if backend == "jax":
        flags = os.environ.get("XLA_FLAGS", "")
        if _HOST_DEVICES_FLAG not in flags:
            count = args.devices or args.model_devices or 2
            os.environ["XLA_FLAGS"] = f"{flags} {_HOST_DEVICES_FLAG}={count}"


def _jax_devices(devices):
    """The first `devices` JAX devices (all when `None`), every host's."""
    import keras

    if os.environ.get("KERAS_DISTRIBUTION_NUM_PROCESSES", "1") != "1":
        # Several hosts: each runs the same command with its process id
        # (`jax.distributed.initialize` through Keras).
        keras.distribution.initialize()
    available = keras.distribution.list_devices()
    count = devices or len(available)
    if count > len(available):
        raise ValueError(
            f"--devices {count}: only {len(available)} JAX devices "
            f"({', '.join(available)})."
        )
    return available[:count]


def _jax_distribution(distribution, devices, sharding, model_devices):
    """A Keras `DataParallel` or `ModelParallel` over JAX devices.

    Args:
        distribution: `"data-parallel"` or `"model-parallel"`.
        devices: how many devices (`None`: all).
        sharding: for model-parallel, the app's `Sharding` rule.
        model_devices: the size of the `model` mesh axis (`None`: all the
            devices).

    Returns:
        The distribution.
    """
    import keras

    names = _jax_devices(devices)
    if distribution == "data-parallel":
        return keras.distribution.DataParallel(devices=names)
    model = model_devices or len(names)
    if len(names) % model:
        raise ValueError(
            f"--model-devices {model} does not divide the {len(names)} devices."
        )
    mesh = keras.distribution.DeviceMesh(
        (len(names) // model, model), ("batch", "model"), names
    )
    layout_map = keras.distribution.LayoutMap(mesh)
    for path, axes in sharding.layout.items():
        layout_map[path] = axes
    return _recording_model_parallel(layout_map)


def _axis_size(mesh, axis):
    """The number of devices along a mesh `axis` (`None`: 1)."""
    return mesh.shape[mesh.axis_names.index(axis)] if axis else 1


def _recording_model_parallel(layout_map):
    """A `ModelParallel` that records the shape each device holds.

    Args:
        layout_map: the `keras.distribution.LayoutMap`.

    Returns:
        The distribution, its batch over the mesh's `batch` axis; its
        `split` dict maps the path of every weight it splits to the shape
        each device holds of it.
    """
    import keras

    mesh = layout_map.device_mesh

    class RecordingModelParallel(keras.distribution.ModelParallel):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.split = {}

        def get_variable_layout(self, variable):
            layout = super().get_variable_layout(variable)
            parts = [_axis_size(mesh, axis) for axis in layout.axes]
            if max(parts, default=1) > 1:
                self.split[variable.path] = [
                    size // count for size, count in zip(variable.shape, parts)
                ]
            return layout

    return RecordingModelParallel(layout_map=layout_map, batch_dim_name="batch")


def check_split(config, sharding):
    """Refuses, in one line, a setting the model axis does not divide.

    JAX splits an array only into equal parts; Keras' `ModelParallel` would
    fail deep inside `jax.device_put`.
    `attention_suite.apps.common.training.launch.train_run` calls it inside
    `training_scope`, before the run writes anything; it does nothing off
    model-parallel.

    Args:
        config: the run's config.
        sharding: the app's `Sharding` rule, or `None`.

    Raises:
        ValueError: a setting of `sharding.settings` that the size of the
            mesh's `model` axis does not divide.
    """
    import keras

    distribution = keras.distribution.distribution()
    if sharding is None or not isinstance(
        distribution, keras.distribution.ModelParallel
    ):
        return
    count = _axis_size(distribution.device_mesh, "model")
    for name in sharding.settings:
        value = getattr(config, name)
        if value % count:
            raise ValueError(
                f"--distribution model-parallel cannot split {name} {value} "
                f"into {count} equal parts: choose --model-devices that "
                f"divides {value}."
            )


def _tensorflow_strategy(devices):
    import tensorflow as tf

    if "TF_CONFIG" in os.environ:
        cluster = json.loads(os.environ["TF_CONFIG"]).get("cluster", {})
        if cluster:
            return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        count = devices or len(gpus)
        if count > len(gpus):
            raise ValueError(f"--devices {count}: only {len(gpus)} GPUs.")
        names = [f"/gpu:{i}" for i in range(count)]
    else:
        count = devices or 2
        cpus = tf.config.list_physical_devices("CPU")
        try:
            tf.config.set_logical_device_configuration(
                cpus[0], [tf.config.LogicalDeviceConfiguration()] * count
            )
        except RuntimeError:
            pass  # Already split (or started): use what exists.
        logical = tf.config.list_logical_devices("CPU")
        if count > len(logical):
            raise ValueError(
                f"--devices {count}: TensorFlow already started with "
                f"{len(logical)} CPU devices."
            )
        names = [device.name for device in logical[:count]]
    return tf.distribute.MirroredStrategy(names)


@contextlib.contextmanager
def training_scope(
    distribution="none",
    devices=None,
    precision="float32",
    sharding=None,
    model_devices=None,
):
    """The scope a model is built, compiled and trained in.

    Args:
        distribution: a name of `DISTRIBUTIONS`.
        devices: how many devices (`None`: all GPUs, else 2 CPU devices).
        precision: a Keras dtype policy name of `PRECISIONS`.
        sharding: for model-parallel, the app's `Sharding` rule.
        model_devices: for model-parallel, the devices each sharded weight
            is split over (`None`: all).

    Yields:
        A dict describing the setting, for the run's record: `precision`,
        `distribution`, `devices` (the device names) and, for
        model-parallel, `mesh` (axis name -> size), `sharding` and, once
        training ends, `shape_per_device` (the split weights' paths -> the
        shape each device holds).
    """
    import keras

    if precision == "mixed_float16" and keras.backend.backend() == "jax":
        import jax

        if jax.default_backend() == "cpu":
            raise ValueError(
                "--precision mixed_float16 needs a GPU on JAX: XLA's CPU "
                "backend has no float16 matmul; use mixed_bfloat16."
            )
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    record = {"precision": precision, "distribution": distribution}
    try:
        if distribution == "none":
            yield record
        elif keras.backend.backend() == "jax":
            layout = _jax_distribution(
                distribution, devices, sharding, model_devices
            )
            mesh = layout.device_mesh
            record["devices"] = [str(d) for d in mesh.devices.flat]
            if distribution == "model-parallel":
                record["mesh"] = dict(zip(mesh.axis_names, mesh.shape))
                record["sharding"] = sharding.layout
            with layout.scope():
                yield record
            if distribution == "model-parallel":
                record["shape_per_device"] = layout.split
        else:
            strategy = _tensorflow_strategy(devices)
            record["devices"] = list(strategy.extended.worker_devices)
            with strategy.scope():
                yield record
    finally:
        keras.config.set_dtype_policy(previous)


def on_accelerator():
    """Whether the backend computes on a GPU or TPU (whose memory is its
    own, not the machine's).

    Returns:
        A bool.
    """
    import keras

    if keras.backend.backend() == "torch":
        import torch

        return torch.cuda.is_available()
    return any(
        not device.lower().startswith("cpu")
        for device in keras.distribution.list_devices()
    )


def replicas():
    """How many devices share each batch under the current distribution.

    Returns:
        The size of a JAX distribution's batch axis or the replicas in sync
        of a `tf.distribute` strategy; 1 without a distribution.
    """
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.distribute.get_strategy().num_replicas_in_sync
    if keras.backend.backend() != "jax":
        return 1
    layout = keras.distribution.distribution()
    if layout is None:
        return 1
    mesh = layout.device_mesh
    return int(mesh.shape[mesh.axis_names.index(layout.batch_dim_name)])


def even_batches(dataset, count):
    """Cuts every batch of a `tf.data` dataset to a multiple of `count`.

    Args:
        dataset: batches of `(inputs, targets)` (any nesting).
        count: the number of devices a batch is split between.

    Returns:
        The dataset with batches of a multiple of `count` rows; a batch of
        fewer than `count` rows is dropped.
    """
    import tensorflow as tf

    if count == 1:
        return dataset

    def rows(batch):
        return tf.shape(tf.nest.flatten(batch)[0])[0]

    def cut(*batch):
        keep = rows(batch) - rows(batch) % count
        return tf.nest.map_structure(lambda t: t[:keep], batch)

    return dataset.map(cut).filter(lambda *batch: rows(batch) > 0)
