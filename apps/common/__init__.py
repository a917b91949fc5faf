"""What the apps share, one module per concern: configs, data, tokenizers,
training, decoding, runs, reports, export and the command-line verbs."""
