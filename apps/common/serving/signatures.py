"""The signature layout of a text generator's SavedModel, free of TensorFlow.

The exporter (`attention_suite.apps.common.serving.verify.export_generator`),
the pipeline that calls the SavedModel
(`attention_suite.apps.common.serving.pipeline.TextPipeline`) and the
client read the same `TextSignatures`.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class TextSignatures:
    """The names of a text generator's two signatures and their outputs.

    Both signatures take `text`, a `tf.string` vector of raw inputs.
    `serving_default` returns `output`; `details` returns it with the
    source's and the output's subword pieces (`""` for padding),
    `attention` `float32 [batch, T, S]` and the `per_piece` outputs
    `float32 [batch, T]`.

    Args:
        output: the generated text's output (e.g. `"translation"`).
        details: the name of the signature that also explains it.
        pieces: the names of the source's and the output's pieces.
        per_piece: more outputs with one value per generated piece.
    """

    output: str
    details: str
    pieces: tuple
    per_piece: tuple = ()

    @property
    def names(self):
        """The signature names, `serving_default` first."""
        return ("serving_default", self.details)
