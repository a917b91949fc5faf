"""The names of the QA SavedModel's `serving_default` signature.

Kept free of TensorFlow so that `attn client qa` can build requests and read
answers without importing the model code.
"""

# `tf.string [batch]` each.
INPUTS = ("context", "question")
# The answer text, its character offsets in the context and its score.
OUTPUTS = ("answer", "start", "end", "score")
# Modules a serving process imports besides TensorFlow (for the ops).
IMPORTS = ("tensorflow_text",)
