"""Abstractive summarization with copy and coverage (AESLC, BBC News)."""
