"""Settings of a summarization run (data, tokenizer, model, training)."""

import dataclasses

from attention_suite.apps.common.training.config import (
    check_multiple,
    check_settings,
    setting,
)

MODELS = ("pointer_generator", "transformer")


@dataclasses.dataclass
class SummarizationConfig:
    """Everything a summarization run depends on; saved as `config.json`.

    A document longer than `max_source_length` subword ids (end token
    included) keeps its first `max_source_length - 1` pieces, in training
    and at inference time alike; summaries are generated (and trained on) up
    to `max_summary_length` ids.
    """

    dataset: str = "aeslc"
    # Keep only the first `train_limit` training examples (0: all of them).
    train_limit: int = setting(0, minimum=0)
    # More pieces than the 4 special ones (padding, unknown, start, end).
    vocabulary_size: int = setting(8000, above=4)
    max_source_length: int = setting(256, minimum=2)
    max_summary_length: int = setting(24, minimum=2)
    # "pointer_generator": GRUs with coverage attention and copy (See et
    # al. 2017); "transformer": a Transformer with copy and coverage loss.
    model: str = setting("pointer_generator", choices=MODELS)
    embedding_dim: int = setting(128, minimum=1)
    # The pointer-generator's GRUs and attention.
    units: int = setting(256, minimum=1)
    attention_units: int = setting(256, minimum=1)
    # The Transformer's blocks (each of encoder and decoder), heads and
    # feed-forward width.
    num_layers: int = setting(2, minimum=1)
    num_heads: int = setting(4, minimum=1)
    intermediate_dim: int = setting(512, minimum=1)
    dropout: float = setting(0.1, minimum=0, below=1)
    coverage_weight: float = setting(1.0, minimum=0)
    label_smoothing: float = setting(0.0, minimum=0, below=1)
    batch_size: int = setting(32, minimum=1)
    epochs: int = setting(20, minimum=1)
    learning_rate: float = setting(1e-3, above=0)
    # "auto": 5 % of the training steps (`training.resolve_auto`).
    warmup_steps: int = setting("auto", minimum=0, auto=True)
    patience: int = setting(3, minimum=0)
    max_minutes: float = setting(55.0, above=0)
    beam_size: int = setting(4, minimum=1)
    length_penalty: float = setting(1.0, minimum=0)
    # 0: summaries may repeat n-grams.
    no_repeat_ngram_size: int = setting(3, minimum=0)
    seed: int = setting(7, minimum=0)

    def __post_init__(self):
        check_settings(self)
        if self.model == "transformer":
            check_multiple(self, "embedding_dim", "num_heads")
