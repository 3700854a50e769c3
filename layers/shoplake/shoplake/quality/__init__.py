"""Data quality: the DQDL rulesets declared in template.yaml, evaluated where Glue is not."""
