"""Training runs: settings, the fit loop with its checkpoints, distribution
and precision, losses, run directories and progress bars."""
