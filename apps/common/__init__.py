"""What the apps share, in subpackages by concern.

Imports run one way, each subpackage using only those listed before it:

* `data`: the dataset registry and its checked fetch, splits, data paths,
  tokenizers, text cleaning and atomic file writes;
* `training`: run settings, the fit loop with its checkpoints, distribution
  and precision, losses, run directories and progress bars;
* `generation`: the encoder-decoder bases, beam and greedy search, the text
  generators and the shared embeddings;
* `serving`: SavedModel export and its op audit, the fresh-process checks,
  the serving notes, REST bodies and the TF Serving client;
* `cli`: the command-line plumbing (the app contract, the shared verbs,
  logs, tables, plots and the demo's steps).
"""
