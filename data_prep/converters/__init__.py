"""The built-in converters, one module per dataset; each task's `TaskSpec.converter` names its own."""
