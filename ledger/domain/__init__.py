"""What the log records and the rules that judge it: events, codes, custody, personal data, verdicts, who may read an item."""
