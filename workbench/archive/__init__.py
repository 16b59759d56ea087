"""Zip volumes, manifests and indexes of backup sets."""
