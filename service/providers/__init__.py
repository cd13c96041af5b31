"""Inference providers: one interface (:class:`service.providers.base.Provider`), several APIs."""
