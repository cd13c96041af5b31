"""Infrastructure as code: configuration, constructs and stacks for the Hypernym deployment."""
