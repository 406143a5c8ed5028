"""riskmodel.simulation."""
