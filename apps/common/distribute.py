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
"""

import contextlib
import json
import os

DISTRIBUTIONS = ("none", "data-parallel")
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
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
        "split each batch (JAX and TensorFlow backends)",
    )
    parser.add_argument(
        "--devices",
        type=int,
        help="devices for --distribution data-parallel (default: all GPUs, "
        "else 2 CPU devices)",
    )
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="float32",
        help="Keras dtype policy while training (variables stay float32)",
    )


def prepare(args):
    """Checks the options and sets what must precede the backend's start.

    Must run before the backend first lists its devices: on JAX, it asks
    XLA for `--devices` host devices (which only matters where the CPU is
    the platform).

    Args:
        args: the parsed `train` arguments.

    Raises:
        ValueError: `--devices` below 1, `--devices` without
            data-parallel, or data-parallel on the torch backend.
    """
    if args.devices is not None and args.devices < 1:
        raise ValueError(
            f"--devices must be at least 1, received {args.devices}."
        )
    if args.distribution == "none":
        if args.devices not in (None, 1):
            raise ValueError("--devices needs --distribution data-parallel.")
        return
    import keras

    # Importing the backend does not start it: XLA reads its flags when JAX
    # first lists its devices.
    backend = keras.backend.backend()
    if backend == "torch":
        raise ValueError(
            "--distribution data-parallel needs the JAX or TensorFlow "
            "backend: Keras has no distribution for torch (set "
            "KERAS_BACKEND=jax or tensorflow)."
        )
    if backend == "jax":
        flags = os.environ.get("XLA_FLAGS", "")
        if _HOST_DEVICES_FLAG not in flags:
            count = args.devices or 2
            os.environ["XLA_FLAGS"] = f"{flags} {_HOST_DEVICES_FLAG}={count}"


def _jax_distribution(devices):
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
    return keras.distribution.DataParallel(devices=available[:count])


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
def training_scope(distribution="none", devices=None, precision="float32"):
    """The scope a model is built, compiled and trained in.

    Args:
        distribution: `"none"` or `"data-parallel"`.
        devices: how many devices (`None`: all GPUs, else 2 CPU devices).
        precision: a Keras dtype policy name of `PRECISIONS`.

    Yields:
        A dict describing the setting, for the run's record: `precision`,
        `distribution` and `devices` (the device names).
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
            layout = _jax_distribution(devices)
            record["devices"] = [str(d) for d in layout.device_mesh.devices]
            with layout.scope():
                yield record
        else:
            strategy = _tensorflow_strategy(devices)
            record["devices"] = list(strategy.extended.worker_devices)
            with strategy.scope():
                yield record
    finally:
        keras.config.set_dtype_policy(previous)


def replicas():
    """How many devices share each batch under the current distribution.

    Returns:
        The size of a JAX `DataParallel` batch axis or the replicas in sync
        of a `tf.distribute` strategy; 1 without a distribution.
    """
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.distribute.get_strategy().num_replicas_in_sync
    if keras.backend.backend() != "jax":
        return 1
    layout = keras.distribution.distribution()
    if not isinstance(layout, keras.distribution.DataParallel):
        return 1
    return int(layout.device_mesh.shape[0])


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
