"""Checking an exported SavedModel in a fresh TensorFlow process.

`serve_check` replays a version's warm-up requests and times them;
`export_text_model` writes a strings-in, strings-out SavedModel and checks
that it answers as the Keras model it came from; `export_generator` does so
for a text generator, with the two signatures of its `TextSignatures`.
"""

from attention_suite.apps.common.data import text
from attention_suite.apps.common.serving.export import (
    ServingCheck,
    export_saved_model,
    read_warmup_requests,
    text_archive,
)
from attention_suite.apps.common.serving.process import (
    serve_requests,
    string_array,
    timing_plan,
)


def serve_check(export_dir, imports=(), batch_sizes=(), seconds=5.0):
    """Replays a SavedModel's warm-up requests in a fresh TensorFlow process.

    The same process then times the first warm-up request at each batch
    size, as `measure_latency` does.

    Args:
        export_dir: the SavedModel directory (with `assets.extra/`).
        imports: extra modules the child imports (e.g. `"tensorflow_text"`).
        batch_sizes: the batch sizes to time (none: no timing).
        seconds: the time to spend per batch size.

    Returns:
        `(outputs, latency)`: the list of output dicts, one per warm-up
        request, and a dict mapping batch size to call times in seconds.

    Raises:
        ServingError: the child failed.
    """
    outputs, latency, _ = serve_requests(
        export_dir,
        read_warmup_requests(export_dir),
        "serving_default",
        imports,
        timing_plan(batch_sizes, seconds),
    )
    return outputs, latency


def export_text_model(
    path,
    archive,
    generator,
    texts,
    output_name,
    model_name,
    input_name="text",
    imports=("tensorflow_text",),
    overwrite=False,
):
    """Exports a strings-in, strings-out archive, checked in a new process.

    Generates from each text with the Keras model (what `predict` does),
    then writes the SavedModel (atomically, with the first two texts as
    warm-up requests) once a fresh process that imports only TensorFlow and
    `imports` answers each text, sent as its own request, as the Keras model
    did (one text per request, as `predict` ran them: batching pads
    differently, which may move floats in the last bits).

    Args:
        path: the version directory (`saved_models/<app>/<N>`).
        archive: the `keras.export.ExportArchive` to write.
        generator: the text generator the archive serves (a
            `attention_suite.apps.common.generation.generators.
            TextGenerator`).
        texts: inputs (str or bytes).
        output_name: the `serving_default` string output.
        model_name: the TF Serving model name.
        input_name: the `serving_default` input.
        imports: modules the serving process needs besides TensorFlow.
        overwrite: whether an existing version is replaced.

    Returns:
        The absolute path written.

    Raises:
        ServingError: the SavedModel answers some text otherwise than the
            Keras model (the `(input, predicted, served)` triples named).
    """
    predicted = [generator.generate([t])[0] for t in texts]

    def mismatches(served):
        served = [outputs[output_name][0].decode("utf-8") for outputs in served]
        return [
            (text, p, s)
            for text, p, s in zip(texts, predicted, served)
            if p != s
        ]

    return export_saved_model(
        path,
        archive,
        [{input_name: string_array(texts[:2])}],
        model_name=model_name,
        check=ServingCheck(
            [{input_name: string_array([t])} for t in texts],
            mismatches,
            tuple(imports),
        ),
        overwrite=overwrite,
    )


def generator_archive(generator, signatures):
    """An `ExportArchive` with a text generator's two signatures.

    Args:
        generator: a `TextGenerator` with `graph_details(source, ids)`
            (TensorFlow backend).
        signatures: the app's `TextSignatures`.

    Returns:
        A `keras.export.ExportArchive`.
    """
    tokenizer = generator.tokenizer
    source_pieces, output_pieces = signatures.pieces

    def generate(texts):
        _, ids = generator.generate_graph(texts)
        return {signatures.output: text.ids_to_text(tokenizer, ids)}

    def explain(texts):
        source, ids = generator.generate_graph(texts)
        return {
            signatures.output: text.ids_to_text(tokenizer, ids),
            source_pieces: text.ids_to_pieces(tokenizer, source),
            output_pieces: text.ids_to_pieces(tokenizer, ids),
            **generator.graph_details(source, ids),
        }

    return text_archive(
        generator.model,
        tokenizer,
        {"serving_default": generate, signatures.details: explain},
    )


def export_generator(
    path, generator, signatures, texts, model_name, overwrite=False
):
    """Exports a text generator and checks it against the Keras model.

    Generates from each text with the Keras model (what `predict` does),
    exports `generator_archive`, then runs the same texts through the
    SavedModel in a fresh process that imports only TensorFlow and
    `tensorflow_text` (`export_text_model`). Must run under the TensorFlow
    backend.

    Args:
        path: the version directory (`saved_models/<app>/<N>`).
        generator: the run's `TextGenerator`.
        signatures: the app's `TextSignatures`.
        texts: inputs checked (str or bytes).
        model_name: the TF Serving model name.
        overwrite: whether an existing version is replaced.

    Returns:
        The absolute path written.

    Raises:
        ServingError: the SavedModel answers otherwise than the Keras model.
    """
    return export_text_model(
        path,
        generator_archive(generator, signatures),
        generator,
        list(texts),
        signatures.output,
        model_name=model_name,
        overwrite=overwrite,
    )
