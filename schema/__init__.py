"""The GraphQL surface: Strawberry types, inputs, result unions, the context, the schema."""
