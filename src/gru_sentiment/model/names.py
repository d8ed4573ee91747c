"""The names of the layers other code finds by name: the embedding (initialised from
vectors, word2vec or an LM, perturbed by adversarial training) and the first recurrent
layer (the encoder an LM starts). Every architecture names its layers so."""

EMBEDDING = "embedding"  # (batch, time) ids -> (batch, time, embed_dim)
ENCODER = "encoder"  # the first, bidirectional recurrent layer
