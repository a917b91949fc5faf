"""Reusable Keras 3 attention layers (TensorFlow, JAX and PyTorch backends).

The docstring examples assume `import numpy as np`, `import keras` and the
layers imported from `attention_suite.layers`.
"""

from attention_suite.layers.attention import Attention
from attention_suite.layers.bidirectional import BidirectionalAttention
from attention_suite.layers.coverage import CoverageAttention, coverage_loss
from attention_suite.layers.multi_head_attention import MultiHeadAttention
from attention_suite.layers.pointer import PointerGenerator, copy_distribution
from attention_suite.layers.pooling import AttentionPooling
from attention_suite.layers.scores import (
    AdditiveScore,
    DotScore,
    GeneralScore,
    LocationScore,
    ScaledDotScore,
)
from attention_suite.layers.spatiotemporal import (
    SpatialAttention,
    TemporalAttention,
)
from attention_suite.layers.transformer import (
    TransformerDecoderBlock,
    TransformerEncoderBlock,
)

__all__ = [
    "AdditiveScore",
    "Attention",
    "AttentionPooling",
    "BidirectionalAttention",
    "copy_distribution",
    "coverage_loss",
    "CoverageAttention",
    "DotScore",
    "GeneralScore",
    "LocationScore",
    "MultiHeadAttention",
    "PointerGenerator",
    "ScaledDotScore",
    "SpatialAttention",
    "TemporalAttention",
    "TransformerDecoderBlock",
    "TransformerEncoderBlock",
]

if __name__ != "attention_suite.layers":
    # The repository folder imported as a top-level package (e.g. `import
    # layers` run from the repository root) would shadow `keras.layers` idioms
    # and hold a second copy of every layer class.
    raise ImportError(
        "Import the layers as `attention_suite.layers` (`from attention_suite "
        f"import layers`), not as `{__name__}`."
    )
