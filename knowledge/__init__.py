"""What is known: citations, questions, conditions, red flags, advice and the triage ladder (YAML data)."""
