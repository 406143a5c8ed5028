"""riskmodel.plotting."""
