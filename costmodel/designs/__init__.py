"""Standard connection schemes that turn an application into components."""
