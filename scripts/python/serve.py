"""Placeholder launcher; replaced below."""
