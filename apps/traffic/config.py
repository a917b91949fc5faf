"""Settings of a traffic run (model, protocol, training)."""

import dataclasses

from attention_suite.apps.common.config import (
    check_settings,
    invalid_setting,
    setting,
)

MODELS = ("attention", "gru")


@dataclasses.dataclass
class TrafficConfig:
    """Everything a traffic run depends on; saved as `config.json`.

    Protocol: a chronological `split` (train/val/test fractions), z-score
    statistics fitted on train only, `input_steps` in, `output_steps` out.
    """

    dataset: str = "los_loop"
    split: tuple = (0.7, 0.1, 0.2)
    input_steps: int = setting(12, minimum=1)
    # At least the 12 steps (60 minutes) of the farthest horizon that
    # `evaluate` reports.
    output_steps: int = setting(12, minimum=12)
    # The attention forecaster ("attention") or the GRU baseline ("gru").
    model: str = setting("attention", choices=MODELS)
    input_dim: int = setting(16, minimum=1)
    time_of_day_dim: int = setting(16, minimum=1)
    day_of_week_dim: int = setting(8, minimum=1)
    adaptive_dim: int = setting(24, minimum=1)
    num_heads: int = setting(4, minimum=1)
    num_layers: int = setting(2, minimum=1)
    feedforward_dim: int = setting(128, minimum=1)
    dropout: float = setting(0.1, minimum=0, below=1)
    # Feed each node's normalized readings to the attention model's head
    # too (a skip connection past the attention blocks).
    history_skip: bool = False
    # Restrict spatial attention to road-graph neighbours (plus self).
    use_graph_mask: bool = False
    gru_units: int = setting(64, minimum=1)
    batch_size: int = setting(16, minimum=1)
    epochs: int = setting(60, minimum=1)
    learning_rate: float = setting(1e-3, above=0)
    # Halve the learning rate after this many epochs without a better
    # validation loss (0: a constant rate).
    reduce_lr_patience: int = setting(0, minimum=0)
    patience: int = setting(10, minimum=0)
    max_minutes: float = setting(30.0, above=0)
    seed: int = setting(7, minimum=0)

    def __post_init__(self):
        check_settings(self)
        self.split = check_split(self.split)


def check_split(fractions):
    """Checks the fractions of a chronological split.

    Args:
        fractions: the train, validation and test fractions.

    Returns:
        The fractions, a tuple of three floats.

    Raises:
        ValueError: they are not three positive numbers summing to 1.
    """
    numbers = all(
        isinstance(f, (int, float)) and not isinstance(f, bool)
        for f in fractions
    )
    if (
        len(fractions) != 3
        or not numbers
        or min(fractions) <= 0
        or abs(sum(fractions) - 1) > 1e-6
    ):
        raise invalid_setting(
            "split", list(fractions), "three positive fractions summing to 1"
        )
    return tuple(float(f) for f in fractions)
