"""Shared test harness: the moto server and a terraform runner against it."""
