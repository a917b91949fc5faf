"""Settings of a summarization run (data, tokenizer, model, training, search)."""

import dataclasses


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
    train_limit: int = 0
    vocabulary_size: int = 8000
    max_source_length: int = 256
    max_summary_length: int = 24
    # "pointer_generator": GRUs with coverage attention and copy (See et
    # al. 2017); "transformer": a Transformer with copy and coverage loss.
    model: str = "pointer_generator"
    embedding_dim: int = 128
    # The pointer-generator's GRUs and attention.
    units: int = 256
    attention_units: int = 256
    # The Transformer's blocks (each of encoder and decoder), heads and
    # feed-forward width.
    num_layers: int = 2
    num_heads: int = 4
    intermediate_dim: int = 512
    dropout: float = 0.1
    coverage_weight: float = 1.0
    label_smoothing: float = 0.0
    batch_size: int = 32
    epochs: int = 20
    learning_rate: float = 1e-3
    warmup_steps: int = 500
    patience: int = 3
    max_minutes: float = 55.0
    beam_size: int = 4
    length_penalty: float = 1.0
    no_repeat_ngram_size: int = 3
    seed: int = 7
