"""The models: Keras networks built from a Config, batching, fitting, embeddings, the
n-gram branch and the stack that combines it with the network."""
