"""Virtual cards, readers and hospital services for tests and demos."""
