"""Regulatory screening."""
