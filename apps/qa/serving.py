"""SavedModel export of a QA run: two string vectors in, answers out.

`serving_default` takes `context` and `question` (`tf.string [batch]`) and
returns `answer` (`tf.string`), `start` and `end` (int32 character offsets into
the context, `context[start:end] == answer`) and `score` (float32 `p_start *
p_end`). Tokenization, windowing and span decoding run inside the graph
(`attention_suite.apps.qa.infer.Reader.serve`); the serving process needs
TensorFlow and `tensorflow_text` (for the WordPiece op) only.
"""

import numpy as np

from attention_suite.apps.common.serving.export import (
    ServingCheck,
    checked_vectors,
    export_saved_model,
    string_vector_spec,
    tracking_archive,
)
from attention_suite.apps.common.serving.process import string_array
from attention_suite.apps.qa import infer
from attention_suite.apps.qa.signature import IMPORTS, INPUTS, OUTPUTS
from attention_suite.apps.qa.training import load_run

# Inputs the export is checked on besides the run's test samples: an empty
# question, an empty context, a question the context cannot answer, a
# 100,000-character context, bytes that are not UTF-8, emoji.
HARD_INPUTS = (
    ("The museum opened in 1905 in the old harbour.", ""),
    ("", "When did the museum open?"),
    (
        "The museum opened in 1905 in the old harbour.",
        "Who won the cup in 1966?",
    ),
    ("The museum opened in 1905. " * 3704, "When did the museum open?"),
    (b"The museum \xff\xfe opened in 1905.", "When did the museum \xe9 open?"),
    ("The museum 🏛️ opened in 1905 🎉.", "When did the museum open? 🤔"),
)


def serving_archive(reader):
    """The `ExportArchive` with the `serving_default` endpoint.

    Args:
        reader: an `attention_suite.apps.qa.infer.Reader` (TensorFlow backend).

    Returns:
        A `keras.export.ExportArchive`.
    """
    archive = tracking_archive(reader.model)
    archive.add_endpoint(
        "serving_default",
        lambda context, question: reader.serve(
            *checked_vectors({"context": context, "question": question})
        ),
        input_signature=[string_vector_spec(name) for name in INPUTS],
    )
    return archive


def _request(context, question):
    return dict(
        zip(INPUTS, (string_array([context]), string_array([question])))
    )


def _same(predicted, served):
    return (
        predicted["answer"] == served["answer"][0].decode("utf-8")
        and predicted["start"] == int(served["start"][0])
        and predicted["end"] == int(served["end"][0])
        and np.isclose(predicted["score"], float(served["score"][0]), atol=1e-4)
    )


def export_and_verify(run_dir, path, overwrite=False):
    """Exports a run and checks the SavedModel against `predict`.

    Answers the run's sample test questions and `HARD_INPUTS` with the Keras
    model (what `attn qa predict` does), exports, then serves each pair in a
    fresh process that imports only TensorFlow and `tensorflow_text`. Must
    run under the TensorFlow backend.

    Args:
        run_dir: a trained run.
        path: the version directory (`saved_models/qa/<N>`).
        overwrite: whether an existing version is replaced.

    Returns:
        The absolute path written.

    Raises:
        ServingError: some pair is answered otherwise than by the Keras
            model (the `(pair, predicted, served)` triples named); the
            version is then not written.
    """
    loaded = load_run(run_dir)
    config = loaded.config
    run_info = loaded.info
    tokenizer = loaded.tokenizer
    model = loaded.model
    reader = infer.Reader(model, tokenizer, config)
    pairs = [tuple(p) for p in run_info.get("samples", [])] + list(HARD_INPUTS)
    predicted = [reader.answer([c], [q])[0] for c, q in pairs]

    def mismatches(served):
        return [
            (pair, p, {k: s[k].tolist() for k in OUTPUTS})
            for pair, p, s in zip(pairs, predicted, served)
            if not _same(p, s)
        ]

    return export_saved_model(
        path,
        serving_archive(reader),
        [_request(*pair) for pair in pairs[:2]],
        model_name="qa",
        check=ServingCheck(
            [_request(*pair) for pair in pairs], mismatches, IMPORTS
        ),
        overwrite=overwrite,
    )
