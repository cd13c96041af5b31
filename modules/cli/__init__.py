"""`hypernym-deploy`, the deployment command line: build (synth + checkov), plan review."""
