"""Model preparation: files made or fetched before serving (pull, the default model's converter,
synthetic test models, quantisation ladders). It may use the engine and the router; it never
imports a front or the application."""
