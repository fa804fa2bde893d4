"""Actions on hardware: the catalogue, the policy and the approval-gated executor."""
