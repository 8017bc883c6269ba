"""The rule base: one YAML file per stage of the reasoning (data, read through importlib.resources)."""
