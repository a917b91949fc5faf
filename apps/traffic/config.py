"""Settings of a traffic run (model, protocol, training)."""

import dataclasses


@dataclasses.dataclass
class TrafficConfig:
    """Everything a traffic run depends on; saved as `config.json`.

    Protocol: a chronological `split` (train/val/test fractions), z-score
    statistics fitted on train only, `input_steps` in, `output_steps` out.
    """

    dataset: str = "los_loop"
    split: tuple = (0.7, 0.1, 0.2)
    input_steps: int = 12
    output_steps: int = 12
    # The attention forecaster ("attention") or the GRU baseline ("gru").
    model: str = "attention"
    input_dim: int = 16
    time_of_day_dim: int = 16
    day_of_week_dim: int = 8
    adaptive_dim: int = 24
    num_heads: int = 4
    num_layers: int = 2
    feedforward_dim: int = 128
    dropout: float = 0.1
    # Feed each node's normalized readings to the attention model's head
    # too (a skip connection past the attention blocks).
    history_skip: bool = False
    # Restrict spatial attention to road-graph neighbours (plus self).
    use_graph_mask: bool = False
    gru_units: int = 64
    batch_size: int = 16
    epochs: int = 60
    learning_rate: float = 1e-3
    # Halve the learning rate after this many epochs without a better
    # validation loss (0: a constant rate).
    reduce_lr_patience: int = 0
    patience: int = 10
    max_minutes: float = 30.0
    seed: int = 7
