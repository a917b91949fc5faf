"""Text generation: the encoder-decoder bases, greedy and beam search, the
text generators and the shared embeddings."""
