"""Traffic forecasting on loop-detector sensor series and their graphs.

The Python API (the `attn traffic` verbs call nothing else):

```python
from attention_suite.apps import traffic

run = traffic.train({"epochs": 20}, data="speeds.csv",
                    adjacency="graph.csv", out="runs/f1")
traffic.evaluate(run, split="val")
model = traffic.load("runs/f1")  # or an exported SavedModel
model.forecast(readings)  # a DataFrame with a DatetimeIndex
traffic.export(run, "saved_models")
```
"""

from attention_suite.apps.traffic.api import (
    TrafficPipeline,
    evaluate,
    export,
    load,
    read_speeds,
    train,
)
from attention_suite.apps.traffic.config import TrafficConfig

__all__ = [
    "TrafficConfig",
    "TrafficPipeline",
    "evaluate",
    "export",
    "load",
    "read_speeds",
    "train",
]
