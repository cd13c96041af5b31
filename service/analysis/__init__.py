"""The analysis: plain functions from text and model output to Hypernym's fields (no HTTP here)."""
