"""Scaling out on Ray (the `cluster` extra): batch scoring with Ray Data and searches with
Ray Tune, the same commands on a laptop and on a cluster. Nothing else imports Ray."""
