"""pyinfra ``@deploy`` functions: what ``deploys/*.py`` call."""
