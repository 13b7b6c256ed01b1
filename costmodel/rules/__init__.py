"""Decision tables (a default rule and its exceptions) evaluated column-wise."""
