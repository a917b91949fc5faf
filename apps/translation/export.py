"""Exporting a translation run as a strings-in, strings-out SavedModel.

Signatures (every input is a `tf.string` vector of raw sentences, `text`):

* `serving_default`: `translation`, `tf.string [batch]`;
* `translate_with_attention`: also `source_pieces` `[batch, S]` and
  `target_pieces` `[batch, T]` (the subword pieces, `"</s>"` for the end
  token, `""` for padding) and `attention` `float32 [batch, T, S]`, the last
  decoder layer's attention over the source for each generated piece.

Tokenization (TF-text's SentencePiece ops), the model and the search (the
run's beam size and length penalty) are all in the graph; a client needs
TensorFlow and `tensorflow_text` (for the SentencePiece ops, which stock TF
Serving links in).
"""

import numpy as np

from apps.common.export import export_saved_model
from apps.common.verify import run_saved_model
from apps.translation import infer
from apps.translation.train import load_run

SIGNATURE_INPUT = "text"
# Inputs a server must survive; each gets a translation (maybe empty).
HARD_INPUTS = (
    "",
    "   \t ",
    " ".join(["word"] * 5000),
    "A dog \U0001f436 runs on the beach \U0001f3d6\ufe0f.",
    "\u0928\u092e\u0938\u094d\u0924\u0947 \u4e16\u754c \u0627\u0644\u0633\u0644\u0627\u0645",
    b"caf\xe9 \xff\xfe invalid bytes",
)


def serving_archive(model, tokenizer, config):
    """An `ExportArchive` with the two translation signatures.

    Args:
        model: the trained translator (TensorFlow backend).
        tokenizer: the run's tokenizer.
        config: the run's `TranslationConfig`.

    Returns:
        A `keras.export.ExportArchive`.
    """
    import keras
    import tensorflow as tf

    def generate(text):
        source = infer.source_ids(tokenizer, text, config.max_length)
        ids = infer.search(
            model, source, config.max_length, config.beam_size,
            config.length_penalty,
        )
        return source, ids

    def translate(text):
        _, ids = generate(text)
        return {"translation": infer.ids_to_text(tokenizer, ids)}

    def translate_with_attention(text):
        source, ids = generate(text)
        return {
            "translation": infer.ids_to_text(tokenizer, ids),
            "source_pieces": infer.ids_to_pieces(tokenizer, source),
            "target_pieces": infer.ids_to_pieces(tokenizer, ids),
            "attention": infer.alignment(model, source, ids),
        }

    signature = [tf.TensorSpec([None], tf.string, name=SIGNATURE_INPUT)]
    archive = keras.export.ExportArchive()
    archive.track(model)
    # The tokenizer has no weights to build; tracking it keeps its
    # SentencePiece model resource in the SavedModel.
    tokenizer.build(None)
    archive.track(tokenizer)
    archive.add_endpoint("serving_default", translate, input_signature=signature)
    archive.add_endpoint(
        "translate_with_attention", translate_with_attention,
        input_signature=signature,
    )
    return archive


def _as_bytes(texts):
    return np.array([t if isinstance(t, bytes) else t.encode() for t in texts],
                    dtype=object).astype(bytes)


def export_and_verify(run_dir, path, overwrite=False):
    """Exports a run and checks the SavedModel against `predict`.

    Translates the run's sample test sentences and `HARD_INPUTS` with the
    Keras model (what `attn translate predict` does), exports, then runs the
    same inputs through the SavedModel in a fresh process that imports only
    TensorFlow and `tensorflow_text`. Must run under the TensorFlow backend.

    Args:
        run_dir: a trained run.
        path: the version directory (`saved_models/translation/<N>`).
        overwrite: whether an existing version is replaced.

    Returns:
        `(path, mismatches)`: the absolute path written and a list of
        `(input, predicted, served)` that differ (empty when all agree).
    """
    config, run_info, tokenizer, model = load_run(run_dir)
    texts = list(run_info.get("samples", [])) + list(HARD_INPUTS)
    translator = infer.Translator(model, tokenizer, config)
    predicted = [translator.translate([t])[0] for t in texts]
    # One sentence per request, as `predict` translated them: batching
    # pads differently, which may move floats in the last bits.
    requests = [{SIGNATURE_INPUT: _as_bytes([t])} for t in texts]
    path = export_saved_model(
        path,
        serving_archive(model, tokenizer, config),
        [{SIGNATURE_INPUT: _as_bytes(texts[:2])}],
        model_name="translation",
        overwrite=overwrite,
    )
    served = [
        outputs["translation"][0].decode("utf-8")
        for outputs in run_saved_model(path, requests, imports=("tensorflow_text",))
    ]
    mismatches = [
        (text, p, s) for text, p, s in zip(texts, predicted, served) if p != s
    ]
    return path, mismatches
