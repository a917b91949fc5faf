"""Abstractive summarization: AESLC, BBC News or your documents; a
pointer-generator with coverage, or a Transformer.

The Python API (the `attn summarize` verbs call nothing else):

```python
from attention_suite.apps import summarization

run = summarization.train({"epochs": 10}, data="docs.jsonl", out="runs/s1")
summarization.evaluate(run, split="val")
model = summarization.load("runs/s1")  # or an exported SavedModel
model.summarize(["The council met on Monday ..."])
summarization.export(run, "saved_models")
```
"""

from attention_suite.apps.summarization.api import (
    SummarizationPipeline,
    evaluate,
    export,
    load,
    train,
)
from attention_suite.apps.summarization.config import SummarizationConfig

__all__ = [
    "SummarizationConfig",
    "SummarizationPipeline",
    "evaluate",
    "export",
    "load",
    "train",
]
