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

from attention_suite.apps.common import text
from attention_suite.apps.common.export import text_archive
from attention_suite.apps.common.verify import export_text_model
from attention_suite.apps.translation import infer
from attention_suite.apps.translation.train import load_run

SIGNATURE_INPUT = "text"
# Modules a serving process imports besides TensorFlow (for the ops).
IMPORTS = ("tensorflow_text",)
# Inputs a server must survive; each gets a translation (maybe empty).
HARD_INPUTS = (
    "",
    "   \t ",
    " ".join(["word"] * 5000),
    "A dog \U0001f436 runs on the beach \U0001f3d6\ufe0f.",
    "\u0928\u092e\u0938\u094d\u0924\u0947 \u4e16\u754c "
    "\u0627\u0644\u0633\u0644\u0627\u0645",
    b"caf\xe9 \xff\xfe invalid bytes",
)


def serving_archive(translator):
    """An `ExportArchive` with the two translation signatures.

    Args:
        translator: an `infer.Translator` of the run (TensorFlow backend).

    Returns:
        A `keras.export.ExportArchive`.
    """
    tokenizer = translator.tokenizer

    def translate(texts):
        _, ids = translator.generate_graph(texts)
        return {"translation": text.ids_to_text(tokenizer, ids)}

    def translate_with_attention(texts):
        source, ids = translator.generate_graph(texts)
        return {
            "translation": text.ids_to_text(tokenizer, ids),
            "source_pieces": text.ids_to_pieces(tokenizer, source),
            "target_pieces": text.ids_to_pieces(tokenizer, ids),
            "attention": infer.alignment(translator.model, source, ids),
        }

    return text_archive(
        translator.model,
        tokenizer,
        {
            "serving_default": translate,
            "translate_with_attention": translate_with_attention,
        },
        SIGNATURE_INPUT,
    )


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
    translator = infer.Translator(model, tokenizer, config)
    return export_text_model(
        path,
        serving_archive(translator),
        translator,
        list(run_info.get("samples", [])) + list(HARD_INPUTS),
        "translation",
        model_name="translation",
        input_name=SIGNATURE_INPUT,
        overwrite=overwrite,
    )
