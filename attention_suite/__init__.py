"""attention-suite: Keras 3 attention layers and the apps built on them.

* `attention_suite.layers`: the attention layers (Keras and NumPy only), on
  the TensorFlow, JAX and PyTorch backends;
* `attention_suite.apps`: translation, summarization, question answering
  and traffic forecasting built on them, each a Python API and an `attn`
  command, exported as TF Serving SavedModels.

Importing this package imports neither: `import attention_suite` is cheap.
"""

# The one source of the version: pyproject.toml and `attn --version` read it.
__version__ = "0.2.0"
