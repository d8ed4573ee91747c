"""Commands that apply a trained run to new text: predict, explain, serve.

They register on the main `app` (imported by cli.py)."""
