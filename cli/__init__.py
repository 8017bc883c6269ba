"""The command line: Click commands and the renderers of a result. Knows nothing of durable_rules."""
