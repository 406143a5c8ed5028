"""riskmodel.models."""
