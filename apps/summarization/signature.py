"""The names of the summarization SavedModel's signatures and outputs.

Kept free of TensorFlow so that the API and `attn client` can read them
without importing the model code.
"""

from attention_suite.apps.common.serving.signatures import TextSignatures

SIGNATURES = TextSignatures(
    output="summary",
    details="summarize_with_attention",
    pieces=("source_pieces", "summary_pieces"),
    per_piece=("copy_probability",),
)
