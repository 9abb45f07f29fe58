"""pyinfra operations: small generators that read facts and yield commands only for differences."""
