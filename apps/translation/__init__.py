"""Machine translation: Multi30k or your pairs; GRU+attention, Transformer."""
