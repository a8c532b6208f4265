"""Content as data: question banks, tips, pledge texts, reply and warning templates (YAML)."""
