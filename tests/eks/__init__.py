"""Tests of the EKS deployment: the Hypernym chart, the cluster stack and the apps stack."""
