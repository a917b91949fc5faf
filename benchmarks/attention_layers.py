"""Speed and memory benchmark of `layers.MultiHeadAttention`.

Compares, on each Keras backend, one forward+backward step of

* `ours`: `layers.MultiHeadAttention` with `implementation="auto"` (the fused
  `keras.ops.dot_product_attention` path on JAX and torch, the explicit path
  on TensorFlow),
* `explicit`: the same layer with `implementation="explicit"` (softmax of
  the full score matrix), to show what the fused path gains,
* `keras`: `keras.layers.MultiHeadAttention`,
* `naive`: projections, einsum, softmax and einsum written with `keras.ops`,

on self-attention at a few sequence lengths, plus the memory-bounded
`implementation="chunked"` path (and the explicit path, when it fits in
memory) at one long sequence length.

Every backend runs in its own subprocess, with `KERAS_BACKEND` set before
Keras is imported. Times are medians over interleaved repeats of all layers
in one process, next to the speed of a plain float32 matmul measured in the
same process. Peak memory is measured in a fresh subprocess per (backend,
layer, length), as the growth of the peak resident set size (on a GPU: the
peak GPU memory allocated). Each row also says whether Keras can take the
flash-attention kernel for the fused path's inputs (`flash_attention=True`
accepted), and `--dtype-policy mixed_bfloat16` runs the layers (and the
matmul roof) in bfloat16.

Usage:

```
python benchmarks/attention_layers.py
python benchmarks/attention_layers.py --backends jax --lengths 128,512 --long 0
python benchmarks/attention_layers.py --quick --backends jax --out DIR
python benchmarks/attention_layers.py --backends jax,torch \
    --dtype-policy mixed_bfloat16 --tokens-per-step 16384 --long 0 \
    --no-memory --out DIR
```

The full run writes `benchmarks/results/layers.json` and
`benchmarks/results/layers.md` (`--out` picks another directory); `--quick`
only prints its table, unless given `--out`.
"""

import argparse
import gc
import hashlib
import json
import os
import statistics
import time
from importlib.util import find_spec
from pathlib import Path

import measure

from attention_suite.apps.common.cli.tables import markdown_table

COMPILE_MODES = {
    "tensorflow": "tf.function(jit_compile=True)",
    "jax": "jax.jit",
    "torch": "eager",
}
GRADIENTS = {
    "tensorflow": "tf.GradientTape",
    "jax": "jax.value_and_grad",
    "torch": "torch.autograd.grad",
}
# `implementation` of `layers.MultiHeadAttention` for each benchmarked name.
OUR_IMPLEMENTATIONS = {
    "ours": "auto",
    "chunked": "chunked",
    "explicit": "explicit",
}
SHORT_IMPLS = ("ours", "explicit", "keras", "naive")
LONG_IMPLS = ("chunked", "explicit")
MODEL_KEYS = ("num_heads", "key_dim", "model_dim", "query_chunk_size")

FULL_CONFIG = {
    "dtype_policy": "float32",
    "memory": True,
    "num_heads": 8,
    "key_dim": 64,
    "model_dim": 512,
    "lengths": (128, 512, 2048),
    "tokens_per_step": 2048,
    "long_length": 16384,
    "long_batch": 1,
    # Modes tried in order at the long length (see `long_cases`). Forward
    # only: forward+backward takes minutes per step on a few CPU cores.
    "long_modes": ("forward",),
    "query_chunk_size": 1024,
    "roof_size": 2048,
    # See `measure.time_steps`.
    "timing": {
        "warmup": 2,
        "min_repeats": 6,
        "max_repeats": 40,
        "budget_s": 8.0,
    },
    "memory_timing": {
        "warmup": 1,
        "min_repeats": 1,
        "max_repeats": 1,
        "budget_s": 0.0,
    },
    # A forward step at 16384 tokens takes up to a minute on 2 CPU cores.
    "long_timing": {
        "warmup": 1,
        "min_repeats": 1,
        "max_repeats": 1,
        "budget_s": 0.0,
    },
    "memory_budget_mib": 6144,
}
QUICK_CONFIG = {
    **FULL_CONFIG,
    "num_heads": 2,
    "key_dim": 8,
    "model_dim": 16,
    "lengths": (64,),
    "tokens_per_step": 128,
    "long_length": 256,
    "long_modes": ("forward+backward", "forward"),
    "query_chunk_size": 64,
    "roof_size": 256,
    "timing": {
        "warmup": 1,
        "min_repeats": 3,
        "max_repeats": 3,
        "budget_s": 0.0,
    },
}
# (B, H, Tq, Tk) float32 tensors alive at the peak of a step of the explicit
# computation: logits and weights forward; plus the weights' gradient in the
# backward pass. A lower bound: masks and softmax temporaries come on top.
ATTENTION_MATRICES = {"forward": 2, "forward+backward": 3}


# ----------------------------------------------------------------------------
# Child process: one backend, one sequence length.
# ----------------------------------------------------------------------------


def naive_attention_class():
    """Returns a Keras layer computing attention directly with `keras.ops`.

    The class is created on demand so that Keras is only imported once the
    backend is chosen. Its weights have the layout of
    `keras.layers.MultiHeadAttention`.

    Returns:
        The layer class, called as `layer(query, value, training=None)`.
    """
    import keras
    from keras import ops

    class NaiveAttention(keras.layers.Layer):
        """Multi-head attention: projections, einsum, softmax, einsum."""

        def __init__(self, num_heads, key_dim, **kwargs):
            super().__init__(**kwargs)
            self.num_heads = num_heads
            self.key_dim = key_dim

        def build(self, query_shape, value_shape):
            heads = (self.num_heads, self.key_dim)
            self.projections = [
                (
                    self.add_weight((shape[-1], *heads), name=f"{name}_kernel"),
                    self.add_weight(heads, "zeros", name=f"{name}_bias"),
                )
                for name, shape in (
                    ("query", query_shape),
                    ("key", value_shape),
                    ("value", value_shape),
                )
            ]
            self.output_kernel = self.add_weight(
                (*heads, query_shape[-1]), name="output_kernel"
            )
            self.output_bias = self.add_weight(
                (query_shape[-1],), "zeros", name="output_bias"
            )

        def call(self, query, value, training=None):
            q, k, v = (
                ops.einsum("btd,dhk->bthk", x, kernel) + bias
                for x, (kernel, bias) in zip(
                    (query, value, value), self.projections
                )
            )
            logits = ops.einsum("bthk,bshk->bhts", q, k)
            weights = ops.softmax(logits / self.key_dim**0.5, axis=-1)
            out = ops.einsum("bhts,bshk->bthk", weights, v)
            return (
                ops.einsum("bthk,hkd->btd", out, self.output_kernel)
                + self.output_bias
            )

    return NaiveAttention


def build_layer(name, model, inputs):
    """Creates and builds one benchmarked layer with seeded weights.

    Args:
        name: `"ours"`, `"chunked"`, `"explicit"`, `"keras"` or `"naive"`.
        model: dict with `num_heads`, `key_dim` and `query_chunk_size`.
        inputs: NumPy array `(B, T, D)`; its first positions build the layer.

    Returns:
        The built layer. All layers get the same weights.
    """
    import keras
    import numpy as np

    from attention_suite.layers import MultiHeadAttention

    if name == "keras":
        layer = keras.layers.MultiHeadAttention(
            model["num_heads"], model["key_dim"]
        )
    elif name == "naive":
        layer = naive_attention_class()(model["num_heads"], model["key_dim"])
    else:
        layer = MultiHeadAttention(
            model["num_heads"],
            model["key_dim"],
            implementation=OUR_IMPLEMENTATIONS[name],
            query_chunk_size=model["query_chunk_size"],
        )
    layer(inputs[:, :8], inputs[:, :8])
    rng = np.random.default_rng(0)
    layer.set_weights(
        [
            rng.normal(scale=0.05, size=w.shape).astype(w.dtype)
            for w in layer.get_weights()
        ]
    )
    return layer


def loss_of(outputs):
    """Mean square of the attention outputs: the benchmarked loss."""
    from keras import ops

    return ops.mean(ops.square(outputs))


def tensorflow_step(layer, inputs, backward):
    """One compiled TensorFlow step, gradients from `tf.GradientTape`."""
    import tensorflow as tf

    inputs = tf.constant(inputs)

    @tf.function(jit_compile=True)
    def step(x):
        if not backward:
            return loss_of(layer(x, x, training=True))
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = loss_of(layer(x, x, training=True))
        return loss, tape.gradient(loss, [x, *layer.trainable_variables])

    return lambda: step(inputs)


def jax_step(layer, inputs, backward):
    """One `jax.jit` step, gradients from `jax.value_and_grad`."""
    import jax

    inputs = jax.numpy.asarray(inputs)
    trainable = [v.value for v in layer.trainable_variables]
    non_trainable = [v.value for v in layer.non_trainable_variables]

    def loss_fn(trainable, x):
        outputs, _ = layer.stateless_call(
            trainable, non_trainable, x, x, training=True
        )
        return loss_of(outputs)

    if backward:
        loss_fn = jax.value_and_grad(loss_fn, argnums=(0, 1))
    step = jax.jit(loss_fn)
    return lambda: jax.block_until_ready(step(trainable, inputs))


def torch_step(layer, inputs, backward):
    """One eager PyTorch step, gradients from `torch.autograd.grad`."""
    import torch
    from keras import ops

    inputs = ops.convert_to_tensor(inputs).requires_grad_(backward)
    params = [v.value for v in layer.trainable_variables]

    def step():
        with torch.set_grad_enabled(backward):
            loss = loss_of(layer(inputs, inputs, training=True))
            if backward:
                torch.autograd.grad(loss, [inputs, *params])
        measure.synchronize()

    return step


STEP_BUILDERS = {
    "tensorflow": tensorflow_step,
    "jax": jax_step,
    "torch": torch_step,
}


def max_abs_differences(layers, inputs, reference):
    """Largest absolute output difference of each layer to a reference.

    Args:
        layers: dict from name to built layer.
        inputs: NumPy array `(B, T, D)`.
        reference: name of the reference layer in `layers`.

    Returns:
        Dict from the other names to a float.
    """
    from keras import ops

    expected = ops.convert_to_numpy(layers[reference](inputs, inputs))
    return {
        name: float(
            abs(ops.convert_to_numpy(layer(inputs, inputs)) - expected).max()
        )
        for name, layer in layers.items()
        if name != reference
    }


def flash_attention_taken(model, batch, length):
    """Whether Keras takes flash attention for the fused path's inputs.

    `keras.ops.dot_product_attention` with `flash_attention=None` (what the
    layer passes) uses the flash kernel exactly when `flash_attention=True`
    is accepted for the same shapes and dtype.

    Args:
        model: dict with `num_heads` and `key_dim`.
        batch: the batch size.
        length: the sequence length.

    Returns:
        `True`, or the first line of the reason Keras gives.
    """
    import keras
    from keras import ops

    dtype = keras.config.dtype_policy().compute_dtype
    heads = ops.zeros(
        (batch, length, model["num_heads"], model["key_dim"]), dtype
    )
    try:
        ops.dot_product_attention(heads, heads, heads, flash_attention=True)
    except Exception as error:
        return (str(error).strip().splitlines() or [type(error).__name__])[0]
    return True


def run_case(case):
    """Benchmarks some layers at one length on the current backend.

    Args:
        case: dict with `impls` (names), `length`, `batch`, `backward`,
            `model` (see `build_layer`), `timing` (see `measure.time_steps`),
            `roof_size` (0 for no matmul roof) and `dtype_policy`.

    Returns:
        A JSON-serializable dict of results (see `measure.time_steps`; the
        matmul roof is timed as `"matmul"`). Memory results are only given
        for a single layer, since one process' peak would mix several: the
        peak GPU memory on a GPU, else the growth of the peak RSS.
    """
    import keras
    import numpy as np

    keras.config.set_dtype_policy(case["dtype_policy"])
    backend = keras.backend.backend()
    model = case["model"]
    inputs = np.random.default_rng(1).standard_normal(
        (case["batch"], case["length"], model["model_dim"]), dtype="float32"
    )
    layers = {name: build_layer(name, model, inputs) for name in case["impls"]}
    result = {}
    if "keras" in layers and len(layers) > 1:
        result["max_abs_diff_vs_keras"] = max_abs_differences(
            layers, inputs, "keras"
        )
    steps = {
        name: STEP_BUILDERS[backend](layer, inputs, case["backward"])
        for name, layer in layers.items()
    }
    if case["roof_size"]:
        steps["matmul"] = measure.matmul_step(
            case["roof_size"], keras.config.dtype_policy().compute_dtype
        )
    if "ours" in layers:
        result["flash_attention"] = flash_attention_taken(
            model, case["batch"], case["length"]
        )
    gc.collect()
    peak_reset = measure.reset_peak_rss()
    baseline_mib = measure.resident_mib()
    result["first_step_s"], result["times_s"] = measure.time_steps(
        steps, **case["timing"]
    )
    if len(layers) == 1 and measure.on_gpu():
        result["peak_mib"] = measure.peak_device_mib()
    elif len(layers) == 1:
        result["peak_mib"] = measure.peak_rss_mib() - baseline_mib
        result["peak_reset"] = peak_reset
    return result


# ----------------------------------------------------------------------------
# Parent process: one child per case, then the report.
# ----------------------------------------------------------------------------


def spawn(backend, case):
    """Runs `run_case(case)` in a fresh process on the given backend.

    Args:
        backend: `"tensorflow"`, `"jax"` or `"torch"`.
        case: see `run_case`.

    Returns:
        The child's results; `{"error": ...}` if it failed.
    """
    result = measure.run_child(__file__, backend, ["--case", json.dumps(case)])
    if "times_s" in result:
        summarize_times(result, case["roof_size"])
    summary = {
        key: result[key]
        for key in ("seconds", "peak_mib", "error")
        if key in result
    }
    print(
        f"{backend} {','.join(case['impls'])} T={case['length']}: {summary}",
        flush=True,
    )
    return result


def summarize_times(result, roof_size):
    """Adds median step times and the matmul roof to a child's results.

    Args:
        result: the child's results, with `times_s`; updated in place with
            `seconds` (medians), `repeats`, the paired ratio of ours to
            Keras' times (`paired_ratio_ours_keras`: median over rounds of
            the two times in the same round) and `roof_gflops`.
        roof_size: side of the roof matmul; 0 when there is none.
    """
    times = result["times_s"]
    result["seconds"] = {
        name: statistics.median(values) for name, values in times.items()
    }
    result["repeats"] = min(len(values) for values in times.values())
    if "ours" in times and "keras" in times:
        result["paired_ratio_ours_keras"] = statistics.median(
            ours / keras for ours, keras in zip(times["ours"], times["keras"])
        )
    if roof_size:
        result["roof_gflops"] = (
            2 * roof_size**3 / result["seconds"].pop("matmul") / 1e9
        )


def attention_flops(batch, length, model, backward):
    """Matmul FLOPs of one self-attention step.

    Four `D x (H * dk)` projections plus `Q K^T` and `A V`; the backward pass
    counts twice the forward (recomputation on the chunked path not counted).

    Args:
        batch: batch size `B`.
        length: sequence length `T`.
        model: dict with `num_heads`, `key_dim` and `model_dim`.
        backward: whether the step includes the backward pass.

    Returns:
        The FLOP count.
    """
    heads_dim = model["num_heads"] * model["key_dim"]
    forward = (
        4 * batch * length * model["model_dim"] * heads_dim * 2
        + 2 * batch * length * length * heads_dim * 2
    )
    return forward * (3 if backward else 1)


def attention_matrix_mib(batch, rows, length, model, mode):
    """Lower bound of the attention matrices' memory in one step, in MiB.

    Args:
        batch: batch size.
        rows: queries processed at once (`T`, or the chunk size).
        length: number of keys.
        model: dict with `num_heads`.
        mode: `"forward"` or `"forward+backward"`.

    Returns:
        MiB of the float32 `(B, H, rows, length)` tensors alive at the peak.
    """
    matrix = batch * model["num_heads"] * rows * length * 4
    return ATTENTION_MATRICES[mode] * matrix / 2**20


def short_cases(backend, config):
    """Benchmarks ours, Keras' and naive attention at the short lengths.

    Args:
        backend: the backend to run.
        config: the benchmark configuration.

    Returns:
        One row per length. Times come from one process running all the
        layers; peak memory (with `config["memory"]`) from one process per
        layer.
    """
    model = {key: config[key] for key in MODEL_KEYS}
    rows = []
    for length in config["lengths"]:
        batch = max(1, config["tokens_per_step"] // length)
        case = {
            "length": length,
            "batch": batch,
            "backward": True,
            "model": model,
            "dtype_policy": config["dtype_policy"],
        }
        row = {"backend": backend, "length": length, "batch": batch}
        row.update(
            spawn(
                backend,
                {
                    **case,
                    "impls": SHORT_IMPLS,
                    "timing": config["timing"],
                    "roof_size": config["roof_size"],
                },
            )
        )
        if config["memory"]:
            row["peak_mib"] = {
                name: spawn(
                    backend,
                    {
                        **case,
                        "impls": (name,),
                        "timing": config["memory_timing"],
                        "roof_size": 0,
                    },
                ).get("peak_mib")
                for name in SHORT_IMPLS
            }
        if "seconds" in row:
            flops = attention_flops(batch, length, model, backward=True)
            row["gflop_per_step"] = flops / 1e9
            row["ratio_ours_keras"] = (
                row["seconds"]["ours"] / row["seconds"]["keras"]
            )
            row["ours_gflops"] = flops / row["seconds"]["ours"] / 1e9
            row["ratio_ours_explicit"] = (
                row["seconds"]["ours"] / row["seconds"]["explicit"]
            )
        rows.append(row)
    return rows


def long_cases(backend, config):
    """Benchmarks the chunked and explicit paths at the long length.

    Each path runs in the first of `long_modes` for which a lower bound of
    its attention matrices fits in `memory_budget_mib` and which does not
    fail; a path that fits in no mode is skipped.

    Args:
        backend: the backend to run.
        config: the benchmark configuration.

    Returns:
        One row per path.
    """
    model = {key: config[key] for key in MODEL_KEYS}
    length, batch = config["long_length"], config["long_batch"]
    rows = []
    for name in LONG_IMPLS:
        rows_at_once = length
        if name == "chunked":
            rows_at_once = min(length, config["query_chunk_size"])
        estimates = {
            mode: attention_matrix_mib(batch, rows_at_once, length, model, mode)
            for mode in ATTENTION_MATRICES
        }
        row = {
            "backend": backend,
            "impl": name,
            "length": length,
            "batch": batch,
            "attention_matrices_mib_lower_bound": estimates,
            "failed": {},
        }
        fitting = [
            mode
            for mode in config["long_modes"]
            if estimates[mode] <= config["memory_budget_mib"]
        ]
        if not fitting:
            row["skipped"] = (
                f"attention matrices over {config['memory_budget_mib']} MiB"
            )
            print(f"{backend} {name} T={length}: skipped", flush=True)
        for mode in fitting:
            backward = mode == "forward+backward"
            result = spawn(
                backend,
                {
                    "impls": (name,),
                    "length": length,
                    "batch": batch,
                    "backward": backward,
                    "model": model,
                    "dtype_policy": config["dtype_policy"],
                    "timing": config["long_timing"],
                    "roof_size": 0,
                },
            )
            if "error" in result:
                row["failed"][mode] = result["error"]
                continue
            flops = attention_flops(batch, length, model, backward)
            row.update(result, mode=mode)
            row["gflops"] = flops / result["seconds"][name] / 1e9
            break
        rows.append(row)
    return rows


def markdown(results):
    """The results as Markdown tables.

    Args:
        results: the dict written to `layers.json`.

    Returns:
        A Markdown string.
    """
    config, machine = results["config"], results["machine"]
    compile_modes = ", ".join(
        f"{backend}: {mode}" for backend, mode in config["compile"].items()
    )
    short_rows = []
    for row in results["short"]:
        seconds = row.get("seconds", {})
        peaks = row.get("peak_mib", {})
        flash = row.get("flash_attention")
        short_rows.append(
            [row["backend"], row["length"], row["batch"]]
            + [measure.fmt(seconds.get(name), ".4f") for name in SHORT_IMPLS]
            + [
                measure.fmt(row.get("ratio_ours_keras"), ".2f"),
                measure.fmt(row.get("paired_ratio_ours_keras"), ".2f"),
                measure.fmt(row.get("ratio_ours_explicit"), ".2f"),
                "-" if flash is None else ("yes" if flash is True else "no"),
                measure.fmt(row.get("ours_gflops"), ".1f"),
                measure.fmt(row.get("roof_gflops"), ".1f"),
                " / ".join(
                    measure.fmt(peaks.get(n), ".0f") for n in SHORT_IMPLS
                ),
            ]
        )
    device = measure.device_name(machine)
    memory = (
        "peak GPU memory allocated"
        if machine.get("gpus")
        else "growth of the peak RSS"
    )
    text = (
        f"Self-attention, {config.get('dtype_policy', 'float32')}, "
        f"{config['num_heads']} heads of "
        f"{config['key_dim']}, model dim {config['model_dim']}, "
        f"{config['tokens_per_step']} tokens per step; {device}; "
        f"{compile_modes}.\n\n"
        "Forward+backward seconds per step: medians of interleaved repeats "
        "in one process; *paired* is the median over repeats of ours/keras; "
        "*fused/explicit* is ours (`auto`) over the explicit path; *flash*: "
        "whether Keras takes the flash-attention kernel for these inputs. "
        f"Peak MiB: {memory}, one process per layer.\n\n"
    ) + markdown_table(
        [
            "backend",
            "length",
            "batch",
            "ours s",
            "explicit s",
            "keras s",
            "naive s",
            "ours/keras",
            "paired",
            "fused/explicit",
            "flash",
            "ours GFLOP/s",
            "roof GFLOP/s",
            "peak MiB ours / explicit / keras / naive",
        ],
        short_rows,
    )
    if not results["long"]:
        return text
    long_rows = []
    for row in results["long"]:
        bounds = row["attention_matrices_mib_lower_bound"]
        mode = row.get("mode")
        notes = [
            f"{failed} failed: {error[:80]}"
            for failed, error in row["failed"].items()
        ]
        if "skipped" in row:
            notes.append(f"skipped: {row['skipped']}")
        long_rows.append(
            [
                row["backend"],
                row["impl"],
                row["length"],
                row["batch"],
                mode or "-",
                measure.fmt(row.get("seconds", {}).get(row["impl"]), ".2f"),
                measure.fmt(row.get("gflops"), ".1f"),
                measure.fmt(row.get("peak_mib"), ".0f"),
                f"{bounds[mode or config['long_modes'][-1]]:.0f}",
                "; ".join(notes),
            ]
        )
    return (
        text + f'\nLong sequence: `implementation="chunked"` with '
        f"`query_chunk_size={config['query_chunk_size']}` and the explicit "
        "path; GFLOP/s counts only the FLOPs of the mode run.\n\n"
        + markdown_table(
            [
                "backend",
                "path",
                "length",
                "batch",
                "mode",
                "s/step",
                "GFLOP/s",
                "peak MiB",
                "attention matrices MiB (lower bound)",
                "note",
            ],
            long_rows,
            align="llrrlrrrrl",
        )
    )


def source_digest():
    """SHA-256 of the benchmarked layer's source file."""
    spec = find_spec("attention_suite.layers")
    source = (
        Path(spec.submodule_search_locations[0]) / "multi_head_attention.py"
    )
    return hashlib.sha256(source.read_bytes()).hexdigest()


def run_benchmark(backends, config):
    """Runs every case of every backend.

    Args:
        backends: names of the backends to run.
        config: the benchmark configuration.

    Returns:
        The results as a JSON-serializable dict.
    """
    start = time.perf_counter()
    results = {
        "machine": measure.machine_info(),
        "config": {
            **config,
            "attention": "self-attention, no mask, dropout 0, training=True",
            "loss": "mean(square(outputs)); gradients of the input and all "
            "weights",
            "compile": {name: COMPILE_MODES[name] for name in backends},
            "gradients": {name: GRADIENTS[name] for name in backends},
            "seconds": "median over interleaved repeats after warm-up, "
            "all layers of a length in one process",
            "peak_mib": "peak GPU memory allocated on a GPU, else peak RSS "
            "during compilation and steps minus RSS before the first step; "
            "one process per layer",
            "flops": "3 * (4 * B*T*D*H*dk*2 + 2 * B*H*T*T*dk*2) per "
            "forward+backward step; 1x for forward only",
            "roof": "(roof_size x roof_size) matmul in the policy's compute "
            "dtype, in the same process and compile mode",
            "long": "chunked and explicit paths at long_length, each in the "
            "first of long_modes whose attention matrices fit in "
            "memory_budget_mib; time and peak memory from one process per "
            "path",
        },
        "layer_source_sha256": source_digest(),
        "load_average_start": os.getloadavg(),
        "short": [],
        "long": [],
    }
    for backend in backends:
        results["short"] += short_cases(backend, config)
        if config["long_length"]:
            results["long"] += long_cases(backend, config)
    if source_digest() != results["layer_source_sha256"]:
        results["layer_source_changed_during_run"] = True
        print("Warning: the layer's source changed during the run.")
    results["load_average_end"] = os.getloadavg()
    results["total_seconds"] = time.perf_counter() - start
    return results


def parse_args():
    """Parses the command line."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    measure.add_arguments(parser, "tiny sizes to smoke-test the script")
    parser.add_argument(
        "--lengths",
        help="comma-separated self-attention lengths (default: 128,512,2048)",
    )
    parser.add_argument(
        "--long",
        type=int,
        help="length of the chunked-path case; 0 skips it (default: 16384)",
    )
    parser.add_argument(
        "--tokens-per-step",
        type=int,
        help="batch * length of the short cases (default: 2048)",
    )
    parser.add_argument(
        "--dtype-policy",
        default="float32",
        help="Keras dtype policy of the layers, e.g. mixed_bfloat16",
    )
    parser.add_argument(
        "--no-memory",
        action="store_true",
        help="skip the one-process-per-layer peak memory of the short cases",
    )
    parser.add_argument(
        "--long-backward",
        action="store_true",
        help="also run the long case forward+backward (minutes per step on "
        "a few CPU cores); by default it runs forward only",
    )
    # Used by the parent to start one case in a child process.
    parser.add_argument("--case", help=argparse.SUPPRESS)
    return parser.parse_args()


def main():
    args = parse_args()
    if args.json_out:
        measure.write_child_result(
            args.json_out, lambda: run_case(json.loads(args.case))
        )
        return
    config = dict(QUICK_CONFIG if args.quick else FULL_CONFIG)
    if args.lengths is not None:
        config["lengths"] = [int(n) for n in args.lengths.split(",") if n]
    if args.long is not None:
        config["long_length"] = args.long
    if args.tokens_per_step is not None:
        config["tokens_per_step"] = args.tokens_per_step
    config["dtype_policy"] = args.dtype_policy
    config["memory"] = not args.no_memory
    if args.long_backward:
        config["long_modes"] = ("forward+backward", "forward")
    results = run_benchmark(args.backends, config)
    table = markdown(results)
    print(table)
    print(f"Total: {results['total_seconds']:.0f} s")
    out = measure.results_dir(args)
    if out:
        measure.write_results(out, "layers", results, table)


if __name__ == "__main__":
    main()
