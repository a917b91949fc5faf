"""Reusable Keras 3 attention layers (TensorFlow, JAX and PyTorch backends)."""

from layers.attention import Attention
from layers.scores import (
    AdditiveScore,
    DotScore,
    GeneralScore,
    LocationScore,
    ScaledDotScore,
)
from layers.bidirectional import BidirectionalAttention
from layers.coverage import CoverageAttention, coverage_loss
from layers.multi_head_attention import MultiHeadAttention
from layers.pointer import PointerGenerator, copy_distribution
from layers.pooling import AttentionPooling
from layers.spatiotemporal import SpatialAttention, TemporalAttention
from layers.transformer import TransformerDecoderBlock, TransformerEncoderBlock
