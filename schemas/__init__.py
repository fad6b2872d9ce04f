"""JSON Schemas (2020-12) of the manifest kinds, shipped as package data."""
