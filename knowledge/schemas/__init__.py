"""JSON Schemas (draft 2020-12) for the knowledge files, the rule files and the case/result contract."""
