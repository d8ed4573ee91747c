"""A trained run folder applied to new text: SentimentModel, explanations, scoring files."""
