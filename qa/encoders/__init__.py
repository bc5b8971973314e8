"""Encoders: each turns text into unit vectors behind the `Encoder` protocol of `base`."""
