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

from attention_suite.apps.common.serving.verify import export_generator
from attention_suite.apps.translation import infer
from attention_suite.apps.translation.signature import SIGNATURES
from attention_suite.apps.translation.training import load_run

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
        The absolute path written.

    Raises:
        ServingError: the SavedModel answers otherwise than the Keras
            model; the version is then not written.
    """
    run = load_run(run_dir)
    translator = infer.Translator(run.model, run.tokenizer, run.config)
    return export_generator(
        path,
        translator,
        SIGNATURES,
        [*run.info.get("samples", []), *HARD_INPUTS],
        "translation",
        overwrite,
    )
