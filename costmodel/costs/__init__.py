"""Unit-cost catalogue and the pricing of components into quote lines."""
