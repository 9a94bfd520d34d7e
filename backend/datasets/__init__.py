"""Datasets: samples, uploads in the formats users have, labelling, export and import."""
