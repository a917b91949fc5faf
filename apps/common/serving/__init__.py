"""Serving: SavedModel export and its op audit, the checks in a fresh
TensorFlow process, the serving notes, REST bodies and the TF Serving
client."""
