"""Machine translation: Multi30k or your own pairs, GRU+attention or Transformer."""
