"""riskmodel.scenarios."""
