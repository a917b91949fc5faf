"""The command-line plumbing: the app contract, the verbs every app
shares, logs, tables, plots and the demo's steps."""
