"""Datasets and text: the registry and its checked fetch, splits, data
paths, tokenizers, text cleaning and atomic file writes."""
