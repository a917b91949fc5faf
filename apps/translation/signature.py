"""The names of the translation SavedModel's signatures and outputs.

Kept free of TensorFlow so that the API and `attn client` can read them
without importing the model code.
"""

from attention_suite.apps.common.serving.signatures import TextSignatures

SIGNATURES = TextSignatures(
    output="translation",
    details="translate_with_attention",
    pieces=("source_pieces", "target_pieces"),
)
