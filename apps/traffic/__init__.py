"""Traffic forecasting on loop-detector sensor series and their graphs."""
