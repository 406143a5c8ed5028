"""riskmodel.data."""
