"""Living with dependencies we do not control: circuit breakers and a shared model rate limiter."""
