"""Commands that report on runs and run the tutorial's experiments: report, experiment.

They register on the main `app` (imported by cli.py)."""
