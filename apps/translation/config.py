"""Settings of a translation run (data, tokenizer, model, training, search)."""

import dataclasses
import os

from attention_suite.apps.common.training.config import (
    AUTO,
    check_multiple,
    check_settings,
    setting,
)

MODELS = ("transformer", "gru_attention")
# The language of a TSV whose languages were not given.
UNKNOWN_LANGUAGE = "und"


@dataclasses.dataclass
class TranslationConfig:
    """Everything a translation run depends on; saved as `config.json`.

    Sequences longer than `max_length` subword ids (end token included) are
    truncated, in training and at inference time alike.
    """

    # What was read: "multi30k", or the TSV file's path (`train` records
    # it). The languages are codes such as "en"; "auto" is en -> de for
    # Multi30k and unknown ("und") for a TSV, where the Moses-tokenized
    # BLEU is then left out.
    dataset: str = "multi30k"
    source: str = setting(AUTO, auto=True)
    target: str = setting(AUTO, auto=True)
    # Keep only the first `train_limit` training pairs (0: all of them).
    train_limit: int = setting(0, minimum=0)
    # More pieces than the 4 special ones (padding, unknown, start, end).
    vocabulary_size: int = setting(8000, above=4)
    max_length: int = setting(64, minimum=2)
    model: str = setting("transformer", choices=MODELS)
    embedding_dim: int = setting(256, minimum=1)
    num_layers: int = setting(3, minimum=1)
    num_heads: int = setting(4, minimum=1)
    intermediate_dim: int = setting(1024, minimum=1)
    units: int = setting(256, minimum=1)
    dropout: float = setting(0.1, minimum=0, below=1)
    label_smoothing: float = setting(0.1, minimum=0, below=1)
    batch_size: int = setting(64, minimum=1)
    epochs: int = setting(30, minimum=1)
    learning_rate: float = setting(1e-3, above=0)
    # "auto": 5 % of the training steps (`training.resolve_auto`).
    warmup_steps: int = setting("auto", minimum=0, auto=True)
    patience: int = setting(5, minimum=0)
    max_minutes: float = setting(85.0, above=0)
    beam_size: int = setting(4, minimum=1)
    length_penalty: float = setting(0.6, minimum=0)
    seed: int = setting(7, minimum=0)

    def resolve_languages(self, data):
        """Sets the `"auto"` languages from what `data` is.

        Args:
            data: `"multi30k"` (English to German) or the path of a TSV
                file (languages unknown, `"und"`).
        """
        defaults = (
            (UNKNOWN_LANGUAGE, UNKNOWN_LANGUAGE)
            if os.path.isfile(data)
            else ("en", "de")
        )
        for name, default in zip(("source", "target"), defaults):
            if getattr(self, name) == AUTO:
                setattr(self, name, default)

    def __post_init__(self):
        check_settings(self)
        if self.model == "transformer":
            check_multiple(self, "embedding_dim", "num_heads")
