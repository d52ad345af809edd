"""Developer tools that read the tree (nothing here is deployed): ``python -m localdev.tools.imports``."""
