"""Extractive question answering: SQuAD v1.1 or your SQuAD-format JSON;
BiDAF or a pretrained encoder.

The Python API (the `attn qa` verbs call nothing else):

```python
from attention_suite.apps import qa

run = qa.train({"epochs": 10}, data="articles.json", out="runs/q1")
qa.evaluate(run, split="val")
model = qa.load("runs/q1")  # or an exported SavedModel
model.answer("Who wrote it?", "It was written by Ada.")
qa.export(run, "saved_models")
```
"""

from attention_suite.apps.qa.api import (
    QAPipeline,
    evaluate,
    export,
    load,
    train,
)
from attention_suite.apps.qa.config import QAConfig

__all__ = ["QAConfig", "QAPipeline", "evaluate", "export", "load", "train"]
