"""Settings of a translation run (data, tokenizer, model, training, search)."""

import dataclasses


@dataclasses.dataclass
class TranslationConfig:
    """Everything a translation run depends on; saved as `config.json`.

    Sequences longer than `max_length` subword ids (end token included) are
    truncated, in training and at inference time alike.
    """

    dataset: str = "multi30k"
    source: str = "en"
    target: str = "de"
    # Keep only the first `train_limit` training pairs (0: all of them).
    train_limit: int = 0
    vocabulary_size: int = 8000
    max_length: int = 64
    # "transformer" or "gru_attention".
    model: str = "transformer"
    embedding_dim: int = 256
    num_layers: int = 3
    num_heads: int = 4
    intermediate_dim: int = 1024
    units: int = 256
    dropout: float = 0.1
    label_smoothing: float = 0.1
    batch_size: int = 64
    epochs: int = 30
    learning_rate: float = 1e-3
    warmup_steps: int = 1000
    patience: int = 5
    max_minutes: float = 85.0
    beam_size: int = 4
    length_penalty: float = 0.6
    seed: int = 7
