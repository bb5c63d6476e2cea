"""Storage: engines and sessions, schema migrations, reference-data loading."""
