"""The input layer: manifests read from YAML with their positions, checked against the schema and by
meaning, into the typed spec (addresses allocated); imports only model/, errors and frozen."""
