"""Machine translation: Multi30k or your pairs; GRU+attention, Transformer.

The Python API (the `attn translate` verbs call nothing else):

```python
from attention_suite.apps import translation

run = translation.train({"epochs": 10}, data="pairs.tsv", out="runs/t1")
translation.evaluate(run, split="val")
model = translation.load("runs/t1")  # or an exported SavedModel
model.translate(["A dog runs."], beam_size=4)
translation.export(run, "saved_models")
```
"""

from attention_suite.apps.translation.api import (
    TranslationPipeline,
    evaluate,
    export,
    load,
    train,
)
from attention_suite.apps.translation.config import TranslationConfig

__all__ = [
    "TranslationConfig",
    "TranslationPipeline",
    "evaluate",
    "export",
    "load",
    "train",
]
