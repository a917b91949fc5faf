"""Extractive question answering (SQuAD v1.1)."""
