"""What a run produces: the terminal table, JSON, monthly series files and plots."""
